"""Timestamps in a Sigstore bundle (``verificationMaterial.timestampVerificationData.rfc3161Timestamps``):
reading them, adding one from a TSA, and checking them against the bundle's signatures."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509

from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.signing.timestamp.request import request_timestamp
from crafter._internal.signing.timestamp.token import TimestampInfo, _decode, _embedded, _find_signer, _info
from crafter._internal.signing.timestamp.verify import _check_imprint, verify_timestamp
from crafter.errors import SignatureError, SigningError

# sigstore-go and sigstore-python stop at this many timestamps per bundle.
_MAX_TIMESTAMPS = 32


def bundle_timestamps(bundle: Mapping[str, Any]) -> list[bytes]:
    """The DER of every RFC 3161 timestamp of ``bundle`` (none: an empty list)."""
    material = bundle.get("verificationMaterial") or {}
    data = (material.get("timestampVerificationData") if isinstance(material, Mapping) else None) or {}
    if not isinstance(data, Mapping):
        raise SignatureError("timestampVerificationData must be an object")
    items = data.get("rfc3161Timestamps")
    if items is None:
        return []
    if not isinstance(items, list):
        raise SignatureError("timestampVerificationData.rfc3161Timestamps must be a list")
    if len(items) > _MAX_TIMESTAMPS:
        raise SignatureError(f"{len(items)} timestamps, more than the {_MAX_TIMESTAMPS} accepted")
    tokens = []
    for index, item in enumerate(items):
        value = item.get("signedTimestamp") if isinstance(item, Mapping) else None
        try:
            tokens.append(base64.b64decode(value, validate=True) if isinstance(value, str) else b"")
        except (binascii.Error, ValueError):
            tokens.append(b"")
        if not tokens[-1]:
            raise SignatureError(f"RFC 3161 timestamp {index} has no base64 signedTimestamp")
    return tokens


def add_timestamp(bundle: dict[str, Any], url: str, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """``bundle`` with a timestamp from the TSA at ``url`` over its DSSE signature appended (a new dict;
    ``bundle`` is not modified); ``timeout``: seconds for the TSA's whole answer. Errors: :class:`SigningError`."""
    import copy

    from crafter._internal.signing.bundle import envelope_from_bundle

    envelope = envelope_from_bundle(bundle)
    if len(envelope.signatures) != 1:
        raise SigningError(f"cannot timestamp an envelope with {len(envelope.signatures)} signatures")
    token = request_timestamp(url, envelope.signatures[0].sig, timeout=timeout)
    out = copy.deepcopy(bundle)
    material = out.setdefault("verificationMaterial", {})
    data = material.get("timestampVerificationData") or {}
    material["timestampVerificationData"] = data
    data.setdefault("rfc3161Timestamps", []).append(
        {"signedTimestamp": base64.b64encode(token).decode("ascii")}
    )
    return out


def check_bundle_timestamps(
    bundle: Mapping[str, Any],
    signatures: Sequence[bytes],
    *,
    roots: Sequence[x509.Certificate] = (),
    intermediates: Sequence[x509.Certificate] = (),
    where: str = "",
) -> tuple[TimestampInfo, ...]:
    """The timestamps of a bundle whose ``signatures`` verified (over its envelope, or its message): each
    must be over one of them; with ``roots`` each is verified (:func:`verify_timestamp`), without them only
    parsed (``verified`` false). Raises :class:`SignatureError` naming ``where`` and the timestamp."""
    try:
        tokens = bundle_timestamps(bundle)
    except SignatureError as exc:
        raise SignatureError((f"{where}: " if where else "") + exc.message, hint=exc.hint) from None
    return check_timestamps(
        list(enumerate(tokens)), signatures, roots=roots, intermediates=intermediates, where=where
    )


def check_timestamps(
    tokens: Sequence[tuple[int, bytes]],
    signatures: Sequence[bytes],
    *,
    roots: Sequence[x509.Certificate] = (),
    intermediates: Sequence[x509.Certificate] = (),
    where: str = "",
) -> tuple[TimestampInfo, ...]:
    """:func:`check_bundle_timestamps` for timestamps already read, each with its index in the bundle."""
    prefix = f"{where}: " if where else ""
    infos = []
    for index, token in tokens:
        problem: SignatureError | None = None
        for sig in signatures:
            try:
                if roots:
                    infos.append(verify_timestamp(token, sig, roots=roots, intermediates=intermediates))
                else:
                    response = _decode(token)
                    _check_imprint(response, sig)
                    infos.append(_info(response, _find_signer(response, _embedded(response)), verified=False))
            except SignatureError as exc:
                problem = problem or exc
                continue
            break
        else:
            message = problem.message if problem else "no verified signature to match"
            raise SignatureError(
                f"{prefix}RFC 3161 timestamp {index}: {message}", hint=problem.hint if problem else None
            )
    return tuple(infos)
