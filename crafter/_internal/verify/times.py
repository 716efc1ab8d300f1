"""Verified times of signing of a keyless bundle: :class:`SigningTime`, and the times its RFC 3161 timestamps
prove, verified against the trust root's timestamp authorities."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from crafter._internal.trust import TrustRoot
from crafter._internal.verify.primitives import b64_field
from crafter.errors import CrafterError, SignatureError

# sigstore-go and sigstore-python stop at this many timestamps: more is an attempt to make us work.
_MAX_TIMESTAMPS = 32


@attrs.frozen
class SigningTime:
    """A verified time at which the signature existed, and where it comes from."""

    time: datetime
    source: str  # "rfc3161" | "tlog" | "current-time"
    authority: str = ""  # the TSA's subject, the log's URL

    def describe(self) -> str:
        label = {"rfc3161": "RFC 3161 timestamp", "tlog": "transparency log"}.get(self.source, "current time")
        return f"{self.time.isoformat()} ({label}{', ' + self.authority if self.authority else ''})"

    def to_dict(self) -> dict[str, str]:
        d = {"time": self.time.isoformat(), "source": self.source}
        if self.authority:
            d["authority"] = self.authority
        return d


def timestamp_times(
    material: Mapping[str, Any], signature: bytes, root: TrustRoot, where: str
) -> list[SigningTime]:
    data = material.get("timestampVerificationData") or {}
    tokens = data.get("rfc3161Timestamps") or [] if isinstance(data, Mapping) else None
    if not isinstance(tokens, list):
        raise SignatureError(f"{where}: timestampVerificationData.rfc3161Timestamps must be a list")
    if not tokens:
        return []
    if len(tokens) > _MAX_TIMESTAMPS:
        raise SignatureError(f"{where}: {len(tokens)} timestamps, more than the {_MAX_TIMESTAMPS} accepted")
    if not root.timestamp_authorities:
        raise SignatureError(
            f"{where}: the bundle has RFC 3161 timestamps but the trust root ({root.source}) has no timestamp "
            "authority to check them with",
            hint="give the TSA's chain (--timestamp-certificate-chain PEM, or in the --trusted-root file)",
        )
    times = []
    for index, item in enumerate(tokens):
        token = b64_field(item.get("signedTimestamp") if isinstance(item, Mapping) else None)
        if token is None:
            raise SignatureError(f"{where}: RFC 3161 timestamp {index} is not base64")
        times.append(verify_token(token, signature, root, f"{where}: RFC 3161 timestamp {index}"))
    return times


def verify_token(token: bytes, signature: bytes, root: TrustRoot, label: str) -> SigningTime:
    """The time an RFC 3161 ``token`` over ``signature`` proves, verified against one of the trust root's
    timestamp authorities, inside the window the trust root gives it; :class:`SignatureError` otherwise."""
    from crafter._internal.signing.timestamp import verify_timestamp as verify

    problems = []
    for tsa in root.timestamp_authorities:
        try:
            info = verify(token, signature, roots=[tsa.root], intermediates=list(tsa.intermediates))
        except (CrafterError, ValueError) as exc:
            problems.append(f"{tsa.name}: {exc}")
            continue
        when = info.time if info.time.tzinfo else info.time.replace(tzinfo=UTC)
        if not tsa.validity.contains(when):
            problems.append(f"{tsa.name}: the trust root vouches for it from {tsa.validity.describe()}")
            continue
        return SigningTime(when, "rfc3161", str(getattr(info, "authority", "")) or tsa.name)
    raise SignatureError(
        f"{label} does not verify against the trust root's timestamp authorities",
        hint="; ".join(problems) or f"the trust root ({root.source}) has no timestamp authority",
    )
