"""How a crafted value becomes the :class:`~crafter._internal.crafting_state.Material` an attestation records: its default name
and its merged annotations, as ``crafter add`` records it and as ``crafter policy eval`` evaluates it.

Below both the ``Crafter`` facade and the policy verifier, so that neither imports the other.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from crafter._internal.contract import ContractMaterial
from crafter._internal.crafting_state import Material, now_rfc3339
from crafter._internal.materials.interface import Crafted
from crafter.errors import MaterialError

log = logging.getLogger("crafter")


def name_from_value(value: str) -> str:
    """A material name derived from a file's base name: lowercase, DNS-1123 (``sbom.cdx.json`` -> ``sbom-cdx-json``)."""
    base = os.path.basename(value.rstrip("/")) or value
    chars = [c if c.isascii() and c.isalnum() else "-" for c in base.lower()]
    name = "-".join(part for part in "".join(chars).split("-") if part)[:63].strip("-")
    return name or "material"


def record_material(
    name: str, result: Crafted, declared: ContractMaterial | None, user_annotations: Mapping[str, str]
) -> Material:
    """The material ``result`` is recorded as under ``name``: its own annotations first, then the contract's
    (``declared``), then the user's, which never change one already set; a required annotation still empty
    is a :class:`MaterialError`."""
    merged: dict[str, str] = dict(result.annotations)
    if declared is not None:
        for a in declared.annotations:
            if a.value:
                merged.setdefault(a.name, a.value)
    for key, value in user_annotations.items():
        if merged.get(key):
            log.info("annotation %s of material %s can't be changed, skipping", key, name)
        else:
            merged[key] = value
    if declared is not None:
        missing = [a.name for a in declared.annotations if not merged.get(a.name)]
        if missing:
            raise MaterialError(
                f'annotations {missing} required for material "{name}"',
                hint="give them with --annotation KEY=VALUE",
            )
    return Material(
        name=name,
        kind=result.kind,
        added_at=now_rfc3339(),
        digest=result.digest,
        filename=result.filename,
        value=result.value,
        image=result.image,
        main_component=result.main_component,
        annotations=merged,
        output=bool(declared is not None and declared.output),
        required=bool(declared is not None and not declared.optional),
    )
