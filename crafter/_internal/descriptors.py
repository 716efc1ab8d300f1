"""A material as the statement describes it: an in-toto ResourceDescriptor with crafter's (Chainloop's)
annotations. The predicate's ``materials`` and ``subject`` use it, and so do policy inputs, which give a
policy the material as the statement will record it.

Below both :mod:`crafter._internal.statement` and :mod:`crafter._internal.policies`, so that neither imports the other.
"""

from __future__ import annotations

import base64
from typing import Any

from crafter._internal.crafting_state import Material
from crafter._internal.materials import interface as ann


def digest_parts(digest: str) -> tuple[str, str]:
    """``sha256:ab..`` as ``("sha256", "ab..")``: a digest as in-toto's DigestSet keys it."""
    alg, _, value = digest.partition(":")
    return alg, value


def material_annotations(m: Material) -> dict[str, Any]:
    """Built-in annotations first; the material's own annotations never override them."""
    out: dict[str, Any] = {ann.ANN_TYPE: m.kind, ann.ANN_NAME: m.name}
    if m.image is not None:
        if m.image.tag:
            out[ann.ANN_IMAGE_TAG] = m.image.tag
        out[ann.ANN_IMAGE_IS_LATEST] = bool(m.image.has_latest_tag)
    if m.main_component is not None:
        mc = m.main_component
        out[ann.ANN_SBOM_MAIN_NAME] = mc.name
        if mc.kind:
            out[ann.ANN_SBOM_MAIN_TYPE] = mc.kind
        if mc.version:
            out[ann.ANN_SBOM_MAIN_VERSION] = mc.version
    if m.uploaded_to_cas:
        out["chainloop.material.cas"] = True
    elif m.inline_cas:
        out["chainloop.material.cas.inline"] = True
    for key, value in m.annotations.items():
        out.setdefault(key, value)
    return dict(sorted(out.items()))


def material_descriptor(m: Material) -> dict[str, Any]:
    """A material as an in-toto ResourceDescriptor (reference section 3.4)."""
    d: dict[str, Any] = {"annotations": material_annotations(m)}
    if m.digest:
        alg, value = digest_parts(m.digest)
        d["digest"] = {alg: value}
    if m.kind == "STRING":
        d["content"] = base64.b64encode((m.value or "").encode()).decode()
    elif m.image is not None:
        d["name"] = m.image.name
    elif m.filename:
        d["name"] = m.filename
    return d
