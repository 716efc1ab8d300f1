"""Security report kinds: SARIF, OpenVEX, the four CSAF categories and Gitleaks.

Each file is read once; the digest is over those bytes. Formats are checked against our structural schemas
in ``schemas/materials`` (what each format makes mandatory), not their full published schemas. Unlike
Chainloop, the ``chainloop.material.size`` annotation is always kept (Chainloop drops it for SARIF and CSAF
because it replaces the annotation map while adding tool names).
"""

from __future__ import annotations

import re
from typing import Any

from crafter._internal.materials.basic import (
    check_read,
    invalid,
    json_object,
    json_prefix,
    load_json,
    str_field,
    structural_schema,
)
from crafter._internal.materials.fileio import file_record, read_file, streamed_file_record
from crafter._internal.materials.interface import (
    ANN_SCAN_TYPES,
    ANN_TOOL_NAME,
    ANN_TOOL_VERSION,
    Crafted,
    CraftOptions,
    MaterialKind,
    Sample,
)
from crafter._internal.materials.jsonstream import DROP, Each, drop, json_text, read_checked
from crafter.errors import MaterialError


def _tool_annotations(component: object) -> dict[str, str]:
    """Tool name/version annotations from an object with ``name`` and ``version``; empty values omitted."""
    annotations = {}
    if name := str_field(component, "name"):
        annotations[ANN_TOOL_NAME] = name
    if version := str_field(component, "version"):
        annotations[ANN_TOOL_VERSION] = version
    return annotations


# --- SARIF ---------------------------------------------------------------------------------------------

_SARIF = "SARIF file"

#: Checkmarx rule ids end with the engine in parentheses, e.g. ``"Stored_XSS (sast)"``.
_CHECKMARX_ENGINES = {
    "sast": "sast",
    "sca": "sca",
    "kics": "iac",
    "containers": "container",
    "sscs": "supply-chain",
}
_ENGINE_SUFFIX = re.compile(r"\(([^()]*)\)\s*$")


def _is_checkmarx(run: dict[str, Any]) -> bool:
    driver = run["tool"]["driver"]
    if "checkmarx" in str_field(driver, "name").lower():
        return True
    for rule in driver.get("rules") or []:
        properties = rule.get("properties")
        tags = properties.get("tags") if isinstance(properties, dict) else None
        if isinstance(tags, list) and any(isinstance(t, str) and t.lower() == "checkmarx" for t in tags):
            return True
    return False


def _text_of(path: str, what: str) -> tuple[str, str, int]:
    """The file's JSON text, digest and size; its bytes are not kept (a large document is then held once,
    as text, while it is read: crafter._internal.materials.jsonstream)."""
    fb = read_file(path)
    return json_text(fb, what), fb.digest, fb.size


def _engine_rule(result: Any) -> Any:
    """What :func:`_checkmarx_scan_types` reads of a result: its rule id when it ends with an engine."""
    rule = str_field(result, "ruleId")
    return {"ruleId": rule} if _ENGINE_SUFFIX.search(rule.strip()) else DROP


_SARIF_SCHEMA = "sarif-2.1.0.schema.json"
_SARIF_KEEP = {"runs": Each({"results": _engine_rule})}


def _checkmarx_scan_types(runs: list[dict[str, Any]]) -> str:
    """The sorted, comma-separated scan types of the Checkmarx runs' findings ("" when none)."""
    found = set()
    for run in runs:
        if not _is_checkmarx(run):
            continue
        for result in run.get("results") or []:
            match = _ENGINE_SUFFIX.search(str_field(result, "ruleId").strip())
            if match and (scan_type := _CHECKMARX_ENGINES.get(match.group(1).strip().lower())):
                found.add(scan_type)
    return ",".join(sorted(found))


class SarifKind(MaterialKind):
    """A SARIF 2.1.0 log: tool annotations from ``runs[0].tool.driver``, scan types of Checkmarx runs."""

    kind = "SARIF"

    def sniff(self, sample: Sample) -> bool:
        text = json_prefix(sample)
        return "sarif" in text.lower() or '"runs"' in text

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        # Results are checked as they are read; only the rule ids that name a Checkmarx engine are kept.
        text, digest, size = _text_of(value, _SARIF)
        doc, errors = read_checked(text, value, _SARIF, structural_schema(_SARIF_SCHEMA), _SARIF_KEEP)
        check_read(json_object(doc, value, _SARIF), errors, _SARIF_SCHEMA, value, _SARIF)
        runs = doc["runs"]
        annotations = _tool_annotations(runs[0]["tool"]["driver"]) if runs else {}
        if scan_types := _checkmarx_scan_types(runs):
            annotations[ANN_SCAN_TYPES] = scan_types
        return streamed_file_record(self.kind, value, digest, size, annotations)


# --- OpenVEX -------------------------------------------------------------------------------------------

_OPENVEX = "OpenVEX file"
_OPENVEX_SCHEMA = "openvex-0.2.0.schema.json"


class OpenVEXKind(MaterialKind):
    """An OpenVEX document (``@context`` naming OpenVEX, non-empty ``@id``, ``statements``)."""

    kind = "OPENVEX"

    def sniff(self, sample: Sample) -> bool:
        text = json_prefix(sample)
        return '"@context"' in text and "openvex" in text

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        # Statements are checked as they are read and not kept (crafter._internal.materials.jsonstream).
        text, digest, size = _text_of(value, _OPENVEX)
        schema = structural_schema(_OPENVEX_SCHEMA)
        doc, errors = read_checked(text, value, _OPENVEX, schema, {"statements": drop})
        check_read(json_object(doc, value, _OPENVEX), errors, _OPENVEX_SCHEMA, value, _OPENVEX)
        return streamed_file_record(self.kind, value, digest, size)


# --- CSAF ----------------------------------------------------------------------------------------------

_CSAF = "CSAF file"
_CSAF_SCHEMA = "csaf-2.x.schema.json"
_CSAF_CATEGORY = re.compile(r'"category"\s*:\s*"(csaf_[a-z_]+)"')
_CSAF_CATEGORIES = frozenset(
    {"csaf_vex", "csaf_informational_advisory", "csaf_security_advisory", "csaf_security_incident_response"}
)


class CSAFKind(MaterialKind):
    """A CSAF 2.0/2.1 document of one category; four kinds share this class (one per category).

    ``kind`` is the Chainloop enum name (``CSAF_VEX``...), ``category`` the ``document.category`` it expects.
    """

    def __init__(self, kind: str, category: str) -> None:
        # Set on the instance: the four CSAF kinds are instances of one class.
        self.kind = kind  # type: ignore[misc]
        self.category = category

    def sniff(self, sample: Sample) -> bool:
        text = json_prefix(sample)
        if not ('"document"' in text and "csaf" in text):
            return False
        # Skip the other categories' kinds early when the category is visible in the prefix.
        match = _CSAF_CATEGORY.search(text)
        return match is None or match.group(1) == self.category

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        # Vulnerabilities (the bulk of a large VEX document) are not read past JSON: not kept.
        text, digest, size = _text_of(value, _CSAF)
        doc, errors = read_checked(
            text, value, _CSAF, structural_schema(_CSAF_SCHEMA), {"vulnerabilities": drop}
        )
        document = json_object(doc, value, _CSAF).get("document")
        if not isinstance(document, dict):
            raise invalid(value, _CSAF, "no document object")
        category = document.get("category")
        if isinstance(category, str) and category and category != self.category:
            # A category crafter has a kind for is named; any other value of the file is not quoted.
            known = category in _CSAF_CATEGORIES
            raise MaterialError(
                f"{value}: invalid CSAF category field in file, expected: {self.category}",
                hint=f"document.category is {category!r}: add it with the kind of that category"
                if known
                else "document.category is not a category crafter has a kind for",
            )
        check_read(doc, errors, _CSAF_SCHEMA, value, _CSAF)
        engine = document["tracking"].get("generator", {}).get("engine")
        return streamed_file_record(self.kind, value, digest, size, _tool_annotations(engine))


# --- Gitleaks ------------------------------------------------------------------------------------------

_GITLEAKS = "gitleaks report file"


class GitleaksKind(MaterialKind):
    """A Gitleaks JSON report: an array of findings (an empty array is a clean scan)."""

    kind = "GITLEAKS_JSON"

    def sniff(self, sample: Sample) -> bool:
        text = json_prefix(sample, "[")
        if not text:
            return False
        # A clean report is "[]": only the whole file can show that it is empty.
        empty = sample.size == len(sample.prefix) and re.fullmatch(r"\[\s*\]\s*", text) is not None
        return empty or '"Fingerprint"' in text

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        fb, doc = load_json(value, _GITLEAKS)
        if not isinstance(doc, list):
            raise invalid(value, _GITLEAKS, "not a JSON array of findings")
        if not all(isinstance(finding, dict) for finding in doc):
            raise invalid(value, _GITLEAKS, "every finding must be a JSON object")
        if doc and not str_field(doc[0], "Fingerprint"):
            raise invalid(value, _GITLEAKS, "'Fingerprint' field not found in the first finding")
        return file_record(self.kind, fb, {ANN_TOOL_NAME: "gitleaks"})
