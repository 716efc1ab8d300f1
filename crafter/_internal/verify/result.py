"""The outcome of a verification: who signed, the material checks, the replay outcomes, and the summary
(subjects, materials, policy status) the CLI shows as a table or JSON. :meth:`VerifyResult.check` raises what
was found."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from crafter._internal.verify.statement import (
    ATTESTATION_KEY,
    digest_text,
    is_chainloop,
    policy_evaluations,
    policy_status,
    string_value,
    workflow_name,
)
from crafter.errors import (
    CrafterError,
    DigestMismatchError,
    IncompleteAttestationError,
    ReplayDifferenceError,
    SignatureError,
)

if TYPE_CHECKING:
    from crafter._internal.signing.timestamp import TimestampInfo


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
    not_yet_valid: bool = False  # that certificate's validity starts after now
    # keyless bundles, and key bundles with log entries or timestamps: what was checked
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
    payload_type: str  # "" for a message signature
    payload_digest: str  # the statement's digest; for a message signature the artifact's
    statement: Mapping[str, Any]  # empty for a message signature
    signer: SignerInfo
    material_checks: tuple[MaterialCheck, ...] = ()
    replay: tuple[ReplayOutcome, ...] = ()
    replayed: bool = False
    kind: str = "sigstore-bundle"  # what the file was: "sigstore-bundle" or "dsse-envelope"
    certificate_problem: str = ""  # the --certificate expired and that was not allowed
    # RFC 3161 timestamps over the signature of a key-signed bundle, verified or not (keyless: signer.signed_at)
    timestamps: tuple[TimestampInfo, ...] = ()
    content: str = "dsse"  # what the bundle signs: "dsse" (a statement) or "message-signature" (a file)
    artifact: str = ""  # message signature: the file or digest it was verified over
    contract_problem: str = ""  # what --contract found missing ("" when satisfied or not asked)

    @property
    def kind_label(self) -> str:
        if self.content == "message-signature":
            return "Sigstore bundle (message signature)"
        return "DSSE envelope" if self.kind == "dsse-envelope" else "Sigstore bundle"

    @property
    def predicate_type(self) -> str:
        return str(self.statement.get("predicateType", ""))

    @property
    def is_chainloop(self) -> bool:
        return is_chainloop(self.statement)

    @property
    def subjects(self) -> list[dict[str, Any]]:
        if self.content == "message-signature":
            return [{"name": self.artifact, "digest": self.payload_digest}]
        return [
            {"name": s.get("name", ""), "digest": digest_text(s.get("digest", {}))}
            for s in self.statement.get("subject", [])
        ]

    @property
    def materials(self) -> list[dict[str, Any]]:
        if not self.is_chainloop:
            return []
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
        if not self.is_chainloop:
            return {}
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

    @property
    def verified(self) -> bool:
        return self.failure() is None

    def failure(self) -> CrafterError | None:
        """The error :meth:`check` raises, ``None`` when every check passed. In order: a refused
        certificate, material mismatches, the contract, replay differences."""
        if self.certificate_problem:
            return SignatureError(
                self.certificate_problem,
                hint="a certificate that expired after signing (short-lived signing certificates do) is "
                "accepted with --allow-expired-certificate; one not yet valid is never accepted",
            )
        if self.mismatches:
            from_cas = any(c.source == "cas" for c in self.mismatches)
            return DigestMismatchError(
                "; ".join(c.problem for c in self.mismatches),
                hint="the content store holds other bytes than the ones this attestation records"
                if from_cas
                else "the files given with --material are not the ones this attestation records",
            )
        if self.contract_problem:
            return IncompleteAttestationError(self.contract_problem)
        if self.differences:
            return ReplayDifferenceError(
                "replay differs from the recorded result: "
                + "; ".join(
                    f"{r.name} on {r.material or 'the attestation'}: {r.detail}" for r in self.differences
                ),
                hint="the recorded policy results do not hold for these policies and materials",
            )
        return None

    def check(self) -> None:
        """Raise what :meth:`failure` finds, with this result attached (``exc.result``)."""
        error = self.failure()
        if error is not None:
            error.result = self
            raise error

    def checks(self) -> dict[str, str]:
        """What was checked and how it went, for machine-readable output."""
        out = {"signature": "passed", "statement": "passed" if self.content == "dsse" else "not applicable"}
        if self.signer.trust_root:
            out["trust"] = "passed"
        if self.certificate_problem:
            out["certificate"] = "failed"
        if self.material_checks:
            out["materials"] = "failed" if self.mismatches else "passed"
        if self.contract_problem:
            out["contract"] = "failed"
        if self.replayed:
            out["replay"] = "failed" if self.differences else "passed"
        return out

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "bundle": str(self.path),
            "format": self.kind,
            "content": self.content,
            "verified": self.verified,
            "checks": self.checks(),
            "signer": self.signer.to_dict(),
            "subjects": self.subjects,
        }
        if self.content == "dsse":
            d.update(
                {
                    "payloadType": self.payload_type,
                    "payloadDigest": self.payload_digest,
                    "predicateType": self.predicate_type,
                }
            )
        else:
            d["artifact"] = {"name": self.artifact, "digest": self.payload_digest}
        if self.is_chainloop:
            d.update(
                {
                    "workflow": workflow_name(self.statement),
                    "materials": self.materials,
                    "policy": self.policy,
                }
            )
        if self.certificate_problem:
            d["certificateProblem"] = self.certificate_problem
        if self.contract_problem:
            d["contractProblem"] = self.contract_problem
        if self.material_checks:
            d["materialChecks"] = [
                {k: v for k, v in attrs.asdict(c).items() if v} for c in self.material_checks
            ]
        if self.timestamps:
            d["timestamps"] = [t.to_dict() for t in self.timestamps]
        if self.replayed:
            d["replay"] = [r.to_dict() for r in self.replay]
        error = self.failure()
        if error is not None:
            d["error"] = error_dict(error)
        return d


def error_dict(error: CrafterError) -> dict[str, Any]:
    """An error as machine-readable output reports it."""
    d: dict[str, Any] = {"message": error.message, "exitCode": int(error.exit_code)}
    if error.hint:
        d["hint"] = error.hint
    return d
