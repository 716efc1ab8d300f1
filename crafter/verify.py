"""Offline verification of an attestation bundle: signature, statement shape, materials, contract, replay.

:func:`verify_bundle` checks, in this order, and stops at the first failure of the first three:

1. the DSSE signature over the PAE, with the public key given or, for a keyless bundle, the key of the
   certificate in the bundle, which is then checked against a trust root (chain, identity, verified time of
   signing, transparency log: :mod:`crafter.verify_keyless`);
2. the payload type (``application/vnd.in-toto+json``);
3. the statement and predicate shapes (``schemas/statement.schema.json``);
4. ``materials``: local files against the recorded digests (a mismatch is :class:`DigestMismatchError`);
5. ``contract``: required materials and groups present (:class:`IncompleteAttestationError`);
6. ``replay``: every embedded policy evaluation evaluated again (differences: :class:`ReplayDifferenceError`).

Failures of 4 and 6 are collected in the :class:`VerifyResult` so the summary can still be shown;
:meth:`VerifyResult.check` raises them. See docs/verify.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

if TYPE_CHECKING:
    from crafter.signing.timestamp import TimestampInfo
    from crafter.storage.interface import ContentStore
    from crafter.verify_keyless import KeylessPolicy

from crafter.errors import (
    CrafterError,
    DigestMismatchError,
    IncompleteAttestationError,
    PolicyError,
    ReplayDifferenceError,
    SignatureError,
    SigningError,
    UsageError,
)
from crafter.signing.dsse import IN_TOTO_PAYLOAD_TYPE

__all__ = ["MaterialCheck", "ReplayOutcome", "SignerInfo", "VerifyResult", "verify_bundle"]

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
_ATTESTATION_KEY = "CHAINLOOP.ATTESTATION"
_MAX_CERTIFICATE_BYTES = 1 << 20


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
    # keyless bundles: what was checked (see crafter.verify_keyless)
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
        d = {"policy": self.name, "material": self.material or _ATTESTATION_KEY, "status": self.status}
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
            {"name": s.get("name", ""), "digest": _digest_text(s.get("digest", {}))}
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
                    "value": m.get("name") or _string_value(m),
                    "digest": _digest_text(m.get("digest", {})),
                }
            )
        return out

    @property
    def policy(self) -> dict[str, Any]:
        p = self.statement["predicate"]
        evaluations = _evaluations(p)
        violated = sum(1 for _, e in evaluations if e.get("violations"))
        skipped = sum(1 for _, e in evaluations if not e.get("violations") and e.get("skipped"))
        return {
            "status": _policy_status(p),
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
            "workflow": _workflow(self.statement),
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


# -- entry point -------------------------------------------------------------------------------------------
def verify_reference(
    reference: str, *, insecure: bool = False, cas: ContentStore | str | None = None, **kwargs: Any
) -> VerifyResult:
    """Verify a bundle file, or a bundle fetched from a registry (``oci://REGISTRY/REPO[:TAG|@DIGEST]``:
    the artifact itself, or the newest bundle attached to that image). Keyword arguments: :func:`verify_bundle`'s.
    ``insecure`` applies to the registry of an ``oci://`` reference and of an ``oci://`` content store.
    """
    kwargs["cas"] = open_content_store(cas, insecure=insecure) if isinstance(cas, str) else cas
    if not reference.startswith("oci://"):
        return verify_bundle(Path(reference), **kwargs)
    import tempfile

    from crafter.storage.oci import OciStore

    data = OciStore(reference, insecure=insecure).get()
    with tempfile.TemporaryDirectory(prefix="crafter-verify-") as tmp:
        fetched = Path(tmp) / "bundle.sigstore.json"
        fetched.write_bytes(data)
        result = verify_bundle(fetched, **kwargs)
    return attrs.evolve(result, path=reference)


def verify_bundle(
    path: Path,
    *,
    public_key: PublicKeyTypes | None = None,
    materials: Sequence[Path] = (),
    contract: Path | None = None,
    replay: bool = False,
    replay_materials: Sequence[Path] = (),
    options: Any = None,
    cwd: Path | None = None,
    certificate_identity: str | None = None,
    certificate_oidc_issuer: str | None = None,
    certificate: Path | None = None,
    allow_expired_certificate: bool = False,
    cas: ContentStore | str | None = None,
    keyless: KeylessPolicy | None = None,
    timestamp_roots: Sequence[x509.Certificate] = (),
    timestamp_intermediates: Sequence[x509.Certificate] = (),
) -> VerifyResult:
    """Verify the bundle, or bare DSSE envelope, at ``path`` (see the module docstring for the checks and their
    order).

    ``certificate``: verify with the public key of this X.509 certificate (PEM or DER) instead of ``public_key``
    or the bundle's own certificate. It is taken as given (no chain); when it has expired, the result's
    :meth:`~VerifyResult.check` refuses it unless ``allow_expired_certificate``.

    ``certificate_identity`` / ``certificate_oidc_issuer``: for keyless bundles, the signer's certificate must
    name exactly this identity (email or URI) / OIDC issuer. ``keyless``
    (:class:`~crafter.verify_keyless.KeylessPolicy`): the trust root (default Sigstore public-good's) and the
    other expectations a keyless bundle is verified against; see docs/verify.md.

    ``materials`` are checked against the recorded digests; they and ``replay_materials`` are the local
    files a replay may read (matched by digest). ``options`` is a
    :class:`~crafter.policies.verifier.VerifierOptions` for the replay (its ``cache_dir`` is where remote
    policies are looked up; nothing is downloaded). ``cas`` (a :class:`~crafter.storage.ContentStore`, or a
    directory or ``oci://REGISTRY/REPO`` as ``crafter add --cas`` takes it) is where a replay fetches, by
    digest, the bytes of materials no local file matches; what it returns is checked against the digest.

    ``timestamp_roots`` (+ ``timestamp_intermediates``): TSA certificates every RFC 3161 timestamp of the
    bundle must verify against (a keyless bundle's trust root gets them as timestamp authorities, and its
    verified times are reported in ``signer.signed_at``); without them a key-signed bundle's timestamps are
    only parsed and reported as not verified. A timestamp that is not over the signature, or does not
    verify, is a :class:`SignatureError`. See docs/verify.md.
    """
    from crafter.signing.bundle import DSSE_ENVELOPE, read_signed, verify_envelope
    from crafter.signing.interface import VerificationError
    from crafter.signing.timestamp import check_bundle_timestamps, with_timestamp_authorities

    if public_key is not None and certificate is not None:
        raise UsageError("--key and --certificate are mutually exclusive: give one of them")
    if allow_expired_certificate and certificate is None:
        raise UsageError("--allow-expired-certificate applies to the certificate given with --certificate")
    if cas is not None and not replay:
        raise UsageError("--cas is read by --replay only: give --replay too")
    if timestamp_intermediates and not timestamp_roots:
        raise UsageError("timestamp intermediates were given without timestamp roots")
    try:
        signed = read_signed(path)
    except SigningError as exc:
        raise SignatureError(exc.message, hint=exc.hint) from exc
    envelope = signed.envelope
    where = f"{path} (DSSE envelope)" if signed.kind == DSSE_ENVELOPE else str(path)
    certificate_problem = ""
    if certificate is not None:
        key, signer = _given_certificate(certificate, allow_expired_certificate)
        if signer.expired and not allow_expired_certificate:
            certificate_problem = (
                f"{where}: the certificate {certificate} expired on {_utc(signer.not_after)}"
            )
    elif signed.kind == DSSE_ENVELOPE and public_key is None:
        raise UsageError(
            f"{path} is a bare DSSE envelope, which carries no key or certificate: "
            "give --key PUB or --certificate CERT.pem"
        )
    else:
        key, signer = _verification_key(signed.bundle, public_key, path)
    if signer.kind == "certificate" and certificate is None:  # keyless: chain, identity, time, logs
        keyless = with_timestamp_authorities(keyless, timestamp_roots, timestamp_intermediates)
        signer = _keyless(
            signed.bundle, envelope, path, keyless, certificate_identity, certificate_oidc_issuer
        )
    else:
        _check_identity(signer, certificate_identity, certificate_oidc_issuer, path)
    try:
        payload = verify_envelope(envelope, key)
    except VerificationError as exc:
        what = (
            "the given public key"
            if signer.kind == "key"
            else f"the public key of certificate {certificate}"
            if certificate is not None
            else "the public key of the bundle's certificate"
        )
        hint = "the payload, its type or the signature was altered, or another key signed it"
        if certificate is not None:  # what was tried, the expiry included
            validity = f"valid {_utc(signer.not_before)} to {_utc(signer.not_after)}"
            hint = f"certificate {certificate} ({signer.identity}, {validity}{', expired' if signer.expired else ''}); {hint}"
        raise SignatureError(
            f"{where}: bad signature: no signature of the envelope verifies with {what}", hint=hint
        ) from exc
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:  # signed, but not an attestation
        raise SignatureError(
            f"{path}: payload type is {envelope.payload_type!r}, expected {IN_TOTO_PAYLOAD_TYPE!r}"
        )
    timestamps = (
        ()  # keyless: verify_keyless verified them as time of signing, reported in signer.signed_at
        if signer.kind == "certificate" and certificate is None
        else check_bundle_timestamps(
            signed.bundle,
            envelope,
            key,
            roots=timestamp_roots,
            intermediates=timestamp_intermediates,
            where=where,
        )
    )
    statement = _parse_statement(payload, path)
    checks = tuple(_check_material(p, statement) for p in materials)
    if contract is not None:
        _check_contract(statement, contract)
    outcomes: tuple[ReplayOutcome, ...] = ()
    if replay:
        files = list(dict.fromkeys([*materials, *replay_materials]))
        store = open_content_store(cas) if isinstance(cas, str) else cas
        outcomes, fetched = _replay(statement, files, options, cwd or Path.cwd(), store)
        checks += fetched
    return VerifyResult(
        path=path,
        payload_type=envelope.payload_type,
        payload_digest="sha256:" + hashlib.sha256(payload).hexdigest(),
        statement=statement,
        signer=signer,
        material_checks=checks,
        replay=outcomes,
        replayed=replay,
        kind=signed.kind,
        certificate_problem=certificate_problem,
        timestamps=timestamps,
    )


def open_content_store(spec: str, *, insecure: bool = False) -> ContentStore:
    """The content store ``crafter add --cas SPEC`` wrote to; a directory must exist (a mistyped path would
    otherwise only show as materials "not in the content store")."""
    from crafter.storage import content_store

    if not spec.startswith("oci://") and not Path(spec).is_dir():
        raise UsageError(f"content store {spec}: no such directory")
    return content_store(spec, insecure=insecure)


# -- signature -----------------------------------------------------------------------------------------
def _given_certificate(path: Path, allow_expired: bool) -> tuple[PublicKeyTypes, SignerInfo]:
    """The key and signer of a ``--certificate`` file (PEM, or DER as some tools write it)."""
    from crafter.files import read_small_file
    from crafter.signing import algorithms

    data = read_small_file(path, what="certificate file", limit=_MAX_CERTIFICATE_BYTES, error=UsageError)
    try:
        if b"-----BEGIN" in data:
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise SigningError(f"{path} is not an X.509 certificate (PEM or DER): {exc}") from exc
    key = cert.public_key()
    try:
        algorithms.key_details(key)  # refuse key types we cannot verify with, as --key does
    except SigningError as exc:
        raise SigningError(f"{path}: {exc.message}", hint=exc.hint) from exc
    expired = cert.not_valid_after_utc < datetime.now(UTC)
    until = _utc(cert.not_valid_after_utc.isoformat())
    notes = [
        f"the certificate {path} is taken as given: its issuer chain, and whether it was valid when the "
        "envelope was signed, are not checked"
    ]
    if expired and allow_expired:
        notes.append(f"the certificate {path} expired on {until} (accepted: --allow-expired-certificate)")
    signer = attrs.evolve(
        _certificate_info(cert), notes=tuple(notes), certificate_file=str(path), expired=expired
    )
    return key, signer


def _utc(iso: str) -> str:
    """``2024-06-07T09:43:49+00:00`` as RFC 3339 UTC, ``2024-06-07T09:43:49Z`` (how certificates are quoted)."""
    return iso.removesuffix("+00:00") + "Z" if iso.endswith("+00:00") else iso


def _verification_key(
    bundle: Mapping[str, Any], public_key: PublicKeyTypes | None, path: Path
) -> tuple[PublicKeyTypes, SignerInfo]:
    material = bundle.get("verificationMaterial") or {}
    hint = str((material.get("publicKey") or {}).get("hint", ""))
    if public_key is not None:
        return public_key, SignerInfo(kind="key", keyid_hint=hint)
    raw = _certificate_bytes(material)
    if raw is None:
        raise UsageError(
            f"{path} is signed with a key: give its public key with --key PUB",
            hint=f"key hint in the bundle: {hint}" if hint else None,
        )
    try:
        cert = x509.load_der_x509_certificate(raw)
    except ValueError as exc:
        raise SignatureError(f"{path}: the bundle's certificate cannot be parsed ({exc})") from exc
    return cert.public_key(), _certificate_info(cert)


def _keyless(
    bundle: Mapping[str, Any],
    envelope: Any,
    path: Path,
    policy: KeylessPolicy | None,
    identity: str | None,
    issuer: str | None,
) -> SignerInfo:
    """Verify a keyless bundle against its trust root (:mod:`crafter.verify_keyless`) and report what was
    checked. ``identity`` / ``issuer`` are the exact expectations, merged into ``policy``."""
    from crafter.signing.keyless import certificate_chain
    from crafter.verify_keyless import KeylessPolicy, verify_keyless

    policy = policy or KeylessPolicy()
    if identity is not None:
        policy = attrs.evolve(policy, identity=identity)
    if issuer is not None:
        policy = attrs.evolve(policy, issuer=issuer)
    try:
        certificates = certificate_chain(bundle)
    except SigningError as exc:
        raise SignatureError(f"{path}: {exc.message}") from exc
    result = verify_keyless(bundle, envelope, certificates, policy, where=str(path))
    cert = result.certificate
    return SignerInfo(
        kind="certificate",
        identity=result.identity,
        issuer=result.issuer,
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(),
        notes=result.notes,
        trust_root=result.trust_root,
        chain=tuple(c.subject.rfc4514_string() for c in result.chain),
        signed_at=tuple(t.describe() for t in result.times),
        tlog_entries=result.tlog_entries,
        sct=result.sct,
    )


def _check_identity(signer: SignerInfo, identity: str | None, issuer: str | None, path: Path) -> None:
    if identity is None and issuer is None:
        return
    if signer.kind != "certificate":
        raise UsageError(
            f"{path} is signed with a key: --certificate-identity and --certificate-oidc-issuer apply to "
            "keyless bundles",
            hint="verify it with --key PUB",
        )
    if identity is not None and signer.identity != identity:
        raise SignatureError(
            f"{path}: signed by {signer.identity or 'an unnamed identity'!r}, not the expected {identity!r}"
        )
    if issuer is not None and signer.issuer != issuer:
        raise SignatureError(
            f"{path}: certificate issued through {signer.issuer or 'an unknown issuer'!r}, "
            f"not the expected {issuer!r}"
        )


def _certificate_bytes(material: Mapping[str, Any]) -> bytes | None:
    cert = material.get("certificate")
    if not cert:
        chain = (material.get("x509CertificateChain") or {}).get("certificates") or []
        cert = chain[0] if chain else None
    if not isinstance(cert, Mapping) or not isinstance(cert.get("rawBytes"), str):
        return None
    try:
        return base64.b64decode(cert["rawBytes"], validate=True)
    except (binascii.Error, ValueError):
        return None


def _certificate_info(cert: x509.Certificate) -> SignerInfo:
    from crafter.verify_keyless import certificate_identities, certificate_issuer

    names = certificate_identities(cert)
    identity = names[0] if names else cert.subject.rfc4514_string()
    issuer = certificate_issuer(cert)
    # Keyless bundles are then verified by crafter.verify_keyless, which reports what it checked.
    return SignerInfo(
        kind="certificate",
        identity=identity,
        issuer=issuer or cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(),
    )


# -- statement -----------------------------------------------------------------------------------------
def _parse_statement(payload: bytes, path: Path) -> dict[str, Any]:
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


def _workflow(statement: Mapping[str, Any]) -> str:
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


def _digest_text(digest: Mapping[str, str]) -> str:
    if "sha256" in digest:
        return f"sha256:{digest['sha256']}"
    return ", ".join(f"{k}:{v}" for k, v in sorted(digest.items()))


def _string_value(m: Mapping[str, Any]) -> str:
    try:
        return base64.b64decode(m.get("content", "")).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def _evaluations(predicate: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    out = []
    for key, items in (predicate.get("policyEvaluations") or {}).items():
        for e in items or []:
            out.append(("" if key == _ATTESTATION_KEY else key, e))
    return out


def _policy_status(p: Mapping[str, Any]) -> str:
    """Chainloop's canonical summary (reference section 3.7)."""
    count = p.get("policyEvaluationsCount", len(_evaluations(p)))
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


# -- materials and contract ------------------------------------------------------------------------------
def _recorded(statement: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(label, file or image name, digest) of every material and subject."""
    out = []
    for m in statement["predicate"].get("materials", []):
        label = f"material {m.get('annotations', {}).get('chainloop.material.name', '?')!r}"
        out.append((label, str(m.get("name", "")), dict(m.get("digest", {}))))
    for s in statement.get("subject", []):
        out.append((f"subject {s.get('name', '')!r}", str(s.get("name", "")), dict(s.get("digest", {}))))
    return out


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError as exc:
        raise UsageError(f"material file {path} not found") from exc
    except OSError as exc:
        raise UsageError(f"cannot read material file {path}: {exc.strerror or exc}") from exc
    return h.hexdigest()


def _check_material(path: Path, statement: Mapping[str, Any]) -> MaterialCheck:
    hexdigest = _file_digest(path)
    recorded = _recorded(statement)
    for label, _name, digest in recorded:
        if digest.get("sha256") == hexdigest:
            return MaterialCheck(str(path), f"sha256:{hexdigest}", matched=label)
    for label, name, digest in recorded:
        if name and Path(name).name == path.name:
            return MaterialCheck(
                str(path),
                f"sha256:{hexdigest}",
                problem=f"{path}: digest mismatch for {label}: recorded {_digest_text(digest)}, "
                f"file has sha256:{hexdigest}",
            )
    return MaterialCheck(
        str(path),
        f"sha256:{hexdigest}",
        problem=f"{path} (sha256:{hexdigest}) matches no material or subject of the attestation",
    )


def _check_contract(statement: Mapping[str, Any], path: Path) -> None:
    from crafter.contract import load_contract

    contract, _ = load_contract(path)
    present = {
        m.get("annotations", {}).get("chainloop.material.name")
        for m in statement["predicate"].get("materials", [])
    }
    problems = []
    missing = [m.name for m in contract.materials if m.required and m.name not in present]
    if missing:
        problems.append("required materials missing: " + ", ".join(missing))
    groups: dict[str, list[str]] = {}
    for m in contract.materials:
        if m.group:
            groups.setdefault(m.group, []).append(m.name)
    for group, members in groups.items():
        if not any(n in present for n in members):
            problems.append(f'no material from group "{group}": ' + ", ".join(members))
    if problems:
        raise IncompleteAttestationError(
            f"the attestation does not satisfy contract {path}: " + "; ".join(problems)
        )


# -- replay ----------------------------------------------------------------------------------------------
def _replay(
    statement: Mapping[str, Any],
    files: Sequence[Path],
    options: Any,
    cwd: Path,
    cas: ContentStore | None = None,
) -> tuple[tuple[ReplayOutcome, ...], tuple[MaterialCheck, ...]]:
    """The replay outcomes, and the checks of the material bytes fetched from ``cas``."""
    import tempfile

    from crafter.contract import Contract
    from crafter.policies.options import VerifierOptions
    from crafter.policies.verifier import PolicyVerifier, default_engines

    opts: VerifierOptions = options or VerifierOptions()
    by_digest = {_file_digest(p): p for p in files}
    predicate = statement["predicate"]
    descriptors = {
        m.get("annotations", {}).get("chainloop.material.name", ""): m for m in predicate.get("materials", [])
    }
    with tempfile.TemporaryDirectory(prefix="crafter-verify-cas-") as tmp:
        fetched: dict[str, Path] = {}
        reasons: dict[str, str] = {}
        checks: tuple[MaterialCheck, ...] = ()
        if cas is not None:
            fetched, reasons, checks = _fetch_from_cas(cas, predicate, descriptors, by_digest, Path(tmp))
        engines = default_engines(opts)
        verifier = PolicyVerifier(
            Contract.empty(),
            cwd=cwd,
            options=opts,
            engines=engines,
            loader=_offline_loader(cwd, opts, engines),
        )
        try:
            outcomes = tuple(
                _replay_one(verifier, statement, material, ev, descriptors, {**by_digest, **fetched}, reasons)
                for material, ev in _evaluations(predicate)
            )
        finally:
            verifier.close()
    return outcomes, checks


def _fetch_from_cas(
    cas: ContentStore,
    predicate: Mapping[str, Any],
    descriptors: Mapping[str, Mapping[str, Any]],
    local: Mapping[str, Path],
    tmp: Path,
) -> tuple[dict[str, Path], dict[str, str], tuple[MaterialCheck, ...]]:
    """Fetch, by digest, the bytes of every material a replayed evaluation reads and no local file matches.

    Returns the files written under ``tmp`` (by hex digest), why the others could not be had (by hex digest),
    and one check per fetch: bytes that do not match their digest are a mismatch (exit code 12), whether the
    store itself noticed or this check did. A store that cannot be reached raises its :class:`StoreError`.
    """
    from crafter.policies.inputs import _NOT_READ
    from crafter.storage.interface import ContentDigestError, ContentNotFoundError, StoreError

    paths: dict[str, Path] = {}
    reasons: dict[str, str] = {}
    checks: list[MaterialCheck] = []
    for material, ev in _evaluations(predicate):
        descriptor = descriptors.get(material)
        if not material or descriptor is None or str(ev.get("type", "")) in _NOT_READ:
            continue
        sha = str((descriptor.get("digest") or {}).get("sha256", ""))
        if not sha or sha in local or sha in paths or sha in reasons:
            continue
        digest, label = f"sha256:{sha}", f"material {material!r}"
        blob = f"{cas.location()}@{digest}"
        try:
            data: bytes | None = cas.download(digest)
        except ContentNotFoundError:
            reasons[sha] = (
                f"no local file with the digest of {label} ({digest}) and not in the content store "
                f"{cas.location()} (not uploaded: skipUpload, or added without --cas)"
            )
            continue
        except ContentDigestError:
            data = None
        except StoreError as exc:  # unreachable, refused: fatal, or every material would be "not replayed"
            raise StoreError(f"content store {cas.location()}: {exc.message}", hint=exc.hint) from exc
        got = "sha256:" + hashlib.sha256(data).hexdigest() if data is not None else ""
        if got != digest:
            found = f" (they hash to {got})" if got else ""
            checks.append(
                MaterialCheck(
                    blob,
                    got,
                    problem=f"{blob}: digest mismatch for {label}: the content store's bytes are not the "
                    f"recorded ones{found}",
                    source="cas",
                )
            )
            reasons[sha] = f"the content store's bytes for {label} do not match its digest {digest}"
            continue
        path = tmp / sha
        path.write_bytes(data or b"")
        paths[sha] = path
        checks.append(MaterialCheck(blob, digest, matched=label, source="cas"))
    return paths, reasons, tuple(checks)


def _offline_loader(cwd: Path, options: Any, engines: Any) -> Any:
    from crafter.policies.loader import PolicyLoader
    from crafter.resources import policies_dir

    class OfflineLoader(PolicyLoader):
        """Remote documents come from the cache (or this process) only: a replay never downloads."""

        def _fetch(self, url: str, pin: str, ref: str) -> bytes:
            data = self._cache_get(pin) if pin else None
            if data is None:
                raise _NotReplayable(f"{url} is not in the policy cache and verify does not download")
            return data

    return OfflineLoader(
        cwd=cwd, builtin_dir=policies_dir(), cache_dir=options.cache_dir, engines=engines.names()
    )


class _NotReplayable(Exception):
    pass


def _replay_one(
    verifier: Any,
    statement: Mapping[str, Any],
    material: str,
    ev: Mapping[str, Any],
    descriptors: Mapping[str, Mapping[str, Any]],
    files: Mapping[str, Path],
    unavailable: Mapping[str, str],
) -> ReplayOutcome:
    name = str(ev.get("name", ""))
    try:
        policy = _replay_policy(verifier, ev)
        kind = str(ev.get("type", ""))
        if material:
            when = str(ev.get("evaluatedAt", ""))
            input_json = _material_input(statement, material, kind, when, descriptors, files, unavailable)
            note = "" if _matches(input_json, ev) else "the material input differs from the recorded one"
        else:
            input_json, note = _statement_input(statement, ev)
        result = _evaluate(verifier, policy, ev, kind, material, input_json)
    except _NotReplayable as exc:
        return ReplayOutcome(name, material, "not-replayed", str(exc))
    except CrafterError as exc:
        return ReplayOutcome(name, material, "not-replayed", f"evaluation failed: {exc.message}")
    if result is None:
        return ReplayOutcome(name, material, "differs", "the policy no longer produces an evaluation")
    recorded = {(str(v.get("subject", "")), str(v.get("message", ""))) for v in ev.get("violations", [])}
    got = {(v.subject, v.message) for v in result.active_violations}
    problems = []
    if recorded != got:
        added = sorted(m for _, m in got - recorded)
        removed = sorted(m for _, m in recorded - got)
        if added:
            problems.append("new violations: " + "; ".join(repr(m) for m in added))
        if removed:
            problems.append("recorded violations not found: " + "; ".join(repr(m) for m in removed))
    if bool(ev.get("skipped", False)) != result.skipped:
        problems.append(f"skipped is {result.skipped}, recorded {bool(ev.get('skipped', False))}")
    if problems:
        return ReplayOutcome(name, material, "differs", "; ".join([*problems, *([note] if note else [])]))
    return ReplayOutcome(name, material, "same", note)


def _matches(input_json: bytes, ev: Mapping[str, Any]) -> bool:
    recorded = _recorded_input_digest(ev)
    return not recorded or "sha256:" + hashlib.sha256(input_json).hexdigest() == recorded


def _replay_policy(verifier: Any, ev: Mapping[str, Any]) -> Any:
    """The policy of an evaluation: loaded by its reference pinned to the recorded digest, else (embedded
    policies) rebuilt from the recorded sources, each checked against its recorded digest."""
    from crafter.policies.spec import Policy, PolicyReference, PolicyScript

    ref = ev.get("policyReference") or {}
    uri = str(ref.get("uri", ""))
    digest = ref.get("digest") or {}
    hexdigest = digest.get("sha256", "") if isinstance(digest, Mapping) else str(digest).partition(":")[2]
    name = str(ev.get("name", ""))
    if uri:
        if not hexdigest:
            raise _NotReplayable(f"reference {uri} has no recorded digest to pin")
        if uri.startswith(("chainloop://",)) or ("://" not in uri and ":" in uri):
            raise _NotReplayable(f"{uri} is a Chainloop control-plane reference")
        try:
            policy = verifier.loader.load_policy(f"{uri}@sha256:{hexdigest}")
        except PolicyError as exc:
            raise _NotReplayable(f"policy {uri}@sha256:{hexdigest} cannot be loaded: {exc.message}") from exc
        return attrs.evolve(policy, inputs=())
    sources = []
    for index, text in enumerate(ev.get("sources") or []):
        try:
            sources.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise _NotReplayable(f"recorded source {index} is not base64") from exc
    if not sources:
        raise _NotReplayable("embedded policy without recorded sources")
    recorded = list(ev.get("sourceDigests") or [])
    got = ["sha256:" + hashlib.sha256(s).hexdigest() for s in sources]
    if recorded and recorded != got:
        raise _NotReplayable("the recorded sources do not match the recorded source digests")
    engines = [e for e in str(ev.get("engine", "rego")).split(",") if e] or ["rego"]
    scripts = tuple(
        PolicyScript(
            kind="",
            source=s,
            engine=engines[0] if len(engines) == 1 else ("wasm" if s.startswith(b"\0asm") else "rego"),
            origin="embedded (recorded in the attestation)",
        )
        for s in sources
    )
    return Policy(name=name, scripts=scripts, reference=PolicyReference(name=name))


def _evaluate(
    verifier: Any, policy: Any, ev: Mapping[str, Any], kind: str, material: str, input_json: bytes
) -> Any:
    from crafter.policies.spec import Attachment
    from crafter.policies.verifier import _Task

    with_ = {str(k): str(v) for k, v in (ev.get("with") or {}).items()}
    attachment = Attachment(ref=policy.reference.uri or "embedded", with_=with_)
    task = _Task(attachment, policy, runtime_inputs=False)
    when = str(ev.get("evaluatedAt", ""))
    return verifier.evaluate(task, kind, input_json, material, when)


def _material_input(
    statement: Mapping[str, Any],
    material: str,
    kind: str,
    evaluated_at: str,
    descriptors: Mapping[str, Mapping[str, Any]],
    files: Mapping[str, Path],
    unavailable: Mapping[str, str],
) -> bytes:
    """The input document of a material, rebuilt as :func:`crafter.policies.inputs.material_input` made it.
    ``unavailable``: why the bytes of a digest could not be fetched from the content store."""
    from crafter.models import Material
    from crafter.policies.inputs import _NOT_READ, _content, encode

    descriptor = descriptors.get(material)
    if descriptor is None:
        raise _NotReplayable(f"material {material!r} is not in the statement")
    path: Path | None = None
    if kind not in _NOT_READ:
        sha = (descriptor.get("digest") or {}).get("sha256", "")
        path = files.get(sha)
        if path is None:
            raise _NotReplayable(
                unavailable.get(sha)
                or f"no local file with the digest of material {material!r} (sha256:{sha}); give it with --material"
            )
    content = _content(Material(name=material, kind=kind, added_at=""), str(path) if path else None)
    doc: dict[str, Any] = {"elements": content} if isinstance(content, list) else dict(content or {})
    meta: dict[str, Any] = {"annotations": descriptor.get("annotations", {})}
    for key in ("digest", "content", "name"):  # material_descriptor's order
        if key in descriptor:
            meta[key] = descriptor[key]
    md = statement["predicate"].get("metadata", {})
    if md.get("project"):
        meta["project_name"] = md["project"]
    if md.get("projectVersion"):
        meta["project_version_name"] = md["projectVersion"]
    if evaluated_at:  # the recorded evaluation time, last as inputs.metadata adds it
        meta["evaluation_time"] = evaluated_at
    doc["chainloop_metadata"] = meta
    return encode(doc)


def _statement_input(statement: Mapping[str, Any], ev: Mapping[str, Any]) -> tuple[bytes, str]:
    """The statement an attestation-level policy saw, and a note when it is not byte-identical to it.

    ``crafter push`` evaluates attestation policies on the statement without its policy fields
    (:func:`crafter.statement.without_policy_fields`), serialised with sorted keys, so that input is rebuilt
    byte for byte from the signed statement. Bundles made otherwise (older crafter versions, Chainloop) give
    another input digest: the replay then runs on this rebuilt statement and says so.
    """
    from crafter.policies.inputs import statement_input
    from crafter.statement import without_policy_fields

    recorded = _recorded_input_digest(ev)
    data = statement_input(without_policy_fields(statement))
    if recorded and "sha256:" + hashlib.sha256(data).hexdigest() == recorded:
        return data, ""
    why = (
        f"it does not match the recorded input digest {recorded}" if recorded else "no input digest recorded"
    )
    return data, f"the statement input was rebuilt approximately ({why})"


def _recorded_input_digest(ev: Mapping[str, Any]) -> str:
    d = ev.get("inputDigest") or ""
    if isinstance(d, Mapping):
        return f"sha256:{d['sha256']}" if "sha256" in d else ""
    return str(d)
