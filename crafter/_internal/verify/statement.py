"""The signed statement: parsed and checked as an in-toto statement (any predicate); a Chainloop predicate
is then checked against ``schemas/statement.schema.json`` (what older Chainloop predicates lack accepted).
Also the fields the summary and the replay read from it."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crafter.errors import SignatureError

_POLICY_KEYS = frozenset(
    {
        "policyEvaluations",
        "policyEvaluationsRef",
        "policyHasViolations",
        "policyEvaluationsCount",
        "policyViolationsCount",
        "policySkippedCount",
        "policyPassedCount",
        "policySuppressedCount",
        "policyHasGatedViolations",
        "policyHasGates",
    }
)
ATTESTATION_KEY = "CHAINLOOP.ATTESTATION"


CHAINLOOP_PREDICATE = "chainloop.dev/attestation/v0.2"
STATEMENT_TYPES = frozenset({"https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"})


def parse_statement(payload: bytes, path: Path) -> dict[str, Any]:
    """The signed in-toto statement (v1, or v0.1 as cosign still writes it): ``_type``, subjects with
    digests, a ``predicateType``. Only a Chainloop predicate is then checked against crafter's schema."""
    try:
        statement = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SignatureError(f"{path}: the signed payload is not JSON ({exc})") from exc
    except RecursionError as exc:
        raise SignatureError(f"{path}: the signed payload is JSON nested too deeply") from exc
    if not isinstance(statement, dict):
        raise SignatureError(f"{path}: the signed payload is not a JSON object")
    problem = _in_toto_problem(statement)
    if problem:
        raise SignatureError(f"{path}: the signed payload is not an in-toto statement: {problem}")
    if is_chainloop(statement):
        _check_chainloop(statement, path)
    return statement


def is_chainloop(statement: Mapping[str, Any]) -> bool:
    return statement.get("predicateType") == CHAINLOOP_PREDICATE


def _in_toto_problem(statement: Mapping[str, Any]) -> str:
    kind = statement.get("_type")
    if kind not in STATEMENT_TYPES:
        return f"_type is {kind!r}, expected one of {', '.join(sorted(STATEMENT_TYPES))}"
    predicate_type = statement.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        return "predicateType must be a non-empty string"
    if "predicate" in statement and not isinstance(statement["predicate"], dict):
        return "predicate must be an object"
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        return "subject must be a non-empty list"
    for index, subject in enumerate(subjects):
        if not isinstance(subject, dict):
            return f"subject[{index}] must be an object"
        if "name" in subject and not isinstance(subject["name"], str):
            return f"subject[{index}].name must be a string"
        digest = subject.get("digest")
        if not isinstance(digest, dict) or not digest:
            return f"subject[{index}].digest must be a non-empty object"
        for algorithm, value in digest.items():
            if not isinstance(value, str) or not re.fullmatch("[0-9a-fA-F]+", value):
                return f"subject[{index}].digest.{algorithm} must be a hex string"
    return ""


#: ``$defs/digest``'s pattern, searched as JSON Schema does (so ``$`` also matches before a final newline).
_HEX_DIGEST = re.compile("^[0-9a-f]+$")
_DESCRIPTOR_STRINGS = ("name", "uri", "content", "downloadLocation", "mediaType")
_DESCRIPTOR_ANY_OF = ("name", "uri", "digest", "content")
_MATERIAL_ANNOTATIONS = ("chainloop.material.type", "chainloop.material.name")


def plain_material(item: object) -> bool:
    """Whether ``item`` certainly satisfies the schema's ``$defs/material`` (a resource descriptor with the
    material's type and name annotations): a sufficient condition, stricter than the schema where that is
    simpler (exact JSON types). An item it does not accept is left to the schema validator, which reports
    it; ``tests/verify/test_statement_shape.py`` holds it to never accepting what the schema refuses."""
    if type(item) is not dict:
        return False
    for field in _DESCRIPTOR_STRINGS:
        if field in item and type(item[field]) is not str:
            return False
    if not any(field in item for field in _DESCRIPTOR_ANY_OF):
        return False
    if "digest" in item:
        digest = item["digest"]
        if type(digest) is not dict or not digest:
            return False
        for value in digest.values():
            if type(value) is not str or _HEX_DIGEST.search(value) is None:
                return False
    annotations = item.get("annotations")
    if type(annotations) is not dict:
        return False
    return all(type(annotations.get(key)) is str for key in _MATERIAL_ANNOTATIONS)


def _schema_view(statement: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the schema validator needs to see: the statement itself, but without its materials when every
    one of them is a :func:`plain_material` (they would add no error, and validating 10,000 of them with
    jsonschema costs more than half a second)."""
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        return statement
    materials = predicate.get("materials")
    if not isinstance(materials, list) or not materials or not all(map(plain_material, materials)):
        return statement
    return {**statement, "predicate": {**predicate, "materials": []}}


def _check_chainloop(statement: Mapping[str, Any], path: Path) -> None:
    from crafter._internal.schema_check import schema_errors

    view = _schema_view(statement)
    errors = sorted(
        (e for e in schema_errors("statement.schema.json", view) if not _historic(e)),
        key=lambda e: list(e.path),
    )
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise SignatureError(
            f"{path}: the signed statement is not a valid {CHAINLOOP_PREDICATE} statement: at {where}: "
            f"{err.message}"
        )


def workflow_name(statement: Mapping[str, Any]) -> str:
    if not is_chainloop(statement):
        return ""
    md = statement["predicate"].get("metadata", {})
    return str(md.get("workflowName") or md.get("name", ""))


def _historic(error: Any) -> bool:
    """What older Chainloop predicates may lack: the policy counters added later (the summary backfills them
    from the evaluations, as Chainloop's readers do, reference section 3.7) and ``metadata.workflowName``."""
    if error.validator != "required":
        return False
    where = list(error.absolute_path)
    if where == ["predicate"]:
        return any(f"'{k}'" in error.message for k in _POLICY_KEYS)
    # metadata.workflowName: older Chainloop CLIs wrote only metadata.name
    return where == ["predicate", "metadata"] and "'workflowName'" in error.message


def digest_text(digest: Mapping[str, str]) -> str:
    if "sha256" in digest:
        return f"sha256:{digest['sha256']}"
    return ", ".join(f"{k}:{v}" for k, v in sorted(digest.items()))


def string_value(m: Mapping[str, Any]) -> str:
    try:
        return base64.b64decode(m.get("content", "")).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def policy_evaluations(predicate: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    out = []
    for key, items in (predicate.get("policyEvaluations") or {}).items():
        for e in items or []:
            out.append(("" if key == ATTESTATION_KEY else key, e))
    return out


def policy_status(p: Mapping[str, Any]) -> str:
    """Chainloop's canonical summary (reference section 3.7)."""
    count = p.get("policyEvaluationsCount", len(policy_evaluations(p)))
    if not count:
        return "NOT_APPLICABLE"
    has_violations = bool(p.get("policyHasViolations"))
    enforced = bool(p.get("policyHasGatedViolations")) or p.get("policyCheckBlockingStrategy") == "ENFORCED"
    if enforced and p.get("policyBlockBypassEnabled"):
        return "BYPASSED"
    if enforced and has_violations:
        return "BLOCKED"
    if has_violations:
        return "WARNING"
    if p.get("policySkippedCount"):
        return "SKIPPED"
    return "PASSED"
