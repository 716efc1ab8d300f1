"""Verifying a timestamp token over a signature (:func:`verify_timestamp`): its message imprint, the TSA
certificate's timeStamping key usage, its chain to the given roots (:mod:`crafter._internal.signing.x509_chain`) and the
token's CMS signature."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from crafter._internal.signing.timestamp._shared import _HASHES, _STATUS, _first_line, _rfc3161, _rfc3339
from crafter._internal.signing.timestamp.token import (
    TimestampInfo,
    _decode,
    _embedded,
    _find_signer,
    _info,
    _signer_id,
)
from crafter.errors import CrafterError, SignatureError


def _check_imprint(response: Any, signature: bytes) -> None:
    imprint = response.tst_info.message_imprint
    oid = imprint.hash_algorithm.dotted_string
    if oid not in _HASHES:
        raise SignatureError(f"the timestamp's message imprint uses an unsupported hash algorithm {oid}")
    name, function = _HASHES[oid]
    if imprint.message != function(signature).digest():
        raise SignatureError(
            f"the timestamp is over other bytes than this signature (its {name} message imprint differs)"
        )


def verify_timestamp(
    token: bytes,
    signature: bytes,
    *,
    roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
) -> TimestampInfo:
    """Verify ``token`` as a timestamp over ``signature``: its message imprint is the hash (SHA-256, or the
    SHA-2 the token names) of ``signature``; the TSA's certificate (embedded in the token, else found among
    ``intermediates``) has the critical timeStamping extended key usage and chains, at the token's time, to
    one of ``roots`` (``intermediates`` only help build the chain); the token's CMS signature verifies with
    it. Returns the token's :class:`TimestampInfo` (``verified``); raises :class:`SignatureError` otherwise."""
    if not roots:
        raise SignatureError("no TSA root certificates to verify the timestamp against")
    response = _decode(token)
    if response.status != 0:
        raise SignatureError(f"the timestamp's status is {_STATUS.get(response.status, response.status)}")
    _check_imprint(response, signature)
    embedded = _embedded(response)
    issuer, serial = _signer_id(response)
    leaf = _find_signer(response, [*embedded, *intermediates])
    if leaf is None:
        raise SignatureError(
            "the timestamp does not embed its TSA certificate and none of the given certificates is it "
            f"(serial {serial:x} issued by {issuer.rfc4514_string()})",
            hint="put the TSA's own certificate in the chain file (--timestamp-certificate-chain PEM)",
        )
    _check_timestamping_eku(leaf)
    info = _info(response, leaf, verified=True)
    pool = [c for c in [*embedded, *intermediates] if c != leaf]
    chain = _verified_chain(leaf, pool, roots, info.time)
    if chain[-1].issuer != chain[-1].subject:
        # rfc3161-client's CMS check (OpenSSL) accepts only self-signed anchors.
        raise SignatureError(
            f"the TSA root {chain[-1].subject.rfc4514_string()} is not self-signed",
            hint="give the self-signed root of the TSA's chain as the root, the others as intermediates",
        )
    _verify_cms(response, signature, chain)
    return info


def _check_timestamping_eku(leaf: x509.Certificate) -> None:
    who = leaf.subject.rfc4514_string()
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise SignatureError(f"the TSA certificate {who} has no extended key usage (timeStamping)") from None
    if ExtendedKeyUsageOID.TIME_STAMPING not in eku.value or not eku.critical:
        raise SignatureError(
            f"the TSA certificate {who} is not for timestamping (RFC 3161 needs a critical extended key "
            "usage timeStamping)"
        )


def _verified_chain(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate], roots: Sequence[x509.Certificate], at: datetime
) -> list[x509.Certificate]:
    """The leaf's chain (leaf first, anchor last) to one of ``roots`` at ``at``; only ``roots`` anchor it."""
    from crafter._internal.signing.x509_chain import ChainError, verified_chain

    try:
        # TSA certificates carry a critical EKU (timeStamping, checked before) and no SAN.
        return verified_chain(leaf, pool, roots, at, critical_eku=True)
    except ChainError as exc:
        names = ", ".join(r.subject.rfc4514_string() for r in roots)
        raise SignatureError(
            f"the TSA certificate {leaf.subject.rfc4514_string()} does not chain to the given TSA roots "
            f"at {_rfc3339(at)}",
            hint=f"roots: {names}; {exc}",
        ) from None


def _verify_cms(response: Any, signature: bytes, chain: Sequence[x509.Certificate]) -> None:
    """The token's CMS signature (over its TSTInfo, signed attributes included) with the chain just built."""
    r = _rfc3161(CrafterError)
    verifier = r.VerifierBuilder(
        tsa_certificate=chain[0], intermediates=list(chain[1:-1]), roots=[chain[-1]]
    ).build()
    try:
        verifier.verify_message(response, signature)
    except (r.VerificationError, ValueError) as exc:
        raise SignatureError(
            f"the timestamp's signature does not verify with the TSA certificate "
            f"{chain[0].subject.rfc4514_string()}",
            hint=_first_line(exc),
        ) from None
