"""The signed statement: parsed and checked against ``schemas/statement.schema.json`` (what older Chainloop
predicates lack accepted), and the fields the summary and the replay read from it."""

from __future__ import annotations

import base64
import binascii
import json
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


def parse_statement(payload: bytes, path: Path) -> dict[str, Any]:
    import jsonschema

    from crafter.schema_check import _validator

    try:
        statement = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SignatureError(f"{path}: the signed payload is not JSON ({exc})") from exc
    if not isinstance(statement, dict):
        raise SignatureError(f"{path}: the signed payload is not a JSON object")
    errors = sorted(
        (e for e in _validator("statement.schema.json").iter_errors(statement) if not _historic(e)),
        key=lambda e: list(e.path),
    )
    if errors:
        err: jsonschema.ValidationError = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise SignatureError(
            f"{path}: the signed statement is not a valid {statement.get('predicateType', 'in-toto')} "
            f"statement: at {where}: {err.message}"
        )
    return statement


def workflow_name(statement: Mapping[str, Any]) -> str:
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
