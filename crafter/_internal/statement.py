"""Rendering the in-toto Statement v1 with the ``chainloop.dev/attestation/v0.2`` predicate.

The statement is built as plain JSON data (never through protobuf, which turns integers into floats) and
serialised exactly once, by :func:`serialize`; those bytes are what is signed, stored and verified.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from crafter._internal.crafting_state import CraftingState
from crafter._internal.descriptors import digest_parts, material_annotations, material_descriptor
from crafter._internal.materials import interface as ann
from crafter._internal.policy_record import PolicyEvaluation, PolicyOutcome
from crafter._version import __version__
from crafter.errors import CrafterError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "chainloop.dev/attestation/v0.2"
BUILD_TYPE = "chainloop.dev/workflowrun/v0.1"
#: The builder id names this tool as a package URL, so it is unambiguous and resolvable.
BUILDER_ID = f"pkg:pypi/crafter-attest@{__version__}"
ATTESTATION_EVALUATIONS_KEY = "CHAINLOOP.ATTESTATION"

_BUILTIN = (ann.ANN_TYPE, ann.ANN_NAME)


def serialize(statement: Mapping[str, Any]) -> bytes:
    """The one serialisation of a statement: compact JSON, keys sorted, UTF-8.

    Not RFC 8785: JCS refuses integers above 2^53 (nanosecond times are common in predicates).
    """
    return json.dumps(statement, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def validate(payload: bytes) -> None:
    """Check the serialised statement with in-toto's own validation before it is signed (as Chainloop does).

    The bytes are parsed into in-toto-attestation's protobuf Statement (field names and types checked by the
    strict JSON mapping), then its ``validate()`` runs (type, subjects with digests, predicate type and
    object). Only validation goes through protobuf: the signed bytes stay ours, since protobuf would turn
    integers into floats.
    """
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    try:
        Statement.copy_from_pb(json_format.Parse(payload, statement_pb2.Statement())).validate()
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise CrafterError(
            f"the rendered statement is not a valid in-toto Statement v1: {exc}",
            hint="this is a bug in crafter; please report it with the output of --debug",
        ) from exc


def _run_subject(state: CraftingState) -> dict[str, Any]:
    # Chainloop hashes Go's encoding of its state struct (not reproducible outside Go). Ours: the SHA-256 of
    # the compact, key-sorted JSON of the attestation record without its policy results: deterministic, unique
    # per run, and the same in the statement attestation policies see (so `verify --replay` can rebuild it).
    doc = state.attestation.to_dict()
    doc.pop("policyEvaluations", None)
    record = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    return {
        "name": f"chainloop.workflow.{state.attestation.workflow.name}",
        "digest": {"sha256": hashlib.sha256(record).hexdigest()},
    }


def subjects(state: CraftingState) -> list[dict[str, Any]]:
    """Run identifier, git HEAD, then every ``output`` material with a digest, sorted by name."""
    from crafter._internal.runners.head import head_subject

    out = [_run_subject(state)]
    if state.attestation.head is not None:
        out.append(head_subject(state.attestation.head))
    materials = state.attestation.materials
    for name in sorted(materials):
        m = materials[name]
        if m.is_subject and m.digest:
            alg, value = digest_parts(m.digest)
            out.append(
                {
                    "name": m.image.name if m.image else (m.filename or m.name),
                    "digest": {alg: value},
                    "annotations": material_annotations(m),
                }
            )
    return out


def _metadata(state: CraftingState) -> dict[str, Any]:
    a = state.attestation
    w = a.workflow
    return {
        "contractName": w.contract_name,
        "contractVersion": w.schema_revision,
        "finishedAt": a.finished_at,
        "initializedAt": a.initialized_at,
        "name": w.name,
        "organization": w.organization,
        "project": w.project,
        "projectVersion": w.version,
        "projectVersionPrerelease": w.prerelease,
        "team": w.team,
        "workflowID": w.workflow_id,
        "workflowName": w.name,
        "workflowRunID": w.workflow_run_id,
    }


def policy_fields(
    evaluations: Sequence[PolicyEvaluation], *, block_on_violation: bool, bypass: bool
) -> dict[str, Any]:
    """The policy summary of the predicate (reference sections 3.3, 3.5 and policies 5.4).

    One evaluation with at least one violation that is not
    suppressed counts as violated, else as skipped when skipped, else as passed; suppressed violations are
    counted apart and left out of the rendered evaluations.
    """
    outcome = PolicyOutcome.of(evaluations, block_on_violation=block_on_violation, bypass=bypass)
    grouped: dict[str, list[dict[str, Any]]] = {}
    counts = {"violated": 0, "skipped": 0, "passed": 0}
    suppressed = 0
    gated_violation = has_gates = False
    for ev in outcome.evaluations:
        grouped.setdefault(ev.material_name or ATTESTATION_EVALUATIONS_KEY, []).append(ev.render())
        counts[ev.status] += 1
        suppressed += sum(1 for v in ev.violations if v.suppress)
        has_gates = has_gates or ev.gate
        gated_violation = gated_violation or (ev.gate and ev.status == "violated")
    violated = counts["violated"]
    out: dict[str, Any] = {
        "policyAttBlocked": outcome.blocked,
        "policyBlockBypassEnabled": bypass,
        "policyCheckBlockingStrategy": "ENFORCED" if block_on_violation else "ADVISORY",
        "policyEvaluationsCount": len(evaluations),
        "policyHasViolations": violated > 0,
        "policyViolationsCount": violated,
    }
    if grouped:
        out["policyEvaluations"] = grouped
    if counts["skipped"]:
        out["policySkippedCount"] = counts["skipped"]
    if counts["passed"]:
        out["policyPassedCount"] = counts["passed"]
    if suppressed:
        out["policySuppressedCount"] = suppressed
    if gated_violation:
        out["policyHasGatedViolations"] = True
    if has_gates or block_on_violation:
        out["policyHasGates"] = True
    return out


def predicate(state: CraftingState, evaluations: Sequence[PolicyEvaluation] | None = None) -> dict[str, Any]:
    a = state.attestation
    p: dict[str, Any] = {
        "buildType": BUILD_TYPE,
        "builder": {"id": BUILDER_ID},
        "metadata": _metadata(state),
        "runnerType": a.runner_type,
    }
    if a.env_vars:
        p["env"] = dict(a.env_vars)
    if a.runner_url:
        p["runnerURL"] = a.runner_url
    if a.runner_environment:
        p["runnerEnvironment"] = a.runner_environment
    if a.annotations:
        p["annotations"] = dict(a.annotations)
    if a.materials:
        p["materials"] = [material_descriptor(a.materials[n]) for n in sorted(a.materials)]
    if state.dry_run:
        p["dryRun"] = True  # crafter addition: made outside the contract's runner (init --dry-run)
    stored = a.policy_evaluations if evaluations is None else evaluations
    p.update(
        policy_fields(stored, block_on_violation=a.block_on_policy_violation, bypass=a.bypass_policy_check)
    )
    return p


def without_policy_fields(statement: Mapping[str, Any]) -> dict[str, Any]:
    """The statement without the predicate's policy results and counters (every ``policy*`` key).

    This is what attestation-level policies evaluate, at init and at push: a statement that does not depend
    on other policies' results, which ``crafter verify --replay`` can rebuild byte for byte from the bundle.
    """
    out = dict(statement)
    out["predicate"] = {k: v for k, v in statement["predicate"].items() if not k.startswith("policy")}
    return out


@attrs.frozen
class SignedStatement:
    """A statement and the exact bytes that are signed: serialised once (:func:`serialize`) and checked by
    in-toto's validation (:func:`validate`) when made with :meth:`of`, so what is signed, hashed, stored and
    reported is one thing."""

    statement: Mapping[str, Any]
    payload: bytes = attrs.field(repr=False)

    @classmethod
    def of(cls, statement: Mapping[str, Any]) -> SignedStatement:
        payload = serialize(statement)
        validate(payload)
        return cls(statement, payload)

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the payload: the statement's digest as bundles and stores name it."""
        return "sha256:" + hashlib.sha256(self.payload).hexdigest()


def render(state: CraftingState, evaluations: Sequence[PolicyEvaluation] | None = None) -> dict[str, Any]:
    """The in-toto Statement v1 for ``state``, with its policy evaluations (or ``evaluations``) embedded."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects(state),
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate(state, evaluations),
    }
