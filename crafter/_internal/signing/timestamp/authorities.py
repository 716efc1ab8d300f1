"""The TSAs a user trusts, given as one chain file (``--timestamp-certificate-chain``, read with
:func:`crafter._internal.trust.load_pem_certificates`): splitting its roots from the rest. Adding them to a keyless
policy's trust root is verification's part (:func:`crafter._internal.verify.keyless.with_timestamp_authorities`)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from crafter.errors import UsageError

_CHAIN_OPTION = "--timestamp-certificate-chain"


def split_chain(
    chain: Sequence[x509.Certificate],
) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """A TSA chain file's (self-signed) roots and the rest (intermediates, the TSA's own certificate).

    One file, as cosign's ``--timestamp-certificate-chain`` takes it; only self-signed certificates are
    anchors, so a chain that lacks its root trusts nothing rather than its intermediate."""
    roots = [c for c in chain if c.subject == c.issuer and _self_signed(c)]
    if not roots:
        raise UsageError(
            f"{_CHAIN_OPTION}: the file holds no self-signed root certificate",
            hint="a TSA chain file ends with the root CA certificate",
        )
    return roots, [c for c in chain if c not in roots]


def _self_signed(cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
