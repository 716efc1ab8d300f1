"""Auto-detection: which kind a value is, when neither ``--kind`` nor the contract says.

Rules (documented for users in docs/materials.md):

1. The value is looked at once, through a bounded :class:`Sample` (the first bytes of a file, never the whole
   file, never the network).
2. Problems with the file itself stop detection at once: a path that exists but is not a regular file or a
   directory (a FIFO, a device, a socket), cannot be read, is empty, or changes while a kind reads it (also a
   file of a directory a kind reads, such as an OCI layout's ``index.json`` that is a FIFO). No kind could
   accept such a value, and trying the next ones would only hide the real problem.
3. Kinds are tried in ``registry.detection_order``. A kind whose ``sniff`` rejects the sample is skipped;
   otherwise it crafts the value, and the first success wins. A :class:`MaterialError` from a candidate means
   "not this kind" and the next one is tried.
4. An existing file is only ever tried as a file-based kind: it is never recorded as a STRING (that would
   record the path instead of the file) nor looked up as an image reference.
5. Detection always crafts with strict validation, whatever the options say: a non-strict schema failure
   is only a warning, and would otherwise turn an invalid SBOM into an SBOM instead of an ARTIFACT.
6. A value that looks like a file but is none (:func:`looks_like_missing_file`) is ``file not found``, not a
   STRING: a typo'd path must not be recorded as text. Image references, URLs and version-like values are
   detected as before.
7. Nothing matches: ``failed to auto-discover material kind for <value>``.
"""

from __future__ import annotations

import os
import re

import attrs

from crafter._internal.materials.fileio import MaterialFileError
from crafter._internal.materials.interface import Crafted, CraftOptions, MaterialRegistry, Sample
from crafter.errors import MaterialError

#: How many failed candidates the final error's hint lists, with their reasons.
_HINT_CANDIDATES = 6


def _check_file(sample: Sample) -> None:
    """Rule 2: errors about the file itself, raised before any kind is tried."""
    if sample.is_file and sample.size == 0:
        raise MaterialError(f"{sample.value}: file is empty", hint="materials must have content")


# A last suffix of letters (".json", ".jsn", ".gz" of ".tar.gz", ".whl"): what file names end with, and
# version-like values ("v1.2.3", "1.0.0-rc.1") do not.
_FILE_SUFFIX = re.compile(r"\.[A-Za-z]+$")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def looks_like_missing_file(value: str) -> bool:
    """Rule 6: ``value`` names no existing path, yet looks like a file (a path separator, or a last suffix
    of letters), and is neither a URL, an image of an OCI layout (``DIR@sha256:...``) nor an image reference
    (a tag, a digest, or a registry host first)."""
    if os.path.lexists(value) or _URL.match(value) or _is_image_layout(value):
        return False  # an OCI layout's image, DIR@sha256:..., is no file either
    if not ("/" in value or os.sep in value or _FILE_SUFFIX.search(value)):
        return False
    return not _image_like(value)


def _image_like(value: str) -> bool:
    from crafter._internal.materials.image import parse_reference

    try:
        reference = parse_reference(value)
    except MaterialError:
        return False
    first = value.split("/", 1)[0]
    registry_first = "/" in value and (any(c in first for c in ".:") or first == "localhost")
    return bool(reference.tag or reference.digest) or (registry_first and first not in (".", ".."))


def missing_file_error(value: str) -> MaterialError:
    return MaterialError(
        f"{value}: file not found",
        hint=f"to record it as text, not a file: crafter add --kind STRING --value '{value}'",
    )


def detect_kind(value: str, registry: MaterialRegistry, options: CraftOptions) -> Crafted:
    """Craft ``value`` as the first kind of ``registry.detection_order`` that accepts it."""
    sample = Sample.of(value)  # raises for a file that exists but cannot be read
    _check_file(sample)
    if not sample.is_file and looks_like_missing_file(value):
        raise missing_file_error(value)
    strict = attrs.evolve(options, strict=True)
    failures: list[tuple[str, MaterialError]] = []
    for name in registry.detection_order:
        kind = registry.get(name)
        if sample.is_file and not kind.file_based:
            continue  # rule 4
        if not kind.sniff(sample):
            continue
        try:
            crafted = kind.craft(value, strict)
        except MaterialFileError:
            raise  # rule 2, found while reading: the file (or one in the directory) is the problem
        except MaterialError as exc:
            failures.append((name, exc))
            continue
        _warn_if_misread(crafted, value, failures, options)
        return crafted
    if os.path.isdir(value):
        layout = next((exc for name, exc in failures if name == "CONTAINER_IMAGE"), None)
        if layout is not None and _is_image_layout(value):
            raise layout  # e.g. a layout of several images: it says which digests to pick from, and how
        raise MaterialError(
            f"{value}: is a directory, and not an OCI image layout",
            hint=f"add its files: crafter add '{value.rstrip('/')}/*'",
        )
    raise MaterialError(f"failed to auto-discover material kind for {value}", hint=_hint(failures))


def _is_image_layout(value: str) -> bool:
    from crafter._internal.materials.image import split_layout

    return split_layout(value) is not None


def _hint(failures: list[tuple[str, MaterialError]]) -> str:
    if not failures:
        return "no material kind recognised this value; pass --kind explicitly"
    tried = "; ".join(f"{name}: {exc.message}" for name, exc in failures[:_HINT_CANDIDATES])
    more = len(failures) - _HINT_CANDIDATES
    if more > 0:
        tried += f"; and {more} more"
    return f"pass --kind explicitly; candidates tried: {tried}"


def _warn_if_misread(
    crafted: Crafted, value: str, failures: list[tuple[str, MaterialError]], options: CraftOptions
) -> None:
    """A STRING that looks like an image is most likely not meant as a string: say so, without failing
    (one that looks like a missing file was refused by rule 6). Plain words are left alone."""
    if crafted.kind != "STRING" or not ("/" in value or os.sep in value):
        return
    image = next((exc for name, exc in failures if name == "CONTAINER_IMAGE"), None)
    if image is not None:
        options.warning(f"{value!r} recorded as a STRING: {image.message}")
