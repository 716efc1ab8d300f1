"""The record of one policy evaluation: stored in the state, rendered into the predicate.

The state keeps Chainloop's ``PolicyEvaluation`` shape (protojson names, reference section 5.2), plus what an
offline replay needs: the engine, the evaluation time, the digests of the input and of each script evaluated,
and the duration. :meth:`PolicyEvaluation.render` gives the predicate form (reference section 3.5).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from crafter._internal.policies.spec import PolicyReference


def _digest_object(digest: str) -> dict[str, str]:
    alg, _, value = digest.partition(":")
    return {alg: value}


@attrs.frozen
class EvaluatedViolation:
    subject: str
    message: str
    suppress: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"subject": self.subject, "message": self.message}
        if self.suppress:
            d["suppress"] = True
        return d


@attrs.frozen
class PolicyEvaluation:
    name: str
    type: str  # the material kind evaluated, or ATTESTATION
    reference: PolicyReference
    material_name: str = ""
    description: str = ""
    annotations: Mapping[str, str] = attrs.field(factory=dict)
    violations: tuple[EvaluatedViolation, ...] = ()
    with_: Mapping[str, str] = attrs.field(factory=dict)
    skipped: bool = False
    skip_reasons: tuple[str, ...] = ()
    group_reference: PolicyReference | None = None
    requirements: tuple[str, ...] = ()
    gate: bool = False
    gate_explicit: bool = False  # the attachment (or its group) said gate: true/false; --enforce leaves it
    runtime_input_overrides: tuple[str, ...] = ()
    # crafter additions, for replay and diagnosis
    engine: str = ""
    evaluated_at: str = ""
    input_digest: str = ""  # "sha256:<hex>" of the exact input bytes given to the engine
    source_digests: tuple[str, ...] = ()  # "sha256:<hex>" of each script evaluated (after preparation)
    sources: tuple[bytes, ...] = ()  # the scripts, kept for embedded, file and https policies
    duration_ms: int = 0
    input_json: bytes = attrs.field(default=b"", eq=False, repr=False)  # not stored; for --show-input
    prints: tuple[str, ...] = attrs.field(default=(), eq=False)  # not stored; shown with --debug

    @property
    def active_violations(self) -> tuple[EvaluatedViolation, ...]:
        return tuple(v for v in self.violations if not v.suppress)

    @property
    def status(self) -> str:
        """``violated``, ``skipped`` or ``passed``: how the predicate counts it."""
        if self.active_violations:
            return "violated"
        return "skipped" if self.skipped else "passed"

    # -- state (Chainloop's stored shape plus ours) ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        ref: dict[str, Any] = {"name": self.reference.name}
        if self.reference.digest:
            ref["digest"] = self.reference.digest
        if self.reference.uri:
            ref["uri"] = self.reference.uri
        if self.reference.organization:
            ref["orgName"] = self.reference.organization
        d: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "policyReference": ref,
            "skipped": self.skipped,
        }
        optional: dict[str, Any] = {
            "materialName": self.material_name,
            "description": self.description,
            "annotations": dict(self.annotations),
            "violations": [v.to_dict() for v in self.violations],
            "with": dict(self.with_),
            "skipReasons": list(self.skip_reasons),
            "requirements": list(self.requirements),
            "runtimeInputOverrides": list(self.runtime_input_overrides),
            "engine": self.engine,
            "evaluatedAt": self.evaluated_at,
            "inputDigest": self.input_digest,
            "sourceDigests": list(self.source_digests),
            "sources": [base64.b64encode(s).decode() for s in self.sources],
            "durationMs": self.duration_ms,
        }
        d.update({k: v for k, v in optional.items() if v})
        if self.group_reference is not None:
            g = self.group_reference
            d["groupReference"] = {
                k: v for k, v in (("name", g.name), ("digest", g.digest), ("uri", g.uri)) if v
            }
        if self.gate:
            d["gate"] = True
        if self.gate_explicit:
            d["gateExplicit"] = True
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PolicyEvaluation:
        """Read a stored evaluation: ours, or Chainloop's (deprecated ``referenceName``/``referenceDigest``)."""
        ref = d.get("policyReference") or {}
        group = d.get("groupReference")
        return cls(
            name=d.get("name", ""),
            type=str(d.get("type", "")),
            reference=PolicyReference(
                name=ref.get("name", d.get("name", "")),
                uri=ref.get("uri", d.get("referenceName", "")),
                digest=ref.get("digest", d.get("referenceDigest", "")),
                organization=ref.get("orgName", ""),
            ),
            material_name=d.get("materialName", ""),
            description=d.get("description", ""),
            annotations=dict(d.get("annotations", {})),
            violations=tuple(
                EvaluatedViolation(v.get("subject", ""), v.get("message", ""), bool(v.get("suppress", False)))
                for v in d.get("violations", [])
            ),
            with_=dict(d.get("with", {})),
            skipped=bool(d.get("skipped", False)),
            skip_reasons=tuple(d.get("skipReasons", [])),
            group_reference=PolicyReference(
                name=group.get("name", ""), uri=group.get("uri", ""), digest=group.get("digest", "")
            )
            if group
            else None,
            requirements=tuple(d.get("requirements", [])),
            gate=bool(d.get("gate", False)),
            gate_explicit=bool(d.get("gateExplicit", False)),
            runtime_input_overrides=tuple(d.get("runtimeInputOverrides", [])),
            engine=d.get("engine", ""),
            evaluated_at=d.get("evaluatedAt", ""),
            input_digest=d.get("inputDigest", ""),
            source_digests=tuple(d.get("sourceDigests", [])),
            sources=tuple(base64.b64decode(s) for s in d.get("sources", [])),
            duration_ms=int(d.get("durationMs", 0)),
        )

    # -- predicate --------------------------------------------------------------------------------------
    def render(self) -> dict[str, Any]:
        """The predicate form (reference section 3.5); suppressed violations are left out, as Chainloop does."""
        ref: dict[str, Any] = {
            "name": self.reference.name,
            "annotations": {"name": self.reference.name, "organization": self.reference.organization},
        }
        if self.reference.uri:
            ref["uri"] = self.reference.uri
        if self.reference.digest:
            ref["digest"] = _digest_object(self.reference.digest)
        out: dict[str, Any] = {
            "name": self.name,
            "policyReference": ref,
            "type": self.type,
            "skipped": self.skipped,
        }
        optional: dict[str, Any] = {
            "materialName": self.material_name,
            "description": self.description,
            "annotations": dict(self.annotations),
            "violations": [{"subject": v.subject, "message": v.message} for v in self.active_violations],
            "with": dict(self.with_),
            "skipReasons": list(self.skip_reasons),
            "requirements": list(self.requirements),
            "sources": [base64.b64encode(s).decode() for s in self.sources],
            "engine": self.engine,
            "evaluatedAt": self.evaluated_at,
            "inputDigest": _digest_object(self.input_digest) if self.input_digest else {},
            "sourceDigests": list(self.source_digests),
            "durationMs": self.duration_ms,
        }
        out.update({k: v for k, v in optional.items() if v})
        if self.group_reference is not None:
            g = self.group_reference
            group: dict[str, Any] = {"name": g.name}
            if g.uri:
                group["uri"] = g.uri
            if g.digest:
                group["digest"] = _digest_object(g.digest)
            out["groupReference"] = group
        if self.gate:
            out["gate"] = True
        return out


def enforce_gate(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored evaluation made a gate by --enforce, unless its attachment decided explicitly."""
    out = dict(stored)
    if not out.get("gateExplicit"):
        out["gate"] = True
    return out


@attrs.frozen
class PolicyOutcome:
    """What a set of stored evaluations means for the release: the one rule behind the predicate's
    ``policyAttBlocked`` and push's policy gate (exit code 4), so the two can never disagree.

    A policy blocks when it has violations that are not suppressed and it is a gate, or the attestation's
    strategy is ENFORCED (``block_on_violation``); the release is blocked when one does and the check is not
    bypassed."""

    evaluations: tuple[PolicyEvaluation, ...]
    block_on_violation: bool = False
    bypass: bool = False

    @classmethod
    def of(
        cls, stored: Iterable[Mapping[str, Any]], *, block_on_violation: bool = False, bypass: bool = False
    ) -> PolicyOutcome:
        """The outcome of stored evaluations (dicts, as the state and the predicate hold them)."""
        return cls(tuple(map(PolicyEvaluation.from_dict, stored)), block_on_violation, bypass)

    @property
    def gate_failures(self) -> tuple[str, ...]:
        """Names of the policies that block, each once, in evaluation order."""
        names = (
            e.name for e in self.evaluations if e.status == "violated" and (e.gate or self.block_on_violation)
        )
        return tuple(dict.fromkeys(names))

    @property
    def blocked(self) -> bool:
        return not self.bypass and bool(self.gate_failures)
