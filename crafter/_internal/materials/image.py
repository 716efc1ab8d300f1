"""CONTAINER_IMAGE: an image pinned by digest, or an image in a local OCI image layout directory.

Accepted values:

* ``REGISTRY/REPO[:TAG]@sha256:<hex>``: recorded as given, no network. The reference is parsed and normalised
  as docker does (:mod:`crafter._internal.oci_reference`, shared with the registry stores); Docker Hub is recorded under
  the name Chainloop records (``nginx`` -> ``index.docker.io/library/nginx``).
* ``PATH[@sha256:<hex>]``: a directory holding ``oci-layout`` and ``index.json`` (``skopeo copy ... oci:``,
  ``crane pull --format oci``, ``oras copy --to-oci-layout``...); the digest picks one of several images.

A reference by tag alone (``nginx:1.25``) must be resolved against its registry; that arrives with registry
storage, so for now it is refused with a hint.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import attrs

from crafter._internal.files import open_regular
from crafter._internal.materials.fileio import MaterialFileError
from crafter._internal.materials.interface import (
    ANN_IMAGE_TAG,
    Crafted,
    CraftOptions,
    ImageInfo,
    MaterialKind,
    Sample,
)
from crafter._internal.oci_reference import (
    DOCKER_HUB,
    LEGACY_DOCKER_HUB,
    ReferenceSyntaxError,
    parse_image_reference,
)
from crafter._internal.redaction import json_problem
from crafter.errors import MaterialError

#: The name the material records for Docker Hub: go-containerregistry's, as Chainloop records it.
DEFAULT_REGISTRY = LEGACY_DOCKER_HUB
LATEST = "latest"
#: ``index.json`` and ``oci-layout`` larger than this are refused before they are read.
MAX_LAYOUT_JSON_BYTES = 16 << 20
OCI_LAYOUT_FILE = "oci-layout"
OCI_INDEX_FILE = "index.json"
ANN_OCI_REF_NAME = "org.opencontainers.image.ref.name"
ANN_OCI_BASE_NAME = "org.opencontainers.image.base.name"
ANN_CONTAINERD_NAME = "io.containerd.image.name"

_SHA256 = re.compile(r"sha256:[a-f0-9]{64}", re.ASCII)


@attrs.frozen
class ImageReference:
    """A parsed, normalised image reference."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The full repository, e.g. ``index.docker.io/bitnami/nginx``."""
        return f"{self.registry}/{self.repository}"


def _invalid(value: str, reason: str) -> MaterialError:
    return MaterialError(
        f"invalid image reference {value!r}: {reason}",
        hint="expected [REGISTRY/]REPOSITORY[:TAG]@sha256:DIGEST, or an OCI layout directory",
    )


def parse_reference(value: str) -> ImageReference:
    """Parse and normalise ``[REGISTRY/]REPO[:TAG][@DIGEST]`` with :mod:`crafter._internal.oci_reference` (docker's
    rules); Docker Hub is recorded as ``index.docker.io``. Raises :class:`MaterialError` when invalid."""
    try:
        ref = parse_image_reference(value)
    except ReferenceSyntaxError as exc:
        raise _invalid(value, exc.reason) from None
    registry = DEFAULT_REGISTRY if ref.registry == DOCKER_HUB else ref.registry
    return ImageReference(registry=registry, repository=ref.repository, tag=ref.tag, digest=ref.digest)


def _image_info(name: str, tag: str | None) -> tuple[ImageInfo, dict[str, str]]:
    # Without a registry lookup, "latest" is known only when it is the tag given.
    info = ImageInfo(name=name, tag=tag, has_latest_tag=(tag == LATEST) if tag else None)
    return info, ({ANN_IMAGE_TAG: tag} if tag else {})


# --- OCI image layout ---------------------------------------------------------------------------------------


def _is_layout(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, OCI_LAYOUT_FILE))


def split_layout(value: str) -> tuple[str, str | None] | None:
    """``(directory, digest or None)`` when ``value`` names an OCI layout directory, else None."""
    if _is_layout(value):
        return value, None
    path, at, selector = value.rpartition("@")
    if at and _is_layout(path):
        return path, selector
    return None


def _read_json(layout: str, what: str) -> Any:
    """A JSON file of the layout, size-capped: ``index.json`` comes from wherever the layout came from."""
    path = os.path.join(layout, what)
    if not os.path.lexists(path):
        raise MaterialError(f"{layout}: not a valid OCI layout: {what} is missing")
    # A regular file only (a FIFO would block the read forever), read with a cap whatever its size says.
    with open_regular(path, error=MaterialFileError) as fh:
        data = fh.read_at_most(MAX_LAYOUT_JSON_BYTES)
        if len(data) > MAX_LAYOUT_JSON_BYTES:
            raise MaterialError(f"{path}: {what} too large (more than {MAX_LAYOUT_JSON_BYTES} bytes)")
        fh.check_unchanged(len(data), "add it again")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # position and kind only: never the file's content
        raise MaterialError(f"{path}: invalid {what}: not valid JSON ({json_problem(exc)})") from None


def _layout_manifests(layout: str) -> list[dict[str, Any]]:
    marker = _read_json(layout, OCI_LAYOUT_FILE)
    if not isinstance(marker, dict):
        raise MaterialError(f"{layout}: invalid {OCI_LAYOUT_FILE} file: not a JSON object")
    index_path = os.path.join(layout, OCI_INDEX_FILE)
    index = _read_json(layout, OCI_INDEX_FILE)
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list):
        raise MaterialError(f"{index_path}: invalid {OCI_INDEX_FILE}: no manifests list")
    if not manifests:
        raise MaterialError(f"{layout}: no manifests found in OCI layout")
    for m in manifests:
        if not isinstance(m, dict) or not isinstance(m.get("digest"), str):
            raise MaterialError(f"{index_path}: invalid {OCI_INDEX_FILE}: a manifest has no digest")
    return manifests


def _select_manifest(layout: str, manifests: list[dict[str, Any]], selector: str | None) -> dict[str, Any]:
    if selector is not None:
        for m in manifests:
            if m["digest"] == selector:
                return m
        raise MaterialError(f"{layout}: digest {selector} not found in OCI layout")
    if len(manifests) > 1:
        digests = ", ".join(m["digest"] for m in manifests)
        raise MaterialError(
            f"{layout}: OCI layout contains {len(manifests)} images, please specify which one to use with "
            f"@digest. Available digests: {digests}",
            hint=f"e.g. {layout}@{manifests[0]['digest']}",
        )
    return manifests[0]


def _string_annotations(manifest: dict[str, Any]) -> dict[str, str]:
    raw = manifest.get("annotations")
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}


def _layout_tag(annotations: dict[str, str]) -> str | None:
    """The tag of containerd's full image name (``registry:5000/repo:tag``): parsed, so that a registry port
    or a digest is never mistaken for a tag."""
    full = annotations.get(ANN_CONTAINERD_NAME)
    if not full:
        return None
    try:
        return parse_reference(full).tag
    except MaterialError:
        return None


def craft_layout(layout: str, selector: str | None) -> Crafted:
    """An image from an OCI layout directory, picked by ``selector`` when the layout holds several."""
    manifest = _select_manifest(layout, _layout_manifests(layout), selector)
    digest = manifest["digest"]
    if not _SHA256.fullmatch(digest):
        raise MaterialError(
            f"{layout}: manifest digest {digest!r} is not a sha256 digest (only sha256 is supported)"
        )
    annotations = _string_annotations(manifest)
    image_name = annotations.get(ANN_OCI_REF_NAME) or annotations.get(ANN_OCI_BASE_NAME) or "unknown"
    info, recorded = _image_info(f"{OCI_LAYOUT_FILE}:{image_name}", _layout_tag(annotations))
    return Crafted(kind=ContainerImageKind.kind, digest=digest, image=info, annotations=recorded)


# --- the kind -----------------------------------------------------------------------------------------------


class ContainerImageKind(MaterialKind):
    """CONTAINER_IMAGE: ``REPO[:TAG]@sha256:DIGEST`` or an OCI layout directory ``PATH[@sha256:DIGEST]``."""

    kind = "CONTAINER_IMAGE"
    file_based = False
    policy_reads_content = False

    def sniff(self, sample: Sample) -> bool:
        if sample.is_file:
            return False
        if split_layout(sample.value) is not None:
            return True
        try:
            parse_reference(sample.value)
        except MaterialError:
            return False
        return True

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        layout = split_layout(value)
        if layout is not None:
            return craft_layout(*layout)
        if os.path.isfile(value):
            raise MaterialError(
                f"{value}: is a file, not an image reference",
                hint="for an image tarball, copy it into an OCI layout directory first "
                "(e.g. `skopeo copy docker-archive:image.tar oci:image-layout`) and pass that directory",
            )
        if os.path.isdir(value):
            raise MaterialError(
                f"{value}: is a directory but not an OCI image layout (no {OCI_LAYOUT_FILE} file)"
            )
        ref = parse_reference(value)
        if ref.digest is None:
            raise MaterialError(
                f"{value}: resolving an image tag against its registry is not available yet "
                "(it arrives with registry storage)",
                hint="pass the image by digest, REPO@sha256:DIGEST (e.g. from `crane digest` or "
                "`docker buildx imagetools inspect`), or an OCI layout directory PATH[@sha256:DIGEST]",
            )
        info, annotations = _image_info(ref.name, ref.tag)
        return Crafted(kind=self.kind, digest=ref.digest, image=info, annotations=annotations)
