"""Parsing ``kind: Policy`` and ``kind: PolicyGroup`` documents, and contract attachments, into the models.

Documents are validated against ``schemas/policy.schema.json`` / ``schemas/policy-group.schema.json``
(camelCase or snake_case keys). Scripts given by reference are loaded through a callback, so that the loader
alone decides where a relative path points and what may be fetched.

Policies and groups are loaded by reference: a reference can point at any file, so errors about a document
give the key path (crafter's own keys only, others written ``*``), the line when the loader passes
:class:`~crafter._internal.document_reader.KeyLines`, and the kind of problem, never a key or value of the document
(:mod:`crafter._internal.redaction`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from crafter._internal.policies.engines.interface import WASM_MAGIC, decode_base64_wasm, detect_engine
from crafter._internal.policies.spec import (
    Attachment,
    GroupAttachment,
    GroupMaterial,
    Policy,
    PolicyGroup,
    PolicyInput,
    PolicyScript,
    Selector,
)
from crafter._internal.redaction import LineOf, Redaction
from crafter._internal.schema_check import (
    crafter_names,
    fmt_path,
    json_type,
    normalise,
    scalar_text,
    validate,
)
from crafter.errors import PolicyError

#: Loads a script reference as written in a policy (``ref``/``path`` value): returns the raw bytes and the
#: resolved location (path or URL) they came from; raises :class:`PolicyError` naming the reference.
ScriptResolver = Callable[[str], tuple[bytes, str]]

_UNSPECIFIED = {"MATERIAL_TYPE_UNSPECIFIED": "", "MATCH_MODE_UNSPECIFIED": "EXACT"}
# Input defaults are strings; a YAML number or boolean written as a default keeps its text.
_TEXT_KEYS = ("default",)


def redaction(lines: LineOf | None = None) -> Redaction:
    """How errors about a policy or group document are written: crafter's own keys, and ``lines``."""
    return Redaction(crafter_names(), lines)


def _document(raw: object, source: str, kind: str, schema: str, redact: Redaction) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise PolicyError(
            f"{source}: a {kind} document must be a mapping, got {json_type(raw)}",
            hint=f"start with 'apiVersion: chainloop.dev/v1' and 'kind: {kind}'",
        )
    doc: dict[str, Any] = normalise(raw, source, PolicyError, text_keys=_TEXT_KEYS, redaction=redact)
    validate(_plugin_kinds_as_known(doc, kind), raw, source, schema, PolicyError, redact)
    return doc


def _plugin_kinds_as_known(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    """``doc`` for schema validation: a material kind an installed plugin adds (the published enums list
    crafter's kinds only) stands in as a kind the enum lists, so a policy's script ``kind:`` or a group
    material's ``type:`` may name it where the plugin is installed (as a contract's materials may)."""
    spec = doc.get("spec")
    policies = spec.get("policies") if isinstance(spec, dict) else None
    if kind == "Policy":
        items, key, stand_in = policies, "kind", "STRING"
    else:
        items = policies.get("materials") if isinstance(policies, dict) else None
        key, stand_in = "type", "ARTIFACT"
    if not isinstance(spec, dict) or not isinstance(items, list):
        return doc
    named = {i[key] for i in items if isinstance(i, dict) and isinstance(i.get(key), str)}
    from crafter._internal.materials.registry import builtin_kinds, installed_plugin_kinds

    unknown = named - set(builtin_kinds())
    plugins = unknown & set(installed_plugin_kinds()) if unknown else set()
    if not plugins:
        return doc
    replaced = [
        dict(i, **{key: stand_in}) if isinstance(i, dict) and i.get(key) in plugins else i for i in items
    ]
    if kind == "Policy":
        return {**doc, "spec": {**spec, "policies": replaced}}
    assert isinstance(policies, dict)
    return {**doc, "spec": {**spec, "policies": {**policies, "materials": replaced}}}


def _inputs(
    items: Sequence[Mapping[str, Any]], source: str, at: str, redact: Redaction
) -> tuple[PolicyInput, ...]:
    out: list[PolicyInput] = []
    for i, item in enumerate(items):
        spec = PolicyInput(
            name=item["name"],
            description=item.get("description", ""),
            required=item.get("required", False),
            default=item.get("default", ""),
        )
        where: tuple[str | int, ...] = (*at.split("."), i)
        if spec.required and spec.default:
            raise PolicyError(
                f"{source}: {redact.where(where)}: an input can not be required and have a default at the same time"
            )
        first = next((j for j, o in enumerate(out) if o.name == spec.name), None)
        if first is not None:
            raise PolicyError(
                f"{source}: {redact.where((*where, 'name'))}: the input name is declared twice "
                f"(first in {fmt_path([*at.split('.'), first])})"
            )
        out.append(spec)
    return tuple(out)


def _script_source(
    entry: Mapping[str, Any], resolve: ScriptResolver, source: str, where: str
) -> tuple[bytes, str]:
    """The script's bytes (a base64 WASM module decoded) and where they came from."""
    if "embedded" in entry:
        data, origin = entry["embedded"].encode("utf-8"), "embedded"
    else:
        field = "ref" if "ref" in entry else "path"
        try:
            data, origin = resolve(entry[field])
        except PolicyError as exc:
            raise PolicyError(f"{source}: {where}.{field}: {exc.message}", hint=exc.hint) from exc
    if not data.startswith(WASM_MAGIC):
        # Chainloop's decodeIfBase64Wasm: base64 text is replaced by the module only when it decodes to WASM.
        data = decode_base64_wasm(data) or data
    return data, origin


def _engine(entry: Mapping[str, Any], data: bytes, engines: Collection[str], source: str, where: str) -> str:
    installed = ", ".join(sorted(engines)) or "none"
    named = entry.get("engine")
    if named is not None:
        if named not in engines:
            # The name is not one crafter knows: it is not quoted (the document may be any file).
            raise PolicyError(
                f"{source}: {where}.engine: unknown policy engine (installed: {installed})",
                hint="remove 'engine' to detect it from the script, or install the plugin that provides it",
            )
        return str(named)
    detected = detect_engine(data)
    if detected not in engines:
        raise PolicyError(
            f"{source}: {where}: the script needs the {detected!r} policy engine, which is not installed"
            f" (installed: {installed})"
        )
    return detected


def _scripts(
    spec: Mapping[str, Any], resolve: ScriptResolver, engines: Collection[str], source: str
) -> tuple[PolicyScript, ...]:
    if "path" in spec or "embedded" in spec:
        # The deprecated single script wins over spec.policies, as in Chainloop (LoadPolicyScriptsFromSpec).
        data, origin = _script_source(spec, resolve, source, "spec")
        return (PolicyScript("", data, _engine({}, data, engines, source, "spec"), origin),)
    scripts = []
    for i, entry in enumerate(spec.get("policies", [])):
        where = f"spec.policies[{i}]"
        data, origin = _script_source(entry, resolve, source, where)
        kind = entry.get("kind", "")
        scripts.append(
            PolicyScript(
                kind=_UNSPECIFIED.get(kind, kind),
                source=data,
                engine=_engine(entry, data, engines, source, where),
                origin=origin,
                phases=tuple(dict.fromkeys(entry.get("attestationPhases", []))),
            )
        )
    return tuple(scripts)


def parse_policy(
    raw: object,
    source: str,
    resolve: ScriptResolver,
    engines: Collection[str],
    *,
    lines: LineOf | None = None,
) -> Policy:
    """A validated :class:`Policy` from a parsed document; ``source`` names it in every error, ``lines``
    (:class:`~crafter._internal.document_reader.KeyLines` of its text) gives them a line."""
    redact = redaction(lines)
    doc = _document(raw, source, "Policy", "policy.schema.json", redact)
    meta, spec = doc["metadata"], doc["spec"]
    legacy_type = spec.get("type", "")
    return Policy(
        name=meta["name"],
        scripts=_scripts(spec, resolve, engines, source),
        description=meta.get("description", ""),
        annotations=meta.get("annotations", {}),
        inputs=_inputs(spec.get("inputs", []), source, "spec.inputs", redact),
        finding_type=meta.get("findingType", ""),
        legacy_type=_UNSPECIFIED.get(legacy_type, legacy_type),
    )


def parse_group(raw: object, source: str, *, lines: LineOf | None = None) -> PolicyGroup:
    """A validated :class:`PolicyGroup` from a parsed document; member policies are loaded later. ``lines``
    as for :func:`parse_policy`."""
    redact = redaction(lines)
    doc = _document(raw, source, "PolicyGroup", "policy-group.schema.json", redact)
    meta, spec = doc["metadata"], doc["spec"]
    policies = spec.get("policies", {})
    materials = []
    for i, m in enumerate(policies.get("materials", [])):
        kind = m.get("type", "")
        attachments = _attachments(m.get("policies", []), source, f"spec.policies.materials[{i}].policies")
        materials.append(
            GroupMaterial(
                kind=_UNSPECIFIED.get(kind, kind),
                name=m.get("name", ""),
                optional=m.get("optional", False),
                match_mode=_match_mode(m.get("matchMode")),
                policies=attachments,
            )
        )
    return PolicyGroup(
        name=meta["name"],
        materials=tuple(materials),
        attestation=_attachments(policies.get("attestation", []), source, "spec.policies.attestation"),
        description=meta.get("description", ""),
        annotations=meta.get("annotations", {}),
        inputs=_inputs(spec.get("inputs", []), source, "spec.inputs", redact),
    )


def _attachments(items: Sequence[Mapping[str, Any]], source: str, at: str) -> tuple[Attachment, ...]:
    out = []
    for i, item in enumerate(items):
        try:
            out.append(parse_attachment(item))
        except PolicyError as exc:
            raise PolicyError(f"{source}: {fmt_path([at, i])}: {exc.message}") from exc
    return tuple(out)


def _match_mode(value: Any) -> str:
    return _UNSPECIFIED.get(value, value) if value else "EXACT"


def parse_attachment(d: Mapping[str, Any]) -> Attachment:
    """An :class:`Attachment` from a contract's (or group's) normalised, camelCase attachment object."""
    selector = d.get("selector") or {}
    timeout = d.get("timeout")
    try:
        return Attachment(
            ref=d.get("ref", ""),
            embedded=d.get("embedded"),
            selector=Selector(selector.get("name", ""), _match_mode(selector.get("matchMode"))),
            with_={str(k): str(scalar_text(v)) for k, v in (d.get("with") or {}).items()},
            requirements=tuple(d.get("requirements", ())),
            gate=d.get("gate"),
            disabled=bool(d.get("disabled", False)),
            timeout=float(timeout) if timeout is not None else None,
            allowed_hosts=tuple(d.get("allowedHosts", ())),
        )
    except ValueError as exc:  # the model's own rule (exactly one of ref or embedded): no value quoted
        raise PolicyError(f"invalid policy attachment: {exc}") from exc


def parse_group_attachment(d: Mapping[str, Any]) -> GroupAttachment:
    """A :class:`GroupAttachment` from a contract's normalised ``policyGroups`` entry."""
    ref = d.get("ref", "")
    if not ref:
        raise PolicyError("invalid policy group attachment: 'ref' is required")
    return GroupAttachment(
        ref=ref,
        with_={str(k): str(scalar_text(v)) for k, v in (d.get("with") or {}).items()},
        skip=tuple(d.get("skip", ())),
        gate=d.get("gate"),
    )
