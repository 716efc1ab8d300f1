"""SBOM kinds: CycloneDX JSON and SPDX JSON.

Both record the file as read once (digest over those bytes), the SBOM's main component and the tools that
generated it.

Auto-detection (``sniff``) looks only at the first ``SNIFF_BYTES`` of the file, for the format's identifying
key or, when a writer put that key beyond the prefix (sorted-key writers put ``"spdxVersion"`` last; a
CycloneDX writer may put ``components`` before ``bomFormat``), for strings that appear early in any real
document of the format (``"bom-ref"``, ``"SPDXRef-``). A false positive only costs a parse in ``craft``,
which decides.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import attrs

from crafter._internal.materials.basic import (
    check_read,
    first_schema_error,
    invalid,
    json_object,
    json_prefix_has,
    jsonschema_module,
    str_field,
    structural_schema,
)
from crafter._internal.materials.fileio import file_record, read_file, streamed_file_record
from crafter._internal.materials.image import parse_reference
from crafter._internal.materials.interface import (
    ANN_SBOM_VULNS,
    ANN_TOOL_NAME,
    ANN_TOOL_VERSION,
    ANN_TOOLS,
    Crafted,
    CraftOptions,
    MainComponent,
    MaterialKind,
    Sample,
)
from crafter._internal.materials.jsonstream import DROP, drop, json_text, read_checked
from crafter._internal.schema_check import CompiledSchema, SchemaUnusable
from crafter.errors import MaterialError

_CONTAINER = "container"
_TRIVY_REPO_DIGEST = "aquasecurity:trivy:RepoDigest"


@attrs.frozen
class Tool:
    name: str
    version: str = ""


def _tools_annotations(tools: list[Tool]) -> dict[str, str]:
    """``chainloop.material.tools`` (``["name@version", ...]``) and the legacy keys of the first tool.

    Tools without a name are skipped: a nameless entry says nothing (Chainloop records it as ``""``).
    """
    tools = [t for t in tools if t.name]
    if not tools:
        return {}
    entries = [f"{t.name}@{t.version}" if t.version else t.name for t in tools]
    annotations = {ANN_TOOLS: _go_json(entries), ANN_TOOL_NAME: tools[0].name}
    if tools[0].version:
        annotations[ANN_TOOL_VERSION] = tools[0].version
    return annotations


_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _go_json(values: list[str]) -> str:
    """The bytes Go's ``json.Marshal`` writes for a string list, so the annotation matches Chainloop's."""
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _GO_ESCAPES[m.group()], text)


def _main_component(name: str, kind: str, version: str) -> MainComponent | None:
    if not name:
        return None  # nothing identifies the component; record none rather than an empty name
    if kind == _CONTAINER:
        # The full repository without tag or digest ("nginx:1" -> "index.docker.io/library/nginx"). An
        # unparseable name is kept as given: Chainloop drops the component (CycloneDX) or keeps the name
        # (SPDX); keeping it everywhere loses nothing.
        with contextlib.suppress(MaterialError):
            name = parse_reference(name).name
    return MainComponent(name=name, version=version, kind=kind)


# --- CycloneDX -----------------------------------------------------------------------------------------

_CDX = "cyclonedx sbom file"
#: CycloneDX versions whose JSON schema we validate against (shipped by cyclonedx-python-lib).
CYCLONEDX_SCHEMA_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
#: 1.2 and 1.3 are checked against their strict variants, as cyclonedx-python-lib's JsonStrictValidator does:
#: unknown keys are refused there as they are in the 1.4+ schemas themselves.
_CDX_SCHEMA_FILES = {
    "1.2": "bom-1.2-strict.SNAPSHOT.schema.json",
    "1.3": "bom-1.3-strict.SNAPSHOT.schema.json",
}
_CDX_BASE = "http://cyclonedx.org/schema/"
#: Schemas the bom schemas reference by relative URI; registered so resolution never leaves the process.
_CDX_REFERENCED = (
    "spdx.SNAPSHOT.schema.json",
    "jsf-0.82.SNAPSHOT.schema.json",
    "cryptography-defs.SNAPSHOT.schema.json",  # 1.7
)
_NO_STRICT_HINT = "use --no-strict-validation to accept a parseable but invalid SBOM"


def _cdx_schema(file_name: str) -> Any:
    return json.loads((resources.files("cyclonedx.schema") / "_res" / file_name).read_bytes())


def _json_key(value: Any) -> Any:
    """A hashable key equal for JSON-equal values (1 == 1.0, key order ignored, true != 1)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, dict):
        return ("object", frozenset((k, _json_key(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_json_key(v) for v in value))
    return (type(value) is str, value)


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    # jsonschema compares array items pairwise; with thousands of components that quadratic check is most of
    # the validation time of a large SBOM. Hashing a canonical key is linear and means the same thing.
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[Any] = set()
    for item in instance:
        key = _json_key(item)
        if key in seen:
            yield jsonschema_module().ValidationError(f"{instance!r} has non-unique elements")
            return
        seen.add(key)


def _python_cyclonedx_class() -> Any:
    jsonschema = jsonschema_module()
    return jsonschema.validators.extend(jsonschema.Draft7Validator, {"uniqueItems": _unique_items})


def _tolerant(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a bom schema that accepts what :func:`_ignored_by_chainloop` ignores, and nothing else: the
    schema jsonschema-rs decides with, so that such a document is not sent to python-jsonschema (minutes for
    a large SBOM) only to have its errors dropped."""
    out: dict[str, Any] = json.loads(json.dumps(schema))
    out["properties"]["components"].pop("uniqueItems", None)
    vulnerability = out.get("definitions", {}).get("vulnerability", {}).get("properties", {})
    if "cwes" in vulnerability:  # referenced only by the top-level vulnerabilities: the path is the same
        vulnerability["cwes"] = {"anyOf": [{"type": "null"}, vulnerability["cwes"]]}
    return out


@functools.cache
def _cyclonedx_validator(spec_version: str) -> CompiledSchema:
    """The schema of one CycloneDX version, compiled once per process on first use; references resolve
    offline; formats are checked as CycloneDX's own validator checks them (:mod:`crafter._internal.schema_formats`)."""
    schema = _cdx_schema(_CDX_SCHEMA_FILES.get(spec_version, f"bom-{spec_version}.SNAPSHOT.schema.json"))
    return CompiledSchema(
        schema,
        resources={_CDX_BASE + name: _cdx_schema(name) for name in _CDX_REFERENCED},
        formats=True,
        python_class=_python_cyclonedx_class,
        tolerated=_ignored_by_chainloop,
        fast_schema=_tolerant(schema),
    )


@functools.cache
def _cyclonedx_names(spec_version: str) -> frozenset[str]:
    """The keys CycloneDX's schema names: the only keys of an SBOM a schema error quotes."""
    from crafter._internal.redaction import schema_names

    return schema_names(_cyclonedx_validator(spec_version).schema)


def _ignored_by_chainloop(err: Any) -> bool:
    """Schema errors Chainloop tolerates because common scanners produce them: duplicated components
    (JFrog Xray; policies deduplicate) and ``"cwes": null`` in vulnerabilities."""
    where = list(err.absolute_path)
    if err.validator == "uniqueItems" and where == ["components"]:
        return True
    return (
        err.validator == "type"
        and err.instance is None
        and len(where) == 3
        and where[0] == "vulnerabilities"
        and where[2] == "cwes"
    )


def _cyclonedx_schema_problem(doc: dict[str, Any], spec_version: str) -> str | None:
    """Why ``doc`` fails its version's schema (``<json path>: <problem>``, quoting nothing of ``doc``), or
    ``None``."""
    if spec_version not in CYCLONEDX_SCHEMA_VERSIONS:
        return (
            "specVersion is not one supported for schema validation "
            f"(supported: {', '.join(CYCLONEDX_SCHEMA_VERSIONS)})"
        )
    from referencing.exceptions import Unresolvable

    try:
        kept = _cyclonedx_validator(spec_version).errors(doc)
    except RecursionError:
        return "document nested too deeply to validate"
    except (
        Unresolvable,
        SchemaUnusable,
    ) as exc:  # the installed cyclonedx-python-lib's schema refers to one we lack
        raise MaterialError(f"CycloneDX {spec_version} schema cannot be loaded: {exc}") from exc
    return first_schema_error(kept, _cyclonedx_names(spec_version)) if kept else None


def _cyclonedx_schema_for(before: dict[str, Any]) -> CompiledSchema | None:
    spec_version = before.get("specVersion")
    return _cyclonedx_validator(spec_version) if spec_version in CYCLONEDX_SCHEMA_VERSIONS else None


def _read_cyclonedx(text: str, path: str) -> tuple[dict[str, Any], str | None]:
    """The SBOM's top-level object and why it fails its schema (None when it does not).

    When ``specVersion`` comes before ``components`` (the order writers use), each component is checked as it
    is read and not kept (:func:`crafter._internal.materials.jsonstream.read_checked`): a large SBOM is never held
    whole as Python objects, and an invalid one is described from its first invalid component.
    """
    parsed, errors = read_checked(text, path, _CDX, _cyclonedx_schema_for, {"components": drop})
    doc = json_object(parsed, path, _CDX)
    spec_version = _check_cyclonedx_identity(doc, path)
    if errors is None:
        return doc, _cyclonedx_schema_problem(doc, spec_version)
    return doc, first_schema_error(errors, _cyclonedx_names(spec_version)) if errors else None


def _check_cyclonedx_identity(doc: object, path: str) -> str:
    """The fields without which a document is not CycloneDX, fatal even without strict validation.
    Returns the specVersion."""
    doc = json_object(doc, path, _CDX)
    if doc.get("bomFormat") != "CycloneDX":
        raise invalid(path, _CDX, 'bomFormat is not "CycloneDX"')
    spec_version = str_field(doc, "specVersion")
    if not spec_version:
        raise invalid(path, _CDX, "specVersion is missing or empty")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise invalid(path, _CDX, "version must be an integer >= 1")
    return spec_version


def _cyclonedx_tools(metadata: dict[str, Any]) -> list[Tool]:
    tools = metadata.get("tools")
    if isinstance(tools, dict):  # 1.5+: {"components": [...], "services": [...]}
        tools = tools.get("components")
    if not isinstance(tools, list):
        return []
    return [Tool(str_field(t, "name"), str_field(t, "version")) for t in tools]


def _cyclonedx_main_component(metadata: dict[str, Any]) -> MainComponent | None:
    component = metadata.get("component")
    if not isinstance(component, dict):
        return None
    version = str_field(component, "version")
    if not version:
        # Trivy leaves an image's version empty and records "<repo>@sha256:<hex>" in a property.
        for prop in component.get("properties") or []:
            if str_field(prop, "name") == _TRIVY_REPO_DIGEST:
                parts = str_field(prop, "value").split("sha256:")
                if len(parts) == 2:
                    version = "sha256:" + parts[1]
                    break
    return _main_component(str_field(component, "name"), str_field(component, "type"), version)


class CycloneDXKind(MaterialKind):
    """A CycloneDX JSON SBOM, validated against CycloneDX's own schema for its ``specVersion``.

    ``bomFormat``, ``specVersion`` and ``version`` are always required. A schema failure, or a
    ``specVersion`` we have no schema for (outside 1.2-1.7), is an error when strict and a warning
    otherwise: ``--no-strict-validation`` accepts what Chainloop accepts with it. Formats (``date-time``,
    ``iri-reference``...) are checked as cyclonedx-python-lib's ``JsonStrictValidator`` checks them, whatever
    optional packages are installed.

    Auto-detected by ``"bomFormat"`` in the prefix, or by ``"bom-ref"`` / a ``cyclonedx.org/schema`` URL
    when a writer put ``bomFormat`` beyond it.
    """

    kind = "SBOM_CYCLONEDX_JSON"

    def sniff(self, sample: Sample) -> bool:
        return json_prefix_has(sample, ('"bomFormat"', '"bom-ref"', "cyclonedx.org/schema"))

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        fb = read_file(value)
        text = json_text(fb, _CDX)
        digest, size = fb.digest, fb.size
        del fb  # from here on only the text, and what is kept of it, are held
        doc, problem = _read_cyclonedx(text, value)
        del text
        if problem is not None:
            if options.strict:
                raise invalid(value, _CDX, problem, hint=_NO_STRICT_HINT)
            options.warning(f"{value}: accepted without strict validation: invalid CycloneDX SBOM: {problem}")
        metadata = doc.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
        annotations = _tools_annotations(_cyclonedx_tools(metadata))
        if "vulnerabilities" in doc:
            annotations[ANN_SBOM_VULNS] = "true"
        return streamed_file_record(
            self.kind, value, digest, size, annotations, _cyclonedx_main_component(metadata)
        )


# --- SPDX ----------------------------------------------------------------------------------------------

_SPDX = "spdx sbom file"
_SPDX2_SCHEMA = "spdx-2.x.schema.json"


def _is_spdx2(before: dict[str, Any]) -> bool:
    """Whether the keys read so far are an SPDX 2 document's (an SPDX 3 one is read whole)."""
    return str_field(before, "spdxVersion").startswith("SPDX-") and "@context" not in before


def _package_summary(package: Any) -> Any:
    """What :func:`_spdx_main_component` reads of a package."""
    if not isinstance(package, dict):
        return package
    return {k: package[k] for k in ("SPDXID", "name", "versionInfo", "primaryPackagePurpose") if k in package}


def _describing(relationship: Any) -> Any:
    """A DESCRIBES or DESCRIBED_BY relationship (what :func:`_described_ids` reads); no other is kept."""
    if str_field(relationship, "relationshipType") in ("DESCRIBES", "DESCRIBED_BY"):
        return relationship
    return DROP


_SPDX2_KEEP = {"packages": _package_summary, "files": drop, "relationships": _describing}


def _described_ids(doc: dict[str, Any]) -> list[str]:
    """The ids the document DESCRIBES, in document order (as spdx/tools-golang's ``GetDescribedPackageIDs``:
    a document with a single package describes it)."""
    packages = [p for p in doc.get("packages") or [] if isinstance(p, dict)]
    if len(packages) == 1:
        return [str_field(packages[0], "SPDXID")]
    doc_id = str_field(doc, "SPDXID")
    ids = [i for i in doc.get("documentDescribes") or [] if isinstance(i, str)]
    for rel in doc.get("relationships") or []:
        kind = str_field(rel, "relationshipType")
        if kind == "DESCRIBES" and str_field(rel, "spdxElementId") == doc_id:
            ids.append(str_field(rel, "relatedSpdxElement"))
        elif kind == "DESCRIBED_BY" and str_field(rel, "relatedSpdxElement") == doc_id:
            ids.append(str_field(rel, "spdxElementId"))
    return ids


def _spdx_main_component(doc: dict[str, Any]) -> MainComponent | None:
    packages = {str_field(p, "SPDXID"): p for p in doc.get("packages") or [] if isinstance(p, dict)}
    for spdx_id in _described_ids(doc):
        pkg = packages.get(spdx_id)
        if pkg is not None:
            kind = str_field(pkg, "primaryPackagePurpose").lower()
            return _main_component(str_field(pkg, "name"), kind, str_field(pkg, "versionInfo"))
    return None


def _spdx_tools(doc: dict[str, Any]) -> list[Tool]:
    tools = []
    for creator in doc["creationInfo"]["creators"]:
        creator_type, _, who = creator.partition(":")
        if creator_type.strip() == "Tool":
            # "Tool: syft-0.100.0": the version follows the first '-' (tool names with '-' split wrongly,
            # exactly as in Chainloop).
            name, _, version = who.strip().partition("-")
            tools.append(Tool(name, version))
    return tools


class SPDXKind(MaterialKind):
    """An SPDX 2.x JSON SBOM, checked against our structural schema ``schemas/materials/spdx-2.x``.

    Auto-detected by ``"spdxVersion"`` in the prefix, or by ``"SPDXID"`` / an ``SPDXRef-`` id when the
    writer sorted its keys (``spdxVersion`` then comes last).
    """

    kind = "SBOM_SPDX_JSON"

    def sniff(self, sample: Sample) -> bool:
        return json_prefix_has(sample, ('"spdxVersion"', '"SPDXID"', '"SPDXRef-', "spdx.org/rdf/3."))

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        fb = read_file(value)
        # SPDX 2 packages, files and relationships are checked as they are read, and only what the main
        # component needs is kept of them (crafter._internal.materials.jsonstream).
        text = json_text(fb, _SPDX)
        schema = structural_schema(_SPDX2_SCHEMA)
        parsed, errors = read_checked(text, value, _SPDX, schema, _SPDX2_KEEP, _is_spdx2)
        del text
        doc = json_object(parsed, value, _SPDX)
        from crafter._internal.materials.spdx3 import craft_spdx3, spdx3_version

        if (spdx3 := spdx3_version(doc)) is not None:  # SPDX 3.0 JSON-LD: crafter._internal.materials.spdx3
            return craft_spdx3(self.kind, fb, doc, spdx3, options)
        if not str_field(doc, "spdxVersion").startswith("SPDX-"):
            raise invalid(value, _SPDX, 'spdxVersion is missing or does not start with "SPDX-"')
        check_read(doc, errors, _SPDX2_SCHEMA, value, _SPDX)
        return file_record(self.kind, fb, _tools_annotations(_spdx_tools(doc)), _spdx_main_component(doc))
