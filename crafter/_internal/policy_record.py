"""The record of one policy evaluation: what the verifier returns, the state stores and the predicate renders.

The stored form keeps Chainloop's ``PolicyEvaluation`` shape (protojson names, reference section 5.2), plus what
an offline replay needs: the engine, the evaluation time, the digests of the input and of each script
evaluated, and the duration. :meth:`PolicyEvaluation.render` gives the predicate form (reference section 3.5).

Evaluations cross the layers as these frozen models (hooks, the crafting state, parts, ``AddResult`` and
``PushResult``); dicts exist only at the JSON boundary (:meth:`~PolicyEvaluation.to_dict`,
:meth:`~PolicyEvaluation.from_dict`). Until crafter 0.3 an evaluation still answers dict reads (as in crafter 0.1) (``e["name"]``,
``e.get(...)``, ``dict(e)``) with a :class:`DeprecationWarning`, for scripts written when they were dicts.
"""

from __future__ import annotations

import base64
import re
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from crafter._internal.frozen import FrozenDict, frozen_strings, is_lenient, lenient

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_DICT_ACCESS = (
    "policy evaluations are PolicyEvaluation models, not dicts: read attributes (e.name, e.violations) or "
    "e.to_dict(); dict access is deprecated and will be removed in crafter 0.3"
)


def _digest_object(digest: str) -> dict[str, str]:
    alg, _, value = digest.partition(":")
    return {alg: value}


@attrs.frozen
class PolicyReference:
    """Where a policy came from: the reference as written, the URI loaded and the digest of the bytes loaded."""

    name: str
    uri: str = ""  # "" for embedded policies
    digest: str = ""  # "sha256:<hex>" of the raw bytes loaded; "" for embedded policies
    organization: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "annotations": {"name": self.name, "organization": self.organization},
        }
        if self.uri:
            d["uri"] = self.uri
        if self.digest:
            d["digest"] = _digest_object(self.digest)
        return d


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


# Field converters, one per item type: the attrs mypy plugin cannot type one generic converter.
def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _violations(values: Iterable[EvaluatedViolation]) -> tuple[EvaluatedViolation, ...]:
    return tuple(values)


def _blobs(values: Iterable[bytes]) -> tuple[bytes, ...]:
    return tuple(values)


def _check(e: PolicyEvaluation) -> None:
    """What crafter makes is well formed; what is read back (lenient) is checked where it is used."""
    if is_lenient():
        return
    problems = [
        f"{field} must be a non-empty string"
        for field, value in (("name", e.name), ("type", e.type))
        if not isinstance(value, str) or not value
    ]
    digests = [e.input_digest] if e.input_digest else []
    problems += [
        f"digest {d!r} is not sha256: and 64 lowercase hex digits"
        for d in (*digests, *e.source_digests)
        if not isinstance(d, str) or not _DIGEST.fullmatch(d)
    ]
    if not isinstance(e.duration_ms, int) or e.duration_ms < 0:
        problems.append(f"durationMs must be a non-negative integer, got {e.duration_ms!r}")
    if problems:
        raise ValueError(f"policy evaluation {e.name!r}: " + "; ".join(problems))


@attrs.frozen
class PolicyEvaluation:
    """One policy evaluated against a material (``material_name``) or the statement (``type`` ATTESTATION)."""

    name: str
    type: str  # the material kind evaluated, or ATTESTATION
    reference: PolicyReference
    material_name: str = ""
    description: str = ""
    annotations: Mapping[str, str] = attrs.field(factory=FrozenDict, converter=frozen_strings)
    violations: tuple[EvaluatedViolation, ...] = attrs.field(default=(), converter=_violations)
    with_: Mapping[str, str] = attrs.field(factory=FrozenDict, converter=frozen_strings)
    skipped: bool = False
    skip_reasons: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    group_reference: PolicyReference | None = None
    requirements: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    gate: bool = False
    gate_explicit: bool = False  # the attachment (or its group) said gate: true/false; --enforce leaves it
    runtime_input_overrides: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    # crafter additions, for replay and diagnosis
    engine: str = ""
    evaluated_at: str = ""
    input_digest: str = ""  # "sha256:<hex>" of the exact input bytes given to the engine
    source_digests: tuple[str, ...] = attrs.field(default=(), converter=_strings)  # each script evaluated
    sources: tuple[bytes, ...] = attrs.field(
        default=(), converter=_blobs
    )  # embedded, file and https policies
    duration_ms: int = 0
    input_json: bytes = attrs.field(default=b"", eq=False, repr=False)  # not stored; for --show-input
    prints: tuple[str, ...] = attrs.field(default=(), eq=False, converter=_strings)  # not stored; --debug

    def __attrs_post_init__(self) -> None:
        _check(self)

    @property
    def active_violations(self) -> tuple[EvaluatedViolation, ...]:
        return tuple(v for v in self.violations if not v.suppress)

    @property
    def status(self) -> str:
        """``violated``, ``skipped`` or ``passed``: how the predicate counts it."""
        if self.active_violations:
            return "violated"
        return "skipped" if self.skipped else "passed"

    def enforced(self) -> PolicyEvaluation:
        """This evaluation made a gate by ``--enforce``, unless its attachment decided explicitly."""
        return self if self.gate or self.gate_explicit else attrs.evolve(self, gate=True)

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
        """Read a stored evaluation: ours, or Chainloop's (deprecated ``referenceName``/``referenceDigest``).
        Fields crafter does not model (Chainloop's deprecated ``body``) are not kept. What was stored is read
        as it was written (see :func:`~crafter._internal.frozen.lenient`), not refused for crafter's rules."""
        ref = d.get("policyReference") or {}
        group = d.get("groupReference")
        with lenient():
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
                annotations=d.get("annotations") or {},
                violations=tuple(
                    EvaluatedViolation(
                        v.get("subject", ""), v.get("message", ""), bool(v.get("suppress", False))
                    )
                    for v in d.get("violations", [])
                ),
                with_=d.get("with") or {},
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
        out: dict[str, Any] = {
            "name": self.name,
            "policyReference": self.reference.to_dict(),
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

    # -- deprecated: evaluations were dicts in crafter 0.1 -------------------------------------------
    __iter__ = None  # not iterable (a dict iterated its keys): iterating one fails instead of guessing

    def __getitem__(self, key: str) -> Any:
        """Deprecated: the stored form's ``key`` (``e["name"]``); read the attribute, or ``to_dict()``."""
        warnings.warn(_DICT_ACCESS, DeprecationWarning, stacklevel=2)
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        """Deprecated: the stored form's ``key``, or ``default``; read the attribute, or ``to_dict()``."""
        warnings.warn(_DICT_ACCESS, DeprecationWarning, stacklevel=2)
        return self.to_dict().get(key, default)

    def keys(self) -> Iterable[str]:
        """Deprecated: the stored form's keys (so ``dict(e)`` still works); use ``to_dict()``."""
        warnings.warn(_DICT_ACCESS, DeprecationWarning, stacklevel=2)
        return self.to_dict().keys()

    def __contains__(self, key: object) -> bool:
        warnings.warn(_DICT_ACCESS, DeprecationWarning, stacklevel=2)
        return key in self.to_dict()


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
        cls,
        evaluations: Iterable[PolicyEvaluation | Mapping[str, Any]],
        *,
        block_on_violation: bool = False,
        bypass: bool = False,
    ) -> PolicyOutcome:
        """The outcome of evaluations (models; a stored dict is read as one)."""
        return cls(as_evaluations(evaluations), block_on_violation, bypass)

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


def as_evaluation(value: PolicyEvaluation | Mapping[str, Any], *, source: str = "") -> PolicyEvaluation:
    """``value`` as a model: evaluations are models; a stored dict is read as one. A dict from a policy hook
    (``source``) is deprecated and warned about, as hooks did in crafter 0.1."""
    if isinstance(value, PolicyEvaluation):
        return value
    if isinstance(value, Mapping):
        if source:
            warnings.warn(
                f"{source} returned a dict; return PolicyEvaluation models (dicts are accepted until crafter 0.3)",
                DeprecationWarning,
                stacklevel=3,
            )
        evaluation = PolicyEvaluation.from_dict(value)
        if source:
            _check(evaluation)  # a hook's evaluation is made now, so it is held to crafter's rules
        return evaluation
    raise TypeError(f"{source or 'a policy evaluation'} is a {type(value).__name__}, not a PolicyEvaluation")


def as_evaluations(values: Iterable[PolicyEvaluation | Mapping[str, Any]]) -> tuple[PolicyEvaluation, ...]:
    """The converter of model fields holding evaluations: models kept, stored dicts read."""
    return tuple(map(as_evaluation, values))
