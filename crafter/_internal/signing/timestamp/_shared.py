"""What every timestamp module needs: ``rfc3161-client`` loaded lazily (it is an optional extra), the names of
TSA statuses and imprint hashes, and the small formatters of times and errors."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from crafter.errors import CrafterError

_EXTRA_HINT = "install the extra: pip install 'crafter-attest[timestamp]'"
_HASHES = {
    "2.16.840.1.101.3.4.2.1": ("sha256", hashlib.sha256),
    "2.16.840.1.101.3.4.2.2": ("sha384", hashlib.sha384),
    "2.16.840.1.101.3.4.2.3": ("sha512", hashlib.sha512),
}
_STATUS = {
    0: "granted",
    1: "granted with modifications",
    2: "rejection",
    3: "waiting",
    4: "revocation warning",
    5: "revocation notification",
}


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _rfc3161(error: type[CrafterError]) -> Any:
    try:
        import rfc3161_client
    except ImportError as exc:
        raise error(
            "RFC 3161 timestamps need rfc3161-client, which is not installed", hint=_EXTRA_HINT
        ) from exc
    return rfc3161_client


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
