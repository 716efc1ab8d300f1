"""The one HTTP client of crafter's own network calls (registries, timestamp authorities, remote policies).

:func:`request` makes one request under two limits, both named in its errors:

* a **deadline** for the whole exchange: connecting, sending, the status line and headers, the body, and any
  redirects. Before every read from the socket the remaining time becomes the socket's timeout, and a read
  that would start after the deadline is not made, so a server that trickles one byte at a time is cut off
  when the time is up, not after a timeout per read (``--http-timeout``, :data:`DEFAULT_TIMEOUT`);
* a **size cap** on the answer's body, per kind of document: a ``Content-Length`` above it is refused before
  anything is read, and a body without one is read in small chunks and refused at the first byte beyond it.
  Bodies of error answers (4xx, 5xx) are truncated to :data:`ERROR_BODY_BYTES` instead: they only feed
  messages.

A large body can go to a ``sink`` (a write function) instead of memory. Loopback hosts are reached directly,
others through the proxies of the environment. ``Authorization`` is never forwarded to a redirect's target.
Every failure is one line of the caller's :class:`~crafter.errors.CrafterError` class; nothing here keeps
state between requests.

Not bounded: resolving the host name (the system resolver's own timeouts apply), and the answer of an HTTPS
proxy to ``CONNECT`` (each read has the remaining time, but not the whole). See docs/security.md. The
transport (sockets, urllib handlers) is in :mod:`crafter._internal._http_transport`, imported by the first request only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from crafter.errors import CrafterError

__all__ = [
    "DEFAULT_TIMEOUT",
    "ERROR_BODY_BYTES",
    "TIMEOUT_ENV",
    "TIMEOUT_OPTION",
    "Response",
    "format_size",
    "is_loopback",
    "request",
]

#: Seconds one request may take, connection to last byte, unless the caller gives another deadline.
DEFAULT_TIMEOUT = 60.0
#: The environment variable and the global option of the ``crafter`` command that set the deadline.
TIMEOUT_ENV = "CRAFTER_HTTP_TIMEOUT"
TIMEOUT_OPTION = "--http-timeout"
#: How much of an error answer's body is read (it only goes into messages).
ERROR_BODY_BYTES = 64 << 10
_CHUNK = 64 << 10


@attrs.frozen
class Response:
    """An answer, whatever its status: callers decide what a 404 or a 500 means."""

    status: int
    reason: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes  # empty when it went to the sink
    url: str  # after redirects


def format_size(size: int) -> str:
    """``4 MiB``, ``64 KiB``, ``1000 bytes``: a cap as messages name it."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} bytes"


def is_loopback(url: str) -> bool:
    """Whether the URL's host is ``localhost`` or a loopback address."""
    import ipaddress

    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def request(
    method: str,
    url: str,
    *,
    peer: str,
    what: str,
    max_bytes: int,
    error: type[CrafterError],
    timeout: float = DEFAULT_TIMEOUT,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    authorization: str | None = None,
    sink: Callable[[bytes], object] | None = None,
    ca_file: str | None = None,
    check_redirect: Callable[[str], None] | None = None,
    unreachable: str | None = None,
    hint: str | None = None,
) -> Response:
    """One HTTP request, finished within ``timeout`` seconds, its body at most ``max_bytes``.

    ``peer`` names the server in every message (``registry 127.0.0.1:5000``, ``timestamp server URL``), and
    ``what`` the document expected (``manifest``): ``registry 127.0.0.1:5000: the manifest is larger than
    4 MiB: refused``; ``...: no complete answer within 30 s (--http-timeout)``. A failure to connect or a
    broken answer reads ``{unreachable}: {reason}`` (default ``{peer}: cannot connect``), with ``hint``.
    All of them are raised as ``error``.

    ``authorization`` is sent to ``url`` only, not to where it redirects; ``check_redirect`` may refuse a
    redirect's target by raising. A 2xx body goes to ``sink`` when given (``Response.body`` is then empty).
    ``ca_file``: the CA certificates to trust for HTTPS, instead of the system's.
    """
    import http.client
    import urllib.error
    import urllib.request

    from crafter._internal._http_transport import opener_for

    if not timeout > 0:
        raise ValueError(f"the HTTP timeout must be positive, not {timeout!r}")
    deadline = time.monotonic() + timeout
    limits = _Limits(peer, what, max_bytes, error, timeout)
    opener = opener_for(url, deadline, ca_file, check_redirect, direct=is_loopback(url))
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if authorization:
        req.add_unredirected_header("Authorization", authorization)
    try:
        try:
            answer: Any = opener.open(req, timeout=timeout)
        except urllib.error.HTTPError as exc:  # any status: the caller decides
            answer = exc
        try:
            return _read(answer, method, url, deadline, limits, sink)
        finally:
            answer.close()
    except CrafterError:
        raise
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise limits.late() from None
        text = getattr(exc.reason, "strerror", None) or str(exc.reason)
        raise error(f"{unreachable or peer + ': cannot connect'}: {text}", hint=hint) from None
    except TimeoutError:
        raise limits.late() from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise error(f"{unreachable or peer + ': cannot connect'}: {text}", hint=hint) from None


@attrs.frozen
class _Limits:
    peer: str
    what: str
    max_bytes: int
    error: type[CrafterError]
    timeout: float

    def late(self) -> CrafterError:
        return self.error(
            f"{self.peer}: no complete answer within {self.timeout:g} s ({TIMEOUT_OPTION})",
            hint=f"the server is slow or stalled; allow more time with {TIMEOUT_OPTION} SECONDS "
            f"(env {TIMEOUT_ENV})",
        )

    def too_large(self) -> CrafterError:
        return self.error(
            f"{self.peer}: the {self.what} is larger than {format_size(self.max_bytes)}: refused"
        )


def _read(
    answer: Any,
    method: str,
    url: str,
    deadline: float,
    limits: _Limits,
    sink: Callable[[bytes], object] | None,
) -> Response:
    status = int(answer.status)
    headers = {k.lower(): v for k, v in answer.headers.items()}
    failed = status >= 400
    limit = min(limits.max_bytes, ERROR_BODY_BYTES) if failed else limits.max_bytes
    length = headers.get("content-length", "").strip()
    if method != "HEAD" and not failed and length.isdigit() and int(length) > limit:
        raise limits.too_large()
    to_sink = sink is not None and 200 <= status < 300
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() >= deadline:
            raise TimeoutError("deadline passed")
        chunk: bytes = answer.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            if not failed:
                raise limits.too_large()
            chunks.append(chunk[: len(chunk) - (size - limit)])
            break
        if to_sink:
            assert sink is not None
            sink(chunk)
        else:
            chunks.append(chunk)
    reason = str(getattr(answer, "reason", "") or "")
    return Response(status, reason, headers, b"".join(chunks), str(getattr(answer, "url", "") or url))
