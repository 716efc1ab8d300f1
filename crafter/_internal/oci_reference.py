"""OCI image references, ``[REGISTRY/]REPOSITORY[:TAG][@DIGEST]``: the one parser of the image material
(:mod:`crafter._internal.materials.image`) and of the registry stores (:mod:`crafter._internal.storage.registry`).

The grammar and the normalisation are docker's (``github.com/distribution/reference``, ``ParseNormalizedNamed``),
in ASCII only:

* the first path component is a registry only if it has a ``.`` or a ``:`` (a port), is ``localhost``, or has
  uppercase letters (repository names cannot); otherwise the registry is Docker Hub;
* Docker Hub is ``docker.io``; ``index.docker.io``, its legacy name, is the same registry, and there a
  one-component repository is an official image under ``library/`` (``alpine`` is ``docker.io/library/alpine``).
  ``registry-1.docker.io``, the host Docker Hub's API answers on, is not a name of it in references (as with
  docker and go-containerregistry: ``registry-1.docker.io/alpine`` stays as written);
* a ``:`` after the last ``/`` starts a tag (before it, it is a registry port); a ``@`` starts a digest, which
  must be ``sha256:`` and 64 lowercase hex digits (the only algorithm crafter records);
* the normalised name (registry and repository) has at most 255 characters.

Errors are :class:`ReferenceSyntaxError` (a :class:`ValueError` carrying the reason); each caller turns them into
its family's error.
"""

from __future__ import annotations

import re

import attrs

__all__ = [
    "DOCKER_HUB",
    "LEGACY_DOCKER_HUB",
    "MAX_NAME_LENGTH",
    "OciImageReference",
    "ReferenceSyntaxError",
    "parse_image_reference",
]

#: Docker Hub's name in normalised references (docker's ``defaultDomain``).
DOCKER_HUB = "docker.io"
#: Docker Hub's legacy name, normalised to :data:`DOCKER_HUB` (docker's ``legacyDefaultDomain``); it is the name
#: go-containerregistry, and so Chainloop, records.
LEGACY_DOCKER_HUB = "index.docker.io"
#: Repository names (registry included) longer than this are refused (docker's ``NameTotalLengthMax``).
MAX_NAME_LENGTH = 255

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?", re.ASCII
)
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", re.ASCII)
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_ANY_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+", re.ASCII)
_SHA256 = re.compile(r"sha256:[a-f0-9]{64}", re.ASCII)


class ReferenceSyntaxError(ValueError):
    """The text is not an image reference; ``reason`` says why (without the text itself)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class OciImageReference:
    """A parsed, normalised reference; ``explicit_registry`` is False when the registry was implied."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    explicit_registry: bool = True

    @property
    def name(self) -> str:
        """``REGISTRY/REPOSITORY``."""
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        tail = (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")
        return self.name + tail


def _check_digest(digest: str) -> None:
    if _SHA256.fullmatch(digest):
        return
    if _ANY_DIGEST.fullmatch(digest) and not digest.startswith("sha256:"):
        raise ReferenceSyntaxError(f"unsupported digest algorithm in {digest!r}: only sha256 is supported")
    raise ReferenceSyntaxError(f"invalid digest {digest!r}: expected sha256: and 64 lowercase hex digits")


def _split_registry(name: str) -> tuple[str | None, str]:
    first, slash, rest = name.partition("/")
    is_registry = slash and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first)
    if not is_registry:
        return None, name
    if not _DOMAIN.fullmatch(first):
        raise ReferenceSyntaxError(f"invalid registry {first!r}")
    return first, rest


def parse_image_reference(value: str) -> OciImageReference:
    """Parse and normalise ``[REGISTRY/]REPOSITORY[:TAG][@DIGEST]`` (see the module docstring)."""
    if not value:
        raise ReferenceSyntaxError("empty")
    if any(c.isspace() for c in value):
        raise ReferenceSyntaxError("contains whitespace")
    name, at, digest = value.partition("@")
    if at:
        _check_digest(digest)
    tag: str | None = None
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise ReferenceSyntaxError(f"invalid tag {tag!r}")
    registry, repository = _split_registry(name)
    explicit = registry is not None
    if registry is None or registry == LEGACY_DOCKER_HUB:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in repository:
        repository = "library/" + repository  # official images live under library/
    for component in repository.split("/"):
        if _PATH_COMPONENT.fullmatch(component):
            continue
        if component and _PATH_COMPONENT.fullmatch(component.lower()):
            raise ReferenceSyntaxError("repository name must be lowercase")
        raise ReferenceSyntaxError(f"invalid repository name component {component!r}")
    if len(f"{registry}/{repository}") > MAX_NAME_LENGTH:
        raise ReferenceSyntaxError(f"repository name longer than {MAX_NAME_LENGTH} characters")
    return OciImageReference(registry, repository, tag, digest or None, explicit)
