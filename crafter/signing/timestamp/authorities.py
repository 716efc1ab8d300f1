"""The TSAs a user trusts, given as one chain file (``--timestamp-certificate-chain``, read with
:func:`crafter.trust.load_pem_certificates`): splitting its roots from the rest, and adding them to a keyless
policy's trust root."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from crafter.errors import UsageError

if TYPE_CHECKING:
    from crafter.verify.keyless import KeylessPolicy

_CHAIN_OPTION = "--timestamp-certificate-chain"


def with_timestamp_authorities(
    policy: KeylessPolicy | None,
    roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
) -> KeylessPolicy | None:
    """``policy`` whose trust root (Sigstore public-good's by default) also trusts a TSA under each of
    ``roots``: how ``--timestamp-certificate-chain`` applies to keyless bundles, whose timestamps are time evidence."""
    if not roots:
        return policy
    from crafter.trust import CertificateAuthority, sigstore_trust_root
    from crafter.verify.keyless import KeylessPolicy

    policy = policy or KeylessPolicy()
    root = policy.trust_root or sigstore_trust_root()
    extra = tuple(CertificateAuthority((*intermediates, r)) for r in roots)
    root = attrs.evolve(
        root,
        timestamp_authorities=(*root.timestamp_authorities, *extra),
        source=f"{root.source} + {_CHAIN_OPTION}" if root.source else _CHAIN_OPTION,
    )
    return attrs.evolve(policy, trust_root=root)


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
