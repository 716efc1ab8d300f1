"""Building a certificate's chain to a set of anchors at a given time (cryptography's X.509 verifier).

Used for Fulcio-style signing certificates (crafter._internal.verify.certificate) and RFC 3161 TSA certificates
(crafter._internal.signing.timestamp.verify). Both follow the WebPKI profile with two relaxations: the leaf need not name a
SAN (Chainloop's CA and TSAs issue none) and an extended key usage other than serverAuth/clientAuth is allowed
on leaves and CAs; the caller checks the usage it needs (codeSigning, timeStamping) itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509

__all__ = ["ChainError", "verified_chain"]


class ChainError(ValueError):
    """No chain from the leaf to an anchor at that time; the message says why, in plain words."""


def verified_chain(
    leaf: x509.Certificate,
    pool: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    at: datetime,
    *,
    critical_eku: bool = False,
) -> list[x509.Certificate]:
    """The chain from ``leaf`` (first) to one of ``anchors`` (last) valid at ``at``, through certificates of
    ``pool``; only ``anchors`` are trusted. ``critical_eku``: the EKU extension may be critical (RFC 3161
    requires it for TSA certificates)."""
    from cryptography.x509.verification import (
        Criticality,
        ExtensionPolicy,
        PolicyBuilder,
        Store,
        VerificationError,
    )

    eku = Criticality.AGNOSTIC if critical_eku else Criticality.NON_CRITICAL
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(x509.ExtendedKeyUsage, eku, None)
    ee_policy = (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.ExtendedKeyUsage, eku, None)
        .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    )
    try:
        verifier = (
            PolicyBuilder()
            .store(Store(list(anchors)))
            .time(at)
            .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
            .build_client_verifier()
        )
        return list(verifier.verify(leaf, list(pool)).chain)
    except (VerificationError, x509.UnsupportedGeneralNameType, ValueError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "candidates exhausted" in text and "no interior errors" in text:
            # cryptography's words for "no issuer of this certificate is among the anchors or the pool"
            text = "none of its issuers is a trusted root or among the certificates given"
        raise ChainError(text) from exc
