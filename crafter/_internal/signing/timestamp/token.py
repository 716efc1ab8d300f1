"""Reading a timestamp token without trusting it: decoding a ``TimeStampResp`` (or a bare ``TimeStampToken``),
finding its signer's certificate, and what it says (:class:`TimestampInfo`, :func:`parse_timestamp`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from cryptography import x509

from crafter._internal.signing.timestamp._shared import _HASHES, _STATUS, _first_line, _rfc3161, _rfc3339
from crafter.errors import CrafterError, SignatureError

_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")  # DER of OID 1.2.840.113549.1.7.2


@attrs.frozen
class TimestampInfo:
    """What a timestamp token says. ``verified`` is true only when :func:`verify_timestamp` made it."""

    time: datetime  # genTime, UTC
    authority: str  # the TSA: its certificate's subject, else the token's tsa name, else who issued its cert
    serial: str  # the token's serial number, hex
    hash_algorithm: str = "sha256"  # of the message imprint
    policy: str = ""  # the TSA policy OID
    verified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": _rfc3339(self.time),
            "authority": self.authority,
            "serial": self.serial,
            "hashAlgorithm": self.hash_algorithm,
            "policy": self.policy,
            "verified": self.verified,
        }

    def describe(self) -> str:
        return f"{_rfc3339(self.time)} by {self.authority}"


def _decode(token: bytes) -> Any:
    """The ``TimeStampResp`` of ``token`` (a response, or a bare token wrapped as a granted response)."""
    r = _rfc3161(CrafterError)
    try:
        return r.decode_timestamp_response(token)
    except ValueError as exc:
        problem = _first_line(exc)
    if token[:1] == b"\x30" and _SIGNED_DATA_OID in token[:24]:  # a bare TimeStampToken (ContentInfo)
        try:
            return r.decode_timestamp_response(_der_sequence(b"\x30\x03\x02\x01\x00" + token))
        except ValueError as exc:
            problem = _first_line(exc)
    raise SignatureError(f"not an RFC 3161 timestamp: {problem}")


def _der_sequence(content: bytes) -> bytes:
    n = len(content)
    length = (
        bytes([n])
        if n < 0x80
        else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    )
    return b"\x30" + length + content


def _signer_id(response: Any) -> tuple[x509.Name, int]:
    infos = list(response.signed_data.signer_infos)
    if len(infos) != 1:
        raise SignatureError(f"the timestamp has {len(infos)} signers, expected exactly one")
    return infos[0].issuer, infos[0].serial_number


def _embedded(response: Any) -> list[x509.Certificate]:
    try:
        return [x509.load_der_x509_certificate(c) for c in response.signed_data.certificates]
    except ValueError as exc:
        raise SignatureError(f"the timestamp embeds a certificate that cannot be parsed: {exc}") from None


def _find_signer(response: Any, candidates: Sequence[x509.Certificate]) -> x509.Certificate | None:
    issuer, serial = _signer_id(response)
    for cert in candidates:
        if cert.issuer == issuer and cert.serial_number == serial:
            return cert
    return None


def _info(response: Any, leaf: x509.Certificate | None, *, verified: bool) -> TimestampInfo:
    tst = response.tst_info
    if response.status not in (0, 1):
        raise SignatureError(f"the timestamp's status is {_STATUS.get(response.status, response.status)}")
    oid = tst.message_imprint.hash_algorithm.dotted_string
    authority = ""
    if leaf is not None:
        authority = leaf.subject.rfc4514_string()
    elif tst.name is not None and isinstance(tst.name, x509.DirectoryName):
        authority = tst.name.value.rfc4514_string()
    elif tst.name is not None:
        authority = str(tst.name.value)
    if not authority:
        issuer, serial = _signer_id(response)
        authority = f"a TSA certified by {issuer.rfc4514_string()} (serial {serial:x})"
    when = tst.gen_time
    return TimestampInfo(
        time=when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC),
        authority=authority,
        serial=format(tst.serial_number, "x"),
        hash_algorithm=_HASHES.get(oid, (oid, None))[0],
        policy=tst.policy.dotted_string if tst.policy is not None else "",
        verified=verified,
    )


def parse_timestamp(token: bytes) -> TimestampInfo:
    """What ``token`` says (time, authority, serial), without verifying anything; for display. Raises
    :class:`SignatureError` when it is not an RFC 3161 timestamp."""
    response = _decode(token)
    return _info(response, _find_signer(response, _embedded(response)), verified=False)
