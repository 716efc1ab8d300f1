"""Asking a timestamp authority (TSA) over HTTP for an RFC 3161 timestamp over a signature:
:func:`request_timestamp` returns the ``TimeStampResp`` DER that bundles store."""

from __future__ import annotations

import hashlib
import urllib.parse

from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.signing.timestamp._shared import _STATUS, _first_line, _rfc3161
from crafter.errors import SigningError

#: The environment variable ``crafter push --timestamp-server`` reads.
TIMESTAMP_SERVER_ENV = "CRAFTER_TIMESTAMP_SERVER"

# A TimeStampResp is a few KiB (a token with a 4-certificate chain ~8 KiB); more is not a TSA answering.
MAX_RESPONSE_BYTES = 1 << 20


def request_timestamp(url: str, signature: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Ask the TSA at ``url`` for a timestamp over ``signature`` (SHA-256 message imprint, a random nonce,
    certReq so the token carries the TSA's certificate) and return its ``TimeStampResp`` DER, as bundles
    store it. The answer must be granted, for this nonce and imprint; its signature is not checked here
    (that needs the TSA's roots: :func:`verify_timestamp`). Every failure is one :class:`SigningError`.

    ``timeout``: seconds for the whole exchange (``--http-timeout``); the answer may be at most
    :data:`MAX_RESPONSE_BYTES`."""
    r = _rfc3161(SigningError)
    _check_url(url)
    if not signature:
        raise SigningError(f"timestamp server {url}: nothing to timestamp (empty signature)")
    request = (
        r.TimestampRequestBuilder()
        .data(signature)
        .hash_algorithm(r.HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    body = _post(url, request.as_bytes(), timeout)
    try:
        response = r.decode_timestamp_response(body)
    except ValueError as exc:
        raise SigningError(
            f"timestamp server {url}: the answer is not an RFC 3161 TimeStampResp ({_first_line(exc)})",
            hint="is the URL the TSA's RFC 3161 endpoint (e.g. https://freetsa.org/tsr)?",
        ) from None
    if response.status != 0:
        texts = "; ".join(response.status_string)
        raise SigningError(
            f"timestamp server {url}: the request was refused: status "
            f"{_STATUS.get(response.status, response.status)}{f' ({texts})' if texts else ''}",
            hint="the TSA may need another hash algorithm or policy, or be out of service",
        )
    info = response.tst_info
    if info.nonce != request.nonce:
        raise SigningError(
            f"timestamp server {url}: the answer is for another request (nonce mismatch)",
            hint="a proxy or cache between us and the TSA may replay old answers",
        )
    imprint = info.message_imprint
    if imprint.hash_algorithm.dotted_string != "2.16.840.1.101.3.4.2.1" or (
        imprint.message != hashlib.sha256(signature).digest()
    ):
        raise SigningError(
            f"timestamp server {url}: the answer timestamps other bytes than the signature sent"
        )
    if len(response.signed_data.signer_infos) != 1:
        raise SigningError(f"timestamp server {url}: the token must have exactly one signer")
    return body


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SigningError(
            f"timestamp server {url!r} is not an http(s) URL",
            hint="e.g. --timestamp-server https://freetsa.org/tsr",
        )


def _post(url: str, data: bytes, timeout: float) -> bytes:
    from crafter._internal import http
    from crafter._version import __version__

    headers = {
        "Content-Type": "application/timestamp-query",
        "Accept": "application/timestamp-reply",
        "User-Agent": f"crafter/{__version__}",
    }
    hint = (
        f"check the URL and that the TSA is up; or sign without --timestamp-server / {TIMESTAMP_SERVER_ENV}"
    )
    # Loopback TSAs are reached directly; other hosts through the user's proxy settings, if any.
    answer = http.request(
        "POST",
        url,
        data=data,
        headers=headers,
        peer=f"timestamp server {url}",
        what="answer",
        max_bytes=MAX_RESPONSE_BYTES,
        error=SigningError,
        timeout=timeout,
        hint=hint,
    )
    if not 200 <= answer.status < 300:
        raise SigningError(
            f"timestamp server {url}: HTTP {answer.status} {answer.reason}".rstrip(), hint=hint
        )
    return answer.body
