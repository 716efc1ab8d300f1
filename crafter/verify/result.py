"""The outcome of a verification: who signed, the material checks, the replay outcomes, and the summary
(subjects, materials, policy status) the CLI shows as a table or JSON. :meth:`VerifyResult.check` raises what
was found."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from crafter.errors import DigestMismatchError, ReplayDifferenceError, SignatureError
from crafter.verify.statement import (
    ATTESTATION_KEY,
    digest_text,
    policy_evaluations,
    policy_status,
    string_value,
    workflow_name,
)

if TYPE_CHECKING:
    from crafter.signing.timestamp import TimestampInfo


@attrs.frozen
class SignerInfo:
    """Who signed: ``key`` (the public key given) or ``certificate`` (keyless; identity from the cert)."""

    kind: str
    keyid_hint: str = ""
    identity: str = ""
    issuer: str = ""
    not_before: str = ""
    not_after: str = ""
    notes: tuple[str, ...] = ()
    certificate_file: str = ""  # the certificate given with --certificate, "" otherwise
    expired: bool = False  # that certificate's validity ended before now
    # keyless bundles: what was checked (see crafter.verify.keyless)
    trust_root: str = ""  # where the trust root came from
    chain: tuple[str, ...] = ()  # the certificate's issuers, the trust anchor last
    signed_at: tuple[str, ...] = ()  # verified times of signing and their sources
    tlog_entries: int = 0  # transparency-log entries verified
    sct: str = ""  # the certificate-transparency check made

    def to_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["notes"] = list(self.notes)
        return {k: v for k, v in d.items() if v}


@attrs.frozen
class MaterialCheck:
    file: str
    digest: str  # "sha256:<hex>" of the file
    matched: str = ""  # the material or subject it matched, "" when it matched none
    problem: str = ""  # "" when it matched
    source: str = ""  # "" for a --material file, "cas" for bytes fetched from the content store


@attrs.frozen
class ReplayOutcome:
    """One embedded evaluation replayed: ``same``, ``differs`` or ``not-replayed`` (with the reason)."""

    name: str
    material: str  # "" for attestation-level evaluations
    status: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {"policy": self.name, "material": self.material or ATTESTATION_KEY, "status": self.status}
        if self.detail:
            d["detail"] = self.detail
        return d


@attrs.frozen
class VerifyResult:
    path: Path | str  # the bundle file, or the oci:// reference it was fetched from
    payload_type: str
    payload_digest: str
    statement: Mapping[str, Any]
    signer: SignerInfo
    material_checks: tuple[MaterialCheck, ...] = ()
    replay: tuple[ReplayOutcome, ...] = ()
    replayed: bool = False
    kind: str = "sigstore-bundle"  # what the file was: "sigstore-bundle" or "dsse-envelope"
    certificate_problem: str = ""  # the --certificate expired and that was not allowed
    # RFC 3161 timestamps over the signature of a key-signed bundle, verified or not (keyless: signer.signed_at)
    timestamps: tuple[TimestampInfo, ...] = ()

    @property
    def kind_label(self) -> str:
        return "DSSE envelope" if self.kind == "dsse-envelope" else "Sigstore bundle"

    @property
    def subjects(self) -> list[dict[str, Any]]:
        return [
            {"name": s.get("name", ""), "digest": digest_text(s.get("digest", {}))}
            for s in self.statement.get("subject", [])
        ]

    @property
    def materials(self) -> list[dict[str, Any]]:
        out = []
        for m in self.statement["predicate"].get("materials", []):
            ann = m.get("annotations", {})
            out.append(
                {
                    "name": ann.get("chainloop.material.name", ""),
                    "type": ann.get("chainloop.material.type", ""),
                    "value": m.get("name") or string_value(m),
                    "digest": digest_text(m.get("digest", {})),
                }
            )
        return out

    @property
    def policy(self) -> dict[str, Any]:
        p = self.statement["predicate"]
        evaluations = policy_evaluations(p)
        violated = sum(1 for _, e in evaluations if e.get("violations"))
        skipped = sum(1 for _, e in evaluations if not e.get("violations") and e.get("skipped"))
        return {
            "status": policy_status(p),
            "evaluations": p.get("policyEvaluationsCount", len(evaluations)),
            "violations": p.get("policyViolationsCount", violated),
            "skipped": p.get("policySkippedCount", skipped),
            "passed": p.get("policyPassedCount", len(evaluations) - violated - skipped),
            "strategy": p.get("policyCheckBlockingStrategy", ""),
            "blocked": bool(p.get("policyAttBlocked", False)),
        }

    @property
    def mismatches(self) -> tuple[MaterialCheck, ...]:
        return tuple(c for c in self.material_checks if c.problem)

    @property
    def differences(self) -> tuple[ReplayOutcome, ...]:
        return tuple(r for r in self.replay if r.status == "differs")

    @property
    def not_replayed(self) -> tuple[ReplayOutcome, ...]:
        return tuple(r for r in self.replay if r.status == "not-replayed")

    def check(self) -> None:
        """Raise :class:`SignatureError` for a refused certificate (first), :class:`DigestMismatchError` or
        :class:`ReplayDifferenceError` for what was found."""
        if self.certificate_problem:
            raise SignatureError(
                self.certificate_problem,
                hint="a certificate that expired after signing (short-lived signing certificates do) is "
                "accepted with --allow-expired-certificate",
            )
        if self.mismatches:
            from_cas = any(c.source == "cas" for c in self.mismatches)
            raise DigestMismatchError(
                "; ".join(c.problem for c in self.mismatches),
                hint="the content store holds other bytes than the ones this attestation records"
                if from_cas
                else "the files given with --material are not the ones this attestation records",
            )
        if self.differences:
            raise ReplayDifferenceError(
                "replay differs from the recorded result: "
                + "; ".join(
                    f"{r.name} on {r.material or 'the attestation'}: {r.detail}" for r in self.differences
                ),
                hint="the recorded policy results do not hold for these policies and materials",
            )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "bundle": str(self.path),
            "format": self.kind,
            "verified": not (self.certificate_problem or self.mismatches or self.differences),
            "payloadType": self.payload_type,
            "payloadDigest": self.payload_digest,
            "signer": self.signer.to_dict(),
            "predicateType": self.statement.get("predicateType", ""),
            "workflow": workflow_name(self.statement),
            "subjects": self.subjects,
            "materials": self.materials,
            "policy": self.policy,
        }
        if self.certificate_problem:
            d["certificateProblem"] = self.certificate_problem
        if self.material_checks:
            d["materialChecks"] = [
                {k: v for k, v in attrs.asdict(c).items() if v} for c in self.material_checks
            ]
        if self.timestamps:
            d["timestamps"] = [t.to_dict() for t in self.timestamps]
        if self.replayed:
            d["replay"] = [r.to_dict() for r in self.replay]
        return d
