"""The input document a policy receives (reference section 3.2), built once per material.

The material's JSON (XML reports projected to JSON, attestations decoded to their statement), a top-level
array wrapped as ``{"elements": [...]}``, and ``chainloop_metadata``: the material's in-toto descriptor plus
the project name and version and, as a crafter extension, ``evaluation_time`` (RFC 3339 UTC), which
time-dependent policies read instead of the clock so that a replay gives the same answer. The same bytes go
to every engine. What is read of the material is its kind's business (``MaterialKind.policy_input``), so a
kind from a plugin gives its own input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crafter._internal.crafting_state import Material

if TYPE_CHECKING:
    from crafter._internal.materials.interface import MaterialKind

#: The built-in kinds whose content policies do not read (Chainloop does not read them either): each says so
#: itself (``MaterialKind.policy_reads_content``); this set serves readers that must not import the kinds.
_NOT_READ = {"STRING", "CONTAINER_IMAGE", "HELM_CHART"}


def _kind(name: str) -> MaterialKind | None:
    """The kind named ``name``, built-in or from an installed plugin; None for a kind crafter lacks (a
    Chainloop kind, read back from a bundle)."""
    from crafter._internal.materials.registry import default_registry

    return default_registry().find(name)


def reads_content(kind: str) -> bool:
    """Whether policies read the file of a material of ``kind`` (a kind crafter lacks: as JSON, yes)."""
    if kind in _NOT_READ:
        return False
    found = _kind(kind)
    return found is None or found.policy_reads_content


def _content(material: Material, path: str | None) -> Any:
    """What policies read of ``material``: its kind's :meth:`~MaterialKind.policy_input`; the file's JSON for
    a kind crafter lacks; ``{}`` for a kind whose content is not read, or without a file."""
    if material.kind in _NOT_READ or path is None:
        return {}
    kind = _kind(material.kind)
    if kind is None:
        from crafter._internal.materials.policy_input import json_document

        return json_document(path, material.name, material.kind)
    if not kind.policy_reads_content:
        return {}
    return kind.policy_input(path, material.name)


def metadata(
    material: Material, *, project: str = "", version: str = "", evaluation_time: str = ""
) -> dict[str, Any]:
    from crafter._internal.descriptors import material_descriptor

    meta = material_descriptor(material)
    if project:
        meta["project_name"] = project
    if version:
        meta["project_version_name"] = version
    if evaluation_time:
        meta["evaluation_time"] = evaluation_time
    return meta


def material_input(
    material: Material,
    path: str | None,
    *,
    project: str = "",
    version: str = "",
    evaluation_time: str = "",
) -> bytes:
    """The input document for ``material`` whose file is at ``path`` (None for non-file materials)."""
    content = _content(material, path)
    doc: dict[str, Any]
    if isinstance(content, list):
        doc = {"elements": content}
    elif isinstance(content, Mapping):
        doc = dict(content)
    else:
        doc = {}
    doc["chainloop_metadata"] = metadata(
        material, project=project, version=version, evaluation_time=evaluation_time
    )
    return encode(doc)


def statement_input(statement: Mapping[str, Any]) -> bytes:
    """The statement as attestation policies receive it: compact JSON with sorted keys (the form it is signed
    in), so the same statement always gives the same bytes."""
    return json.dumps(statement, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def encode(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
