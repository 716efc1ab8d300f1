"""Who signed: the public key a bundle is verified with (the one given, a ``--certificate`` file's, or the
bundle's certificate's) and the :class:`SignerInfo` reported; a keyless bundle's certificate is then checked
against its trust root by :mod:`crafter._internal.verify.keyless`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from crafter._internal.verify.result import SignerInfo
from crafter.errors import SignatureError, SigningError, UsageError

if TYPE_CHECKING:
    from crafter._internal.verify.content import SignedContent
    from crafter._internal.verify.keyless import KeylessPolicy

_MAX_CERTIFICATE_BYTES = 1 << 20


def given_certificate(path: Path, allow_expired: bool) -> tuple[PublicKeyTypes, SignerInfo, x509.Certificate]:
    """The key and signer of a ``--certificate`` file (PEM, or DER as some tools write it)."""
    from crafter._internal.files import read_small_file
    from crafter._internal.signing import algorithms

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
    now = datetime.now(UTC)
    expired = cert.not_valid_after_utc < now
    not_yet_valid = now < cert.not_valid_before_utc
    until = utc_text(cert.not_valid_after_utc.isoformat())
    notes = [
        f"the certificate {path} is taken as given: its issuer chain, and whether it was valid when the "
        "envelope was signed, are not checked"
    ]
    if expired and allow_expired:
        notes.append(f"the certificate {path} expired on {until} (accepted: --allow-expired-certificate)")
    signer = attrs.evolve(
        _certificate_info(cert),
        notes=tuple(notes),
        certificate_file=str(path),
        expired=expired,
        not_yet_valid=not_yet_valid,
    )
    return key, signer, cert


def certificate_problem(signer: SignerInfo, allow_expired: bool, where: str) -> str:
    """Why a ``--certificate`` is refused ("" when it is not): not yet valid (never excused), or expired
    (excused by ``allow_expired``)."""
    if signer.not_yet_valid:
        return (
            f"{where}: the certificate {signer.certificate_file} is not valid yet: its validity starts "
            f"{utc_text(signer.not_before)}"
        )
    if signer.expired and not allow_expired:
        return f"{where}: the certificate {signer.certificate_file} expired on {utc_text(signer.not_after)}"
    return ""


def utc_text(iso: str) -> str:
    """``2024-06-07T09:43:49+00:00`` as RFC 3339 UTC, ``2024-06-07T09:43:49Z`` (how certificates are quoted)."""
    return iso.removesuffix("+00:00") + "Z" if iso.endswith("+00:00") else iso


def verification_key(
    bundle: Mapping[str, Any], public_key: PublicKeyTypes | None, path: Path
) -> tuple[PublicKeyTypes, SignerInfo]:
    material = bundle.get("verificationMaterial") or {}
    hint = str((material.get("publicKey") or {}).get("hint", ""))
    if public_key is not None:
        return public_key, SignerInfo(kind="key", keyid_hint=hint)
    try:
        raw = _certificate_bytes(material)
    except SignatureError as exc:
        raise SignatureError(f"{path}: {exc.message}") from exc
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


def keyless_signer(
    bundle: Mapping[str, Any],
    content: SignedContent,
    path: Path,
    policy: KeylessPolicy | None,
    identity: str | None,
    issuer: str | None,
    version: tuple[int, int] = (0, 3),
) -> SignerInfo:
    """Verify a keyless bundle against its trust root (:mod:`crafter._internal.verify.keyless`) and report what was
    checked. ``identity`` / ``issuer`` are the exact expectations, merged into ``policy``."""
    from crafter._internal.signing.keyless import certificate_chain
    from crafter._internal.verify.keyless import KeylessPolicy, verify_keyless

    policy = policy or KeylessPolicy()
    if identity is not None:
        policy = attrs.evolve(policy, identity=identity)
    if issuer is not None:
        policy = attrs.evolve(policy, issuer=issuer)
    try:
        certificates = certificate_chain(bundle)
    except SigningError as exc:
        raise SignatureError(f"{path}: {exc.message}") from exc
    result = verify_keyless(bundle, content, certificates, policy, where=str(path), version=version)
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


def check_signer_identity(signer: SignerInfo, identity: str | None, issuer: str | None, path: Path) -> None:
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
    """The DER of the leaf certificate, ``None`` for a key-signed bundle; a certificate field that is there
    but empty or not base64 is a malformed bundle."""
    if "certificate" in material:
        cert = material["certificate"]
    elif "x509CertificateChain" in material:
        chain = material["x509CertificateChain"]
        certificates = chain.get("certificates") if isinstance(chain, Mapping) else None
        if not isinstance(certificates, list) or not certificates:
            raise SignatureError("the bundle's x509CertificateChain has no certificate")
        cert = certificates[0]
    else:
        return None
    raw = cert.get("rawBytes") if isinstance(cert, Mapping) else None
    try:
        data = base64.b64decode(raw, validate=True) if isinstance(raw, str) else b""
    except (binascii.Error, ValueError):
        data = b""
    if not data:
        raise SignatureError("the bundle's certificate is not base64 DER (rawBytes)")
    return data


def _certificate_info(cert: x509.Certificate) -> SignerInfo:
    from crafter._internal.verify.certificate import certificate_identities, certificate_issuer

    names = certificate_identities(cert)
    identity = names[0] if names else cert.subject.rfc4514_string()
    issuer = certificate_issuer(cert)
    # Keyless bundles are then verified by crafter._internal.verify.keyless, which reports what it checked.
    return SignerInfo(
        kind="certificate",
        identity=identity,
        issuer=issuer or cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(),
    )
