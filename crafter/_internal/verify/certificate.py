"""The signing certificate of a keyless bundle: the identities and OIDC issuer it names, the envelope
signature it verifies, its chain to the trust root's CAs, code-signing usage, and the identity and issuer the
caller expects."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from crafter._internal.signing.x509_chain import ChainError, verified_chain
from crafter._internal.trust import CertificateAuthority, TrustRoot
from crafter._internal.verify.content import SignedContent
from crafter._internal.verify.times import SigningTime
from crafter.errors import CrafterError, SignatureError, UsageError

if TYPE_CHECKING:  # keyless imports this module
    from crafter._internal.verify.keyless import KeylessPolicy


_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")


def certificate_identities(cert: x509.Certificate) -> list[str]:
    """The identities a Fulcio-style certificate names: e-mail and URI subject alternative names."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        *san.get_values_for_type(x509.RFC822Name),
        *san.get_values_for_type(x509.UniformResourceIdentifier),
    ]


def certificate_issuer(cert: x509.Certificate) -> str:
    """The OIDC issuer of a Fulcio certificate (extension .1.8, a DER UTF8String, else the older .1.1, raw)."""
    for oid in (_ISSUER_V2, _ISSUER_V1):
        try:
            value = cert.extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            continue
        data = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
        if oid == _ISSUER_V2:
            data = _der_utf8(data)
        return data.decode("utf-8", "replace")
    return ""


def _der_utf8(data: bytes) -> bytes:
    if len(data) < 2 or data[0] != 0x0C:
        return data
    if data[1] < 0x80:
        return data[2 : 2 + data[1]]
    width = data[1] & 0x7F
    length = int.from_bytes(data[2 : 2 + width], "big")
    return data[2 + width : 2 + width + length]


def verified_signature(content: SignedContent, leaf: x509.Certificate, where: str) -> bytes:
    try:
        valid = content.verified_signatures(leaf.public_key())
    except CrafterError as exc:  # a key type we cannot verify with
        raise SignatureError(f"{where}: the bundle's certificate key cannot be used: {exc.message}") from exc
    if valid:
        return valid[0]
    what = "envelope" if content.envelope is not None else "message"
    raise SignatureError(
        f"{where}: bad signature: no signature of the {what} verifies with the public key of the bundle's "
        "certificate",
        hint="the payload, its type or the signature was altered, or another key signed it"
        if content.envelope is not None
        else "the signature was altered, or another key signed it",
    )


def chain_or_fail(
    leaf: x509.Certificate,
    bundle_chain: Sequence[x509.Certificate],
    root: TrustRoot,
    at: datetime,
    where: str,
    *,
    first: bool,
    when: SigningTime | None = None,
) -> list[x509.Certificate]:
    """The leaf's verified chain (issuers, anchor last) at ``at``. The first call checks issuance only
    (every CA of the trust root, at the leaf's own start): it tells an untrusted certificate from one used at
    the wrong time. Later calls use the CAs the trust root vouches for at that signing time."""
    cas = (
        root.certificate_authorities
        if first
        else [ca for ca in root.certificate_authorities if ca.validity.contains(at)]
    )
    problem = "no certificate authority of the trust root is valid then"
    if cas:
        try:
            return _build_chain(leaf, bundle_chain, cas, at)
        except ChainError as exc:
            problem = str(exc)
    if first:
        raise SignatureError(
            f"{where}: the signing certificate was not issued by a trusted CA: its issuer "
            f"{leaf.issuer.rfc4514_string()!r} does not chain to {root.source or 'the trust root'}",
            hint=f"{problem}; give the signer's trust root with --trusted-root FILE or --ca-roots PEM",
        )
    assert when is not None
    raise SignatureError(
        f"{where}: the certificate chain is not valid at the time of signing {when.describe()}: {problem}"
    )


def _build_chain(
    leaf: x509.Certificate,
    bundle_chain: Sequence[x509.Certificate],
    cas: Sequence[CertificateAuthority],
    at: datetime,
) -> list[x509.Certificate]:
    """The issuers of ``leaf`` (anchor last) at ``at``, anchored only in the trust root's CA roots."""
    anchors = list({ca.root.fingerprint(hashes.SHA256()): ca.root for ca in cas}.values())
    pool = [*bundle_chain, *(cert for ca in cas for cert in ca.intermediates)]
    return verified_chain(leaf, pool, anchors, at)[1:]


def check_code_signing(leaf: x509.Certificate, where: str) -> None:
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        extended = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise SignatureError(
            f"{where}: the signing certificate is not a code-signing certificate ({exc})"
        ) from exc
    if not usage.digital_signature or x509.oid.ExtendedKeyUsageOID.CODE_SIGNING not in extended:
        raise SignatureError(
            f"{where}: the signing certificate is not a code-signing certificate (key usage digitalSignature "
            "and extended key usage codeSigning are required)"
        )


def check_identity(
    identities: Sequence[str], issuer: str, leaf: x509.Certificate, policy: KeylessPolicy, where: str
) -> None:
    # A certificate naming an identity proves only that *someone* got it from the CA; anyone can, on
    # public-good. So the caller must say whom they expect (cosign's rule). Certificates of private CAs that
    # name no one (Chainloop's) can only be constrained by the CA itself.
    if identities and not policy.constrains_identity:
        raise UsageError(
            f"{where}: the certificate names {identities[0]!r}: say which identity you expect with "
            "--certificate-identity or --certificate-identity-regexp"
        )
    if issuer and not policy.constrains_issuer:
        raise UsageError(
            f"{where}: the certificate was issued through {issuer!r}: say which OIDC issuer you expect with "
            "--certificate-oidc-issuer or --certificate-oidc-issuer-regexp"
        )
    named = ", ".join(repr(i) for i in identities) or repr(leaf.subject.rfc4514_string())
    if policy.identity is not None and policy.identity not in identities:
        raise SignatureError(f"{where}: signed by {named}, not the expected {policy.identity!r}")
    if policy.identity_regexp is not None and not any(
        re.fullmatch(policy.identity_regexp, i) for i in identities
    ):
        raise SignatureError(f"{where}: signed by {named}, which does not match {policy.identity_regexp!r}")
    got = repr(issuer) if issuer else "no OIDC issuer"
    if policy.issuer is not None and issuer != policy.issuer:
        raise SignatureError(f"{where}: certificate issued through {got}, not the expected {policy.issuer!r}")
    if policy.issuer_regexp is not None and not (issuer and re.fullmatch(policy.issuer_regexp, issuer)):
        raise SignatureError(
            f"{where}: certificate issued through {got}, which does not match {policy.issuer_regexp!r}"
        )
