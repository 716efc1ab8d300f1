"""The ``MaterialKind`` plugin interface and its typed registry.

A kind turns a user-given value (a path, an image reference, a string) into a :class:`Crafted` record: the
digest, the file name or value, and the annotations Chainloop records for that kind. Kinds validate their
input and raise :class:`crafter.errors.MaterialError` naming the file and the problem. A kind also says what
policies read of its materials (:meth:`MaterialKind.policy_input`).

A registry holds the built-in kinds and, given a plugin family (:mod:`crafter._internal.materials.registry`), finds the
kinds installed distributions add; a plugin kind is wrapped so that what it raises becomes a
:class:`MaterialError` naming it (:mod:`crafter._internal.materials.plugin`).
"""

from __future__ import annotations

import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from crafter._internal.files import open_regular
from crafter.errors import MaterialError

if TYPE_CHECKING:
    from crafter._internal.plugins import Family

#: ``progress(done_bytes, total_bytes)``: called while a large file is hashed.
ProgressCallback = Callable[[int, int], None]

#: How many bytes auto-detection reads to pick a candidate kind.
SNIFF_BYTES = 8192

# Annotation keys Chainloop records (reference section 2.9).
ANN_TYPE = "chainloop.material.type"
ANN_NAME = "chainloop.material.name"
ANN_SIZE = "chainloop.material.size"
ANN_TOOL_NAME = "chainloop.material.tool.name"
ANN_TOOL_VERSION = "chainloop.material.tool.version"
ANN_TOOLS = "chainloop.material.tools"
ANN_IMAGE_TAG = "chainloop.material.image.tag"
ANN_IMAGE_IS_LATEST = "chainloop.material.image.is_latest_tag"
ANN_SBOM_MAIN_NAME = "chainloop.material.sbom.main_component.name"
ANN_SBOM_MAIN_TYPE = "chainloop.material.sbom.main_component.type"
ANN_SBOM_MAIN_VERSION = "chainloop.material.sbom.main_component.version"
ANN_SBOM_VULNS = "chainloop.material.sbom.vulnerabilities_report"
ANN_EVIDENCE_ID = "chainloop.material.evidence.id"
ANN_EVIDENCE_SCHEMA = "chainloop.material.evidence.schema"
ANN_SCAN_TYPES = "chainloop.material.scan.types"


@attrs.frozen
class CraftOptions:
    """How a value is crafted."""

    strict: bool = True  # schema validation failures are errors (False: warning, as --no-strict-validation)
    progress: ProgressCallback | None = None
    warn: Callable[[str], None] | None = None  # receives non-fatal warnings (e.g. non-strict schema failures)

    def warning(self, message: str) -> None:
        if self.warn is not None:
            self.warn(message)


@attrs.frozen
class ImageInfo:
    """What a CONTAINER_IMAGE (or OCI Helm chart) records besides its digest."""

    name: str  # full repository, e.g. ``index.docker.io/bitnami/nginx``
    tag: str | None = None
    has_latest_tag: bool | None = None


@attrs.frozen
class MainComponent:
    """An SBOM's main component."""

    name: str
    version: str = ""
    kind: str = ""


def _sorted_strings(m: Mapping[str, str]) -> dict[str, str]:
    return dict(sorted(m.items()))


def _check_digest(_inst: object, _attr: object, value: str) -> None:
    alg, sep, hexpart = value.partition(":")
    if not sep or alg != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise ValueError(f"digest must be 'sha256:<64 lowercase hex>', got {value!r}")


@attrs.frozen
class Crafted:
    """What a kind produced for one value, before the crafter names it and adds contract data."""

    kind: str
    digest: str = attrs.field(validator=_check_digest)
    filename: str | None = None  # base name, for file materials
    value: str | None = None  # the string, for STRING
    image: ImageInfo | None = None
    main_component: MainComponent | None = None
    annotations: Mapping[str, str] = attrs.field(factory=dict, converter=_sorted_strings)
    size: int | None = None


@attrs.frozen
class Sample:
    """A bounded look at a value, for auto-detection: never the whole file, never the network.

    For a file, the first and the last :data:`SNIFF_BYTES` bytes (a document must start *and* end like its
    format: a 2 GiB file that only starts like JSON is never parsed to find out).
    """

    value: str
    is_file: bool
    prefix: bytes = b""  # the first SNIFF_BYTES of the file
    size: int = 0
    suffix: bytes = b""  # the last SNIFF_BYTES of the file (the whole file when it is smaller)

    @classmethod
    def of(cls, value: str) -> Sample:
        """Raises :class:`MaterialError` for a path that exists but is not a regular file or a directory
        (a FIFO, a device, a socket), or that cannot be read."""
        try:
            mode = os.stat(value).st_mode
        except (OSError, ValueError):
            return cls(value=value, is_file=False)  # not a path (an image reference, a string...)
        if stat.S_ISDIR(mode):
            return cls(value=value, is_file=False)
        with open_regular(value, error=MaterialError) as fh:
            size = fh.size
            prefix = fh.pread(SNIFF_BYTES, 0)
            suffix = prefix if size <= SNIFF_BYTES else fh.pread(SNIFF_BYTES, size - SNIFF_BYTES)
        return cls(value=value, is_file=True, prefix=prefix, size=size, suffix=suffix)

    @property
    def text_prefix(self) -> str:
        """The prefix decoded leniently, without a BOM and leading whitespace."""
        return self.prefix.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")

    @property
    def text_suffix(self) -> str:
        """The suffix decoded leniently, without trailing whitespace."""
        return self.suffix.decode("utf-8", errors="replace").rstrip(" \t\r\n")


class MaterialKind(ABC):
    """One material kind (``SBOM_CYCLONEDX_JSON``, ``ARTIFACT``...)."""

    #: The Chainloop enum name of the kind.
    kind: ClassVar[str]
    #: Whether the value is a file path (STRING and remote images are not).
    file_based: ClassVar[bool] = True
    #: Whether the kind may be a subject of the statement when the contract marks it ``output``.
    can_be_subject: ClassVar[bool] = True
    #: Whether policies read the material's file (False: they see its metadata only, as STRING,
    #: CONTAINER_IMAGE and HELM_CHART; :meth:`policy_input` is then never called).
    policy_reads_content: ClassVar[bool] = True

    def sniff(self, sample: Sample) -> bool:
        """Cheap check on a bounded prefix: could this value be of this kind? Used only by auto-detection."""
        return sample.is_file

    @abstractmethod
    def craft(self, value: str, options: CraftOptions) -> Crafted:
        """Validate ``value`` fully and record it. Raises :class:`MaterialError` on invalid input."""

    def policy_input(self, path: str, name: str) -> Any:
        """What a policy reads of the material ``name`` whose file is at ``path``, before crafter adds
        ``chainloop_metadata`` (a list becomes ``{"elements": [...]}``; anything but a mapping, ``{}``).

        By default the file's JSON document (``{}`` for an empty file), read as
        :func:`crafter.plugin.json_document` does. Raises
        :class:`~crafter.errors.PolicyError` when the file cannot be read as the kind's document."""
        from crafter._internal.materials.policy_input import json_document

        return json_document(path, name, self.kind)


class MaterialRegistry:
    """A typed, immutable-after-construction map from kind name to :class:`MaterialKind`.

    Kinds are given as instances or as zero-argument factories (``(name, factory)`` pairs); a factory runs on
    first use, so a command that needs one kind never imports the parsers of the others.
    ``detection_order`` is the fixed order auto-detection tries (documented in docs/materials.md).
    ``plugins``: the family whose installed plugins add kinds by name (never replacing one of ``kinds``, never
    auto-detected); their kinds are found on each use, not kept.
    """

    def __init__(
        self,
        kinds: Iterable[MaterialKind | tuple[str, Callable[[], MaterialKind]]],
        detection_order: Iterable[str],
        *,
        plugins: Family[Callable[[], MaterialKind]] | None = None,
    ) -> None:
        self.plugins = plugins
        self._factories: dict[str, Callable[[], MaterialKind]] = {}
        self._kinds: dict[str, MaterialKind] = {}
        for entry in kinds:
            name = entry[0] if isinstance(entry, tuple) else entry.kind
            if name in self._factories or name in self._kinds:
                raise ValueError(f"material kind {name} registered twice")
            if isinstance(entry, tuple):
                self._factories[name] = entry[1]
            else:
                self._kinds[name] = entry
        order = tuple(detection_order)
        unknown = [name for name in order if name not in self]
        if unknown:
            raise ValueError(f"detection order names unknown kinds: {unknown}")
        self.detection_order: tuple[str, ...] = order

    def get(self, kind: str) -> MaterialKind:
        found = self.find(kind)
        if found is None:
            plugins = self.plugin_names()
            raise MaterialError(
                f'"{kind}" kind not found',
                hint="available kinds: "
                + ", ".join(self.names())
                + ("; installed plugin kinds: " + ", ".join(plugins) if plugins else ""),
            )
        return found

    def find(self, kind: str) -> MaterialKind | None:
        """The kind named ``kind``: a built-in one, else an installed plugin's; None when there is none.
        Loading a plugin that fails raises :class:`MaterialError` naming it."""
        found = self._kinds.get(kind)
        if found is not None:
            return found
        factory = self._factories.get(kind)
        if factory is None:
            if self.plugins is None:
                return None
            from crafter._internal.materials.plugin import plugin_kind

            return plugin_kind(self.plugins, kind)
        made = self._kinds[kind] = factory()
        if made.kind != kind:
            raise ValueError(f"factory for {kind} made a {made.kind}")
        return made

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds or kind in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def names(self) -> list[str]:
        """The built-in kinds (not the plugins': :meth:`plugin_names`)."""
        return sorted({*self._kinds, *self._factories})

    def plugin_names(self) -> list[str]:
        """The kinds installed plugins add (without loading them)."""
        if self.plugins is None:
            return []
        return [name for name in self.plugins.plugin_names() if name not in self]
