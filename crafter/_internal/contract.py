"""Contracts: what an attestation must contain.

Both Chainloop forms are read: ``schemaVersion: v1`` and ``apiVersion: chainloop.dev/v1, kind: Contract``,
from YAML or JSON, with every key accepted in camelCase or snake_case. The document is validated against
``schemas/contract.schema.json``; errors name the file, the key path and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from crafter._internal.schema_check import json_type, normalise, validate
from crafter.errors import ContractError

RUNNER_UNSPECIFIED = "RUNNER_TYPE_UNSPECIFIED"


@attrs.frozen
class Annotation:
    name: str
    value: str = ""


@attrs.frozen
class ContractMaterial:
    name: str
    kind: str
    optional: bool = False
    output: bool = False
    annotations: tuple[Annotation, ...] = ()
    skip_upload: bool = False
    group: str = ""

    @property
    def required(self) -> bool:
        """Required on its own: not optional and not a member of an at-least-one-of group."""
        return not self.optional and not self.group


def _annotations(items: Iterable[Mapping[str, Any]]) -> tuple[Annotation, ...]:
    return tuple(Annotation(a["name"], a.get("value", "")) for a in items)


@attrs.frozen
class Contract:
    """A validated contract. ``document`` is the normalised (camelCase) form stored in the state."""

    document: Mapping[str, Any]
    name: str = ""
    materials: tuple[ContractMaterial, ...] = ()
    env_allow_list: tuple[str, ...] = ()
    runner: str = RUNNER_UNSPECIFIED
    annotations: tuple[Annotation, ...] = ()
    policies: Mapping[str, Any] = attrs.field(factory=dict)
    policy_groups: tuple[Mapping[str, Any], ...] = ()

    @property
    def version(self) -> str:
        return "v1" if "schemaVersion" in self.document else "v2"

    def material(self, name: str) -> ContractMaterial | None:
        return next((m for m in self.materials if m.name == name), None)

    @classmethod
    def empty(cls) -> Contract:
        """The generic contract used when none is given: any material, nothing required."""
        return cls.from_document({"schemaVersion": "v1"}, source="(no contract)")

    @classmethod
    def from_document(cls, raw: Any, source: str, *, name: str = "") -> Contract:
        if not isinstance(raw, dict):
            raise ContractError(
                f"{source}: a contract must be a mapping, got {json_type(raw)}",
                hint="start with 'schemaVersion: v1' or 'apiVersion: chainloop.dev/v1' and 'kind: Contract'",
            )
        doc = normalise(raw, source, ContractError)
        validate(_plugin_kinds_as_known(doc), raw, source, "contract.schema.json", ContractError)
        return cls._build(doc, source, name)

    @classmethod
    def _build(cls, doc: dict[str, Any], source: str, name: str) -> Contract:
        body = doc if "schemaVersion" in doc else doc.get("spec", {})
        materials = tuple(
            ContractMaterial(
                name=m["name"],
                kind=m["type"],
                optional=m.get("optional", False),
                output=m.get("output", False),
                annotations=_annotations(m.get("annotations", [])),
                skip_upload=m.get("skipUpload", False),
                group=m.get("group", ""),
            )
            for m in body.get("materials", [])
        )
        seen: set[str] = set()
        for m in materials:
            if m.name in seen:
                raise ContractError(f"{source}: material with name={m.name} is duplicated")
            seen.add(m.name)
        if "metadata" in doc:
            name = doc["metadata"]["name"]
        return cls(
            document=doc,
            name=name,
            materials=materials,
            env_allow_list=tuple(body.get("envAllowList", [])),
            runner=body.get("runner", {}).get("type", RUNNER_UNSPECIFIED),
            annotations=_annotations(body.get("annotations", [])),
            policies=body.get("policies", {}),
            policy_groups=tuple(body.get("policyGroups", [])),
        )

    @classmethod
    def from_state(cls, document: Mapping[str, Any], name: str = "") -> Contract:
        """The contract stored in a state file: validated when the attestation started, not again."""
        try:
            return cls._build(dict(document), "(contract in state)", name)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ContractError(f"the contract stored in the state is malformed: {exc!r}") from exc


def _plugin_kinds_as_known(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` for schema validation: a material kind that an installed plugin adds (the published enum lists
    crafter's kinds only) stands in as ``ARTIFACT``, so such a contract validates where the plugin is installed."""
    body = doc if "schemaVersion" in doc else doc.get("spec")
    if not isinstance(body, dict) or not isinstance(body.get("materials"), list):
        return doc
    materials: list[Any] = body["materials"]
    from crafter._internal.materials.registry import builtin_kinds, installed_plugin_kinds

    named = {m["type"] for m in materials if isinstance(m, dict) and isinstance(m.get("type"), str)}
    plugins = (named - set(builtin_kinds())) & set(installed_plugin_kinds()) if named else set()
    if not plugins:
        return doc
    stand_in = [
        dict(m, type="ARTIFACT") if isinstance(m, dict) and m.get("type") in plugins else m for m in materials
    ]
    if body is doc:
        return {**doc, "materials": stand_in}
    return {**doc, "spec": {**body, "materials": stand_in}}


def load_contract(path: Path) -> tuple[Contract, bytes]:
    """Load and validate a contract file; returns it with the file's bytes (their digest is recorded)."""
    from crafter._internal.document_reader import (
        read_document,
    )  # YAML parsing: only when a contract file is read

    raw, data = read_document(path, ContractError)
    stem = path.name.split(".")[0]
    return Contract.from_document(raw, str(path), name=stem), data
