"""A :class:`~crafter._internal.report.model.Report` from a :class:`~crafter.verify.VerifyResult`, or from the error
verification stopped with (the bundle's contents are then shown as claimed, not attested).

The statement of a failed bundle is not validated, so every read here is defensive: a value of an unexpected
type is shown as JSON text, never trusted to be a string, list or object.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crafter._internal.report.model import (
    Chainloop,
    Check,
    Evaluation,
    Field,
    Material,
    PolicySummary,
    Replay,
    Report,
    Subject,
    Violation,
)
from crafter._version import __version__

if TYPE_CHECKING:
    from crafter._internal.verify import VerifyResult
    from crafter.errors import CrafterError

CHAINLOOP_PREDICATE = "chainloop.dev/attestation/v0.2"
ATTESTATION_KEY = "CHAINLOOP.ATTESTATION"
_MATERIAL_NAME, _MATERIAL_TYPE, _MATERIAL_SIZE = (
    "chainloop.material.name",
    "chainloop.material.type",
    "chainloop.material.size",
)
_WORKFLOW_KEYS = (
    ("workflow", "workflowName"),
    ("project", "project"),
    ("version", "projectVersion"),
    ("prerelease", "projectVersionPrerelease"),
    ("contract", "contractName"),
    ("contract version", "contractVersion"),
    ("run", "workflowRunID"),
    ("team", "team"),
    ("organization", "organization"),
    ("initialized at", "initializedAt"),
    ("finished at", "finishedAt"),
)


def build_report(
    result: VerifyResult, *, contract_checked: bool = False, now: datetime | None = None
) -> Report:
    """The report of a bundle whose signature verified; the later checks (materials, contract, replay) may
    have failed: the report then leads with the failure. ``contract_checked``: a contract was given (the
    result records only a contract's problem, not that one was checked)."""
    error = result.failure()
    statement = result.statement
    notes = [*result.signer.notes]
    notes += [
        f"not replayed: {r.name} on {r.material or 'the attestation'}: {r.detail}"
        for r in result.not_replayed
    ]
    if any(not t.verified for t in result.timestamps):
        notes.append("the bundle's RFC 3161 timestamps were not verified (--timestamp-certificate-chain)")
    return Report(
        bundle=str(result.path),
        generated_at=_now(now),
        tool=f"crafter {__version__}",
        verified=error is None,
        exit_code=0 if error is None else int(error.exit_code),
        failure=error.message if error is not None else "",
        hint=(error.hint or "") if error is not None else "",
        kind=result.kind_label,
        predicate_type=result.predicate_type,
        payload_digest=result.payload_digest,
        checks=_checks(result, contract_checked),
        signer=_signer(result),
        times=_times(result),
        subjects=tuple(Subject(text(s["name"]), text(s["digest"])) for s in result.subjects),
        replay=tuple(Replay(r.name, r.material, r.status, r.detail) for r in result.replay),
        notes=tuple(notes),
        chainloop=chainloop_sections(statement) if result.is_chainloop else None,
    )


def failure_report(bundle: str, error: CrafterError, *, now: datetime | None = None) -> Report:
    """The report of a bundle that did not verify. With the error's result (material, contract or replay
    failures, a refused certificate) it is :func:`build_report`'s; else (a bad signature, an untrusted
    certificate, a malformed bundle, a message signature over another file) the failure, then whatever
    statement the bundle claims, marked as not attested."""
    from crafter._internal.verify import VerifyResult

    if isinstance(error.result, VerifyResult):
        return build_report(error.result, now=now)
    from crafter.errors import DigestMismatchError

    statement = claimed_statement(bundle)
    failed = "artifact" if isinstance(error, DigestMismatchError) else "signature"
    checks = (Check(failed, "failed", error.message),)
    subjects = tuple(
        Subject(text(s.get("name", "")), _digest(s.get("digest")))
        for s in _list(statement.get("subject"))
        if isinstance(s, Mapping)
    )
    return Report(
        bundle=bundle,
        generated_at=_now(now),
        tool=f"crafter {__version__}",
        verified=False,
        exit_code=int(error.exit_code),
        failure=error.message,
        hint=error.hint or "",
        attested=False,
        predicate_type=text(statement.get("predicateType", "")),
        checks=checks,
        subjects=subjects,
        chainloop=chainloop_sections(statement)
        if statement.get("predicateType") == CHAINLOOP_PREDICATE
        else None,
    )


def claimed_statement(bundle: str) -> Mapping[str, Any]:
    """The statement a bundle file carries, read without verifying anything; ``{}`` when there is none (an
    ``oci://`` reference, a message signature, a file that is not a bundle, a payload that is not JSON)."""
    from crafter._internal.files import read_small_file
    from crafter._internal.signing.bundle import MAX_BUNDLE_BYTES
    from crafter.errors import CrafterError

    if "://" in bundle:  # a registry or a plugin store: what it holds was never fetched
        return {}
    try:
        doc = json.loads(read_small_file(Path(bundle), what="bundle", limit=MAX_BUNDLE_BYTES))
        envelope = doc.get("dsseEnvelope", doc) if isinstance(doc, dict) else {}
        payload = (
            base64.b64decode(envelope.get("payload", ""), validate=True)
            if isinstance(envelope, dict)
            else b""
        )
        statement = json.loads(payload) if payload else {}
    except (CrafterError, OSError, ValueError, binascii.Error, RecursionError, AttributeError, TypeError):
        return {}
    return statement if isinstance(statement, dict) else {}


def chainloop_sections(statement: Mapping[str, Any]) -> Chainloop:
    """Workflow, materials, policies, runner, git and annotations of a Chainloop statement."""
    predicate = _map(statement.get("predicate"))
    metadata = _map(predicate.get("metadata"))
    workflow = [(label, text(metadata[key])) for label, key in _WORKFLOW_KEYS if _present(metadata.get(key))]
    builder = _map(predicate.get("builder")).get("id")
    if _present(builder):
        workflow.append(("builder", text(builder)))
    if predicate.get("dryRun") is True:
        workflow.append(("dry run", "yes: the runner check was skipped"))
    summary = _policy_summary(predicate)
    runner = [
        (label, text(predicate[key]))
        for label, key in (("type", "runnerType"), ("URL", "runnerURL"), ("environment", "runnerEnvironment"))
        if _present(predicate.get(key))
    ]
    return Chainloop(
        workflow=tuple(workflow),
        materials=tuple(_material(m) for m in _list(predicate.get("materials")) if isinstance(m, Mapping)),
        policy=summary,
        evaluations=_evaluations(predicate, summary.strategy),
        runner=tuple(runner),
        env=_fields(predicate.get("env")),
        git=_git(statement),
        annotations=_fields(predicate.get("annotations")),
    )


def text(value: Any) -> str:
    """A value as text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def _checks(result: VerifyResult, contract_checked: bool) -> tuple[Check, ...]:
    signer = result.signer
    if signer.kind == "key":
        who = f"public key (key id {signer.keyid_hint})" if signer.keyid_hint else "public key"
    else:
        who = f"certificate of {signer.identity} (issuer {signer.issuer})"
    checks = [Check("signature", "passed", f"valid, {who}")]
    if signer.certificate_file:
        checks.append(
            Check(
                "certificate",
                "failed" if result.certificate_problem else "passed",
                result.certificate_problem,
            )
        )
    if signer.trust_root:
        sct = f"; SCT {signer.sct}" if signer.sct else ""
        checks.append(
            Check("trust", "passed", f"{signer.trust_root}; {signer.tlog_entries} log entries verified{sct}")
        )
    for stamp in result.timestamps:
        checks.append(
            Check(
                "timestamp",
                "passed" if stamp.verified else "warning",
                f"{stamp.describe()}" + ("" if stamp.verified else " (not verified)"),
            )
        )
    if result.content == "dsse":
        checks.append(Check("statement", "passed", f"in-toto statement, predicate {result.predicate_type}"))
    else:
        checks.append(Check("artifact", "passed", f"{result.artifact} ({result.payload_digest})"))
    if result.material_checks and result.content == "dsse":
        for c in result.material_checks:
            label = f"material {c.file}" + (" (content store)" if c.source == "cas" else "")
            checks.append(
                Check(
                    label, "failed" if c.problem else "passed", c.problem or f"{c.digest} matches {c.matched}"
                )
            )
    elif result.content == "dsse":
        checks.append(Check("materials", "not run", "no --material file or digest given"))
    if result.is_chainloop:
        if result.contract_problem:
            checks.append(Check("contract", "failed", result.contract_problem))
        elif contract_checked:
            checks.append(Check("contract", "passed", "every required material is present"))
        else:
            checks.append(Check("contract", "not run", "no --contract given"))
        if result.replayed:
            same = sum(1 for r in result.replay if r.status == "same")
            detail = f"{same} same, {len(result.differences)} differ, {len(result.not_replayed)} not replayed"
            checks.append(Check("replay", "failed" if result.differences else "passed", detail))
        else:
            checks.append(Check("replay", "not run", "no --replay given"))
    return tuple(checks)


def _signer(result: VerifyResult) -> tuple[Field, ...]:
    s = result.signer
    rows: list[Field] = []
    if s.kind == "key":
        rows.append(("signed with", "a public key"))
        rows.append(("key id", s.keyid_hint or "(none in the bundle)"))
    else:
        rows.append(("signed with", "a certificate (keyless)" if not s.certificate_file else "a certificate"))
    if s.certificate_file:
        rows.append(("certificate file", s.certificate_file))
    for label, value in (("identity", s.identity), ("issuer", s.issuer)):
        if value:
            rows.append((label, value))
    if s.not_before or s.not_after:
        rows.append(("certificate valid", f"{s.not_before} to {s.not_after}"))
    if s.trust_root:
        rows.append(("trust root", s.trust_root))
    if s.chain:
        rows.append(("chain", " <- ".join(s.chain)))
    if s.trust_root:
        rows.append(("transparency log", f"{s.tlog_entries} entries verified"))
    if s.sct:
        rows.append(("certificate transparency", s.sct))
    return tuple(rows)


def _times(result: VerifyResult) -> tuple[Field, ...]:
    rows: list[Field] = [("verified time of signing", t) for t in result.signer.signed_at]
    rows += [
        ("RFC 3161 timestamp", f"{t.describe()} ({'verified' if t.verified else 'NOT verified'})")
        for t in result.timestamps
    ]
    return tuple(rows)


def _material(m: Mapping[str, Any]) -> Material:
    annotations = _map(m.get("annotations"))
    value = m.get("name")
    if not _present(value):
        value = _string_value(m.get("content"))
    others = tuple(
        (str(k), text(v))
        for k, v in sorted(annotations.items(), key=lambda kv: str(kv[0]))
        if k not in (_MATERIAL_NAME, _MATERIAL_TYPE, _MATERIAL_SIZE)
    )
    return Material(
        name=text(annotations.get(_MATERIAL_NAME, "")),
        kind=text(annotations.get(_MATERIAL_TYPE, "")),
        value=text(value or ""),
        digest=_digest(m.get("digest")),
        size=text(annotations.get(_MATERIAL_SIZE, "")),
        annotations=others,
    )


def _policy_summary(p: Mapping[str, Any]) -> PolicySummary:
    evaluations = [e for _, e in _raw_evaluations(p)]
    violated = sum(1 for e in evaluations if e.get("violations"))
    skipped = sum(1 for e in evaluations if not e.get("violations") and e.get("skipped"))
    return PolicySummary(
        status=_policy_status(p, len(evaluations)),
        strategy=text(p.get("policyCheckBlockingStrategy") or "ADVISORY"),
        evaluations=_int(p.get("policyEvaluationsCount"), len(evaluations)),
        violations=_int(p.get("policyViolationsCount"), violated),
        skipped=_int(p.get("policySkippedCount"), skipped),
        passed=_int(p.get("policyPassedCount"), len(evaluations) - violated - skipped),
        blocked=p.get("policyAttBlocked") is True,
    )


def _policy_status(p: Mapping[str, Any], evaluations: int) -> str:
    """Chainloop's summary, as :func:`crafter._internal.verify.statement.policy_status` (which expects a validated
    predicate) computes it."""
    if not _int(p.get("policyEvaluationsCount"), evaluations):
        return "NOT_APPLICABLE"
    enforced = p.get("policyHasGatedViolations") is True or p.get("policyCheckBlockingStrategy") == "ENFORCED"
    if enforced and p.get("policyBlockBypassEnabled") is True:
        return "BYPASSED"
    if p.get("policyHasViolations") is True:
        return "BLOCKED" if enforced else "WARNING"
    return "SKIPPED" if p.get("policySkippedCount") else "PASSED"


def _raw_evaluations(p: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    out = []
    for key, items in _map(p.get("policyEvaluations")).items():
        for e in _list(items):
            if isinstance(e, Mapping):
                out.append(("" if key == ATTESTATION_KEY else str(key), e))
    return out


def _evaluations(p: Mapping[str, Any], strategy: str) -> tuple[Evaluation, ...]:
    out = []
    for material, e in _raw_evaluations(p):
        violations = tuple(
            Violation(text(v.get("subject", "")), text(v.get("message", "")))
            if isinstance(v, Mapping)
            else Violation("", text(v))
            for v in _list(e.get("violations"))
        )
        status = "violated" if violations else "skipped" if e.get("skipped") is True else "passed"
        gated = e.get("gate") is True or strategy == "ENFORCED"
        ref = _map(e.get("policyReference"))
        uri = text(ref.get("uri", "")) if ref.get("uri") else ""
        digest = _digest(ref.get("digest")) if ref.get("digest") else ""
        out.append(
            Evaluation(
                policy=text(e.get("name", "")),
                material=material,
                status=status,
                gate=("failed" if violations else "held") if gated else "",
                reference=" ".join(x for x in (uri, digest) if x),
                description=text(e.get("description", "")),
                violations=violations,
                skip_reasons=tuple(text(r) for r in _list(e.get("skipReasons"))),
            )
        )
    return tuple(out)


def _git(statement: Mapping[str, Any]) -> tuple[Field, ...]:
    for s in _list(statement.get("subject")):
        if isinstance(s, Mapping) and s.get("name") == "git.head":
            rows: list[Field] = [("commit", _digest(s.get("digest")))]
            for key, value in sorted(_map(s.get("annotations")).items(), key=lambda kv: str(kv[0])):
                if key == "remotes" and isinstance(value, list):
                    rendered = ", ".join(
                        f"{text(r.get('name', ''))} {text(r.get('url', ''))}".strip()
                        if isinstance(r, Mapping)
                        else text(r)
                        for r in value
                    )
                    rows.append(("remotes", rendered))
                else:
                    rows.append((str(key), text(value)))
            return tuple(rows)
    return ()


def _fields(value: Any) -> tuple[Field, ...]:
    return tuple((str(k), text(v)) for k, v in sorted(_map(value).items(), key=lambda kv: str(kv[0])))


def _digest(value: Any) -> str:
    if not isinstance(value, Mapping):
        return text(value) if value else ""
    if "sha256" in value:
        return f"sha256:{text(value['sha256'])}"
    return ", ".join(f"{k}:{text(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))


def _string_value(content: Any) -> str:
    if not isinstance(content, str):
        return ""
    try:
        return base64.b64decode(content).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _present(value: Any) -> bool:
    return value not in (None, "")


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
