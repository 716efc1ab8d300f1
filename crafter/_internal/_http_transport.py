"""The transport under :func:`crafter._internal.http.request`: connections whose every socket read and write gets the time
left before one deadline, and urllib handlers that make them (kept apart so that importing :mod:`crafter._internal.http`
costs nothing until a request is made)."""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
import urllib.request
from collections.abc import Callable
from typing import Any, cast


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


class _DeadlineSocket:
    """A connected socket whose every read and write gets the time left before the deadline as its timeout.

    ``http.client`` reads the status line and headers through ``makefile``; the reader made here goes through
    :meth:`recv_into`, so the headers are under the deadline too, not only the body. The socket is closed
    once the connection and every reader made from it are closed (as :class:`socket.socket` does)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._readers = 0
        self._closed = False

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer, nbytes)

    def sendall(self, data: Any) -> None:
        # sendall's timeout bounds the whole call, not each send.
        self._sock.settimeout(_remaining(self._deadline))
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        if mode != "rb":
            raise ValueError(f"unsupported makefile mode {mode!r}")
        self._readers += 1
        return io.BufferedReader(_Reader(self))

    def release(self) -> None:
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self._sock.close()

    def close(self) -> None:
        self._closed = True
        if self._readers <= 0:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Reader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket) -> None:
        super().__init__()
        self._socket: _DeadlineSocket | None = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._socket is None:
            raise ValueError("read from a closed HTTP answer")
        return self._socket.recv_into(buffer)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.release()
            self._socket = None
        super().close()


class _Connection(http.client.HTTPConnection):
    def __init__(self, host: str, *, deadline: float, **kwargs: Any) -> None:
        kwargs.pop("timeout", None)
        super().__init__(host, timeout=_remaining(deadline), **kwargs)
        self.deadline = deadline

    def connect(self) -> None:
        self.timeout = _remaining(self.deadline)  # connect() bounds the connection with it
        super().connect()
        self.sock = cast(socket.socket, _DeadlineSocket(self.sock, self.deadline))


class _TLSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, *, deadline: float, **kwargs: Any) -> None:
        kwargs.pop("timeout", None)
        super().__init__(host, timeout=_remaining(deadline), **kwargs)
        self.deadline = deadline

    def connect(self) -> None:
        # The TLS handshake, like sendall, counts its timeout for the whole handshake.
        self.timeout = _remaining(self.deadline)
        super().connect()
        self.sock = cast(socket.socket, _DeadlineSocket(self.sock, self.deadline))


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: float) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        def connection(host: str, **kwargs: Any) -> _Connection:
            return _Connection(host, deadline=self._deadline, **kwargs)

        return self.do_open(connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: float, context: ssl.SSLContext | None) -> None:
        super().__init__(context=context)
        self._deadline = deadline
        self._tls = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        def connection(host: str, **kwargs: Any) -> _TLSConnection:
            return _TLSConnection(host, deadline=self._deadline, context=self._tls, **kwargs)

        return self.do_open(connection, req)


class _Unread:
    """A redirect's body, never read: urllib would read all of it, however large, before following."""

    def __init__(self, fp: Any) -> None:
        self._fp = fp

    def read(self, *args: Any) -> bytes:
        return b""

    @property
    def closed(self) -> bool:
        return bool(getattr(self._fp, "closed", True))

    def close(self) -> None:
        self._fp.close()


class _Redirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, check: Callable[[str], None] | None) -> None:
        self._check = check

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if self._check is not None:
            self._check(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)

    def http_error_302(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any) -> Any:
        return super().http_error_302(req, cast(Any, _Unread(fp)), code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def opener_for(
    url: str,
    deadline: float,
    ca_file: str | None,
    check_redirect: Callable[[str], None] | None,
    *,
    direct: bool,
) -> urllib.request.OpenerDirector:
    """An opener whose connections end at ``deadline``; ``direct``: no proxy (for loopback hosts)."""
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    proxies = urllib.request.ProxyHandler({} if direct else None)
    return urllib.request.build_opener(
        proxies, _HTTPHandler(deadline), _HTTPSHandler(deadline, context), _Redirects(check_redirect)
    )
