"""Contracts: what an attestation must contain.

Both Chainloop forms are read: ``schemaVersion: v1`` and ``apiVersion: chainloop.dev/v1, kind: Contract``,
from YAML or JSON, with every key accepted in camelCase or snake_case. The document is validated against
``schemas/contract.schema.json``; errors name the file, the key path and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from crafter.errors import ContractError

RUNNER_UNSPECIFIED = "RUNNER_TYPE_UNSPECIFIED"
_SNAKE = re.compile(r"_([a-z0-9])")
# Objects whose keys are user data, never schema keys: not converted from snake_case.
_FREE_MAPS = {"with", "embedded"}
_DNS_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS_OR_EMPTY = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$"
_NAME_HINT = "names must contain only lowercase letters, numbers, and hyphens (DNS-1123 label, at most 63)"


def _camel(key: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), key) if "_" in key else key


def _normalise(value: Any, path: tuple[str | int, ...], source: str) -> Any:
    """A copy of ``value`` with snake_case keys turned to camelCase (the caller's dict is never touched)."""
    if isinstance(value, list):
        return [_normalise(v, (*path, i), source) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    free = bool(path) and (path[-1] in _FREE_MAPS or path[-2:] == ("metadata", "annotations"))
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ContractError(f"{source}: {_fmt_path(path)}: keys must be strings, got {key!r}")
        new = key if free else _camel(key)
        if new in out:
            raise ContractError(
                f"{source}: {_fmt_path((*path, key))}: the key is given twice ({new!r} and {key!r})",
                hint="use one spelling, camelCase or snake_case",
            )
        out[new] = item if free and path[-1] == "embedded" else _normalise(item, (*path, new), source)
    if free and path[-1] == "with":
        # Arguments are strings; numbers and booleans written without quotes keep their text.
        out = {k: _scalar_text(v) for k, v in out.items()}
    return out


def _scalar_text(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return v


def _fmt_path(path: Iterable[str | int]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or "(top level)"


def _original_path(doc: Any, norm: Sequence[str | int]) -> list[str | int]:
    """Map a path in the normalised document back to the user's own spelling of each key."""
    out: list[str | int] = []
    node = doc
    for part in norm:
        if isinstance(node, dict) and isinstance(part, str):
            key = next((k for k in node if k == part or _camel(k) == part), part)
            out.append(key)
            node = node.get(key)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        else:
            out.append(part)
            node = None
    return out


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


def _json_type(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _describe(error: Any, doc: Any, source: str) -> ContractError:
    """One clear line (plus a hint) for the most relevant schema error."""
    where = _fmt_path(_original_path(doc, list(error.absolute_path)))
    validator, inst, expected = error.validator, error.instance, error.validator_value
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(k for k in inst if k not in allowed)
        key = _fmt_path([*_original_path(doc, list(error.absolute_path)), extra[0]])
        return ContractError(
            f"{source}: unknown key '{key}'",
            hint="allowed keys here: " + ", ".join(allowed) if allowed else None,
        )
    if validator == "type":
        return ContractError(f"{source}: {where}: expected {expected}, got {_json_type(inst)} {inst!r}")
    if validator == "required":
        missing = next(k for k in expected if k not in inst)
        return ContractError(f"{source}: {where}: missing required key '{missing}'")
    if validator == "enum":
        return ContractError(
            f"{source}: {where}: {inst!r} is not one of the accepted values",
            hint="accepted: " + ", ".join(map(str, expected)),
        )
    if validator == "const":
        return ContractError(f"{source}: {where}: expected {expected!r}, got {inst!r}")
    if validator == "pattern":
        hint = _NAME_HINT if expected in (_DNS_PATTERN, _DNS_OR_EMPTY) else None
        return ContractError(f"{source}: {where}: {inst!r} does not match {expected}", hint=hint)
    if validator == "maxLength":
        return ContractError(f"{source}: {where}: {inst!r} is longer than {expected} characters")
    if validator == "oneOf":
        return ContractError(f"{source}: {where}: give exactly one of 'ref' or 'embedded'")
    return ContractError(f"{source}: {where}: {error.message}")


def _validate(doc: Any, raw: Any, source: str) -> None:
    import jsonschema  # deferred: only contract loading needs it

    from crafter.resources import load_schema

    validator = jsonschema.Draft202012Validator(load_schema("contract.schema.json"))
    errors = list(validator.iter_errors(doc))
    if not errors:
        return
    # The deepest error is the most specific one (if/then and oneOf wrap their branches' errors).
    best = jsonschema.exceptions.best_match(
        errors, key=lambda e: (-len(e.absolute_path), jsonschema.exceptions.relevance(e))
    )
    raise _describe(best, raw, source)


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
                f"{source}: a contract must be a mapping, got {_json_type(raw)}",
                hint="start with 'schemaVersion: v1' or 'apiVersion: chainloop.dev/v1' and 'kind: Contract'",
            )
        doc = _normalise(raw, (), source)
        _validate(doc, raw, source)
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


def load_contract(path: Path) -> tuple[Contract, bytes]:
    """Load and validate a contract file; returns it with the file's bytes (their digest is recorded)."""
    from crafter.documents import read_document  # YAML parsing: only when a contract file is read

    raw, data = read_document(path, ContractError)
    stem = path.name.split(".")[0]
    return Contract.from_document(raw, str(path), name=stem), data
