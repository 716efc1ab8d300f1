"""DSSE (Dead Simple Signing Envelope) v1: the pre-authentication encoding and the envelope model.

Spec: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md and envelope.md. A signature
never covers the payload alone but ``PAE(payloadType, payload)``, so a payload cannot be re-interpreted as
another type.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import attrs

from crafter.errors import SigningError

#: The payload type of an in-toto statement inside DSSE.
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"

# A base64 text (standard or URL-safe alphabet, optional padding). Used only to spot the historic
# double-encoded signature; a DER ECDSA signature (0x30 0x4x 0x02 ...) can never match it.
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/_-]+={0,2}")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 pre-authentication encoding: ``DSSEv1 SP LEN(type) SP type SP LEN(body) SP body``.

    Lengths are ASCII decimal byte counts; the type is UTF-8 encoded. The length prefixes make the encoding
    injective, which is what stops a signature over one (type, payload) pair being valid for another.
    """
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


class Signature(NamedTuple):
    """One DSSE signature: the (unauthenticated) key id hint and the raw signature bytes."""

    keyid: str
    sig: bytes


def _to_signatures(value: Iterable[tuple[str, bytes]]) -> tuple[Signature, ...]:
    return tuple(Signature(*pair) for pair in value)


def _check_signatures(_inst: object, _attr: object, value: tuple[Signature, ...]) -> None:
    for sig in value:
        if not isinstance(sig.keyid, str) or not isinstance(sig.sig, bytes):
            raise TypeError(f"a DSSE signature is (keyid: str, sig: bytes), got {sig!r}")


@attrs.frozen
class Envelope:
    """A DSSE envelope; ``payload`` holds the exact bytes that were signed (never re-serialised)."""

    payload: bytes = attrs.field(validator=attrs.validators.instance_of(bytes))
    payload_type: str = attrs.field(validator=attrs.validators.instance_of(str))
    signatures: tuple[Signature, ...] = attrs.field(
        default=(), converter=_to_signatures, validator=_check_signatures
    )

    def pae(self) -> bytes:
        """The bytes every signature of this envelope covers."""
        return pae(self.payload_type, self.payload)

    def to_dict(self) -> dict[str, Any]:
        """The DSSE JSON form (standard base64 with padding). ``keyid`` is always written, possibly empty,
        because some verifiers (securesystemslib) require the key."""
        return {
            "payload": _b64encode(self.payload),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": s.keyid, "sig": _b64encode(s.sig)} for s in self.signatures],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, tolerate_double_base64: bool = True) -> Envelope:
        """Parse the DSSE JSON form without touching ``data``.

        Accepts standard and URL-safe base64, with or without padding (as the DSSE spec asks of readers).
        With ``tolerate_double_base64`` a signature whose decoded bytes are themselves base64 text is decoded
        once more: Chainloop bundles written before its bug #1832 was fixed carry ``base64(base64(sig))``.
        Raises :class:`SigningError` on anything malformed.
        """
        if not isinstance(data, Mapping):
            raise SigningError(f"invalid DSSE envelope: expected a JSON object, got {type(data).__name__}")
        payload_type = data.get("payloadType")
        if not isinstance(payload_type, str):
            raise SigningError("invalid DSSE envelope: 'payloadType' must be a string")
        payload = _b64decode(data.get("payload"), "payload")
        raw_sigs = data.get("signatures", [])
        if not isinstance(raw_sigs, list):
            raise SigningError("invalid DSSE envelope: 'signatures' must be a list")
        signatures: list[Signature] = []
        for index, item in enumerate(raw_sigs):
            if not isinstance(item, Mapping):
                raise SigningError(f"invalid DSSE envelope: signatures[{index}] must be an object")
            keyid = item.get("keyid", "")
            if not isinstance(keyid, str):
                raise SigningError(f"invalid DSSE envelope: signatures[{index}].keyid must be a string")
            sig = _b64decode(item.get("sig"), f"signatures[{index}].sig")
            if tolerate_double_base64:
                sig = _undo_double_base64(sig)
            signatures.append(Signature(keyid, sig))
        return cls(payload=payload, payload_type=payload_type, signatures=tuple(signatures))


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise SigningError(f"invalid DSSE envelope: '{field}' must be a base64 string")
    text = value.strip()
    if not _BASE64_TEXT.fullmatch(text.encode("ascii", "replace")) and text:
        raise SigningError(f"invalid DSSE envelope: '{field}' is not base64")
    return _decode_text(text.encode("ascii"), field)


def _decode_text(text: bytes, field: str) -> bytes:
    # Normalise URL-safe to standard and restore the padding, then decode strictly.
    std = text.rstrip(b"=").replace(b"-", b"+").replace(b"_", b"/")
    std += b"=" * (-len(std) % 4)
    try:
        return base64.b64decode(std, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SigningError(f"invalid DSSE envelope: '{field}' is not base64 ({exc})") from exc


def _undo_double_base64(sig: bytes) -> bytes:
    if not sig or not _BASE64_TEXT.fullmatch(sig):
        return sig
    try:
        inner = _decode_text(sig, "sig")
    except SigningError:
        return sig
    return inner or sig
