"""Hostile network peers against every network client crafter has.

Servers made here, on 127.0.0.1, answer every request in one of these ways:

* ``trickle``: a valid answer, status line and headers included, one byte every 0.2 s (minutes in all);
* ``drip``: the headers at once, then the body one byte every 0.2 s;
* ``flood``: ``Content-Length: 6000000000``, then zeros for as long as the client reads;
* ``endless``: no length, ``Connection: close``, then zeros for as long as the client reads;
* ``silent``: the request is read, and nothing ever answered.

The clients: ``crafter pull``, ``crafter verify oci://``, ``push --oci`` and ``add --cas oci://`` (crafter's
registry client), ``push --timestamp-server`` (the TSA request), ``policy eval`` of a remote policy, and AWS KMS
through botocore. Each run uses ``--http-timeout 2`` and must end within :data:`BOUND` seconds, with its exit
code and one error line naming the limit that stopped it; a flooding server must see the client hang up after
at most its cap plus what kernel buffers hold. Every connection and name resolution made during a test is
recorded by an audit hook and must be loopback, while the environment names a proxy that is not: crafter's
clients reach loopback hosts directly.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.storage.registry import RegistryClient
from crafter.errors import ExitCode
from crafter.storage import StoreError
from tests.conftest import run_cli
from tests.signing.tsa import TestTSA, serve
from tests.storage.conftest import Registry, clean_registry_env, registry  # noqa: F401 (fixtures)

TIMEOUT = 2.0
BOUND = 15.0  # seconds: the deadline plus a generous margin for a loaded machine
SLACK = 32 << 20  # bytes a flooding server may get into kernel buffers beyond the client's cap
MiB = 1 << 20
MODES = ("trickle", "drip", "flood", "endless", "silent")
LATE = f"no complete answer within {TIMEOUT:g} s (--http-timeout)"
# A proxy that is not on loopback: a client that used it would show up in the audit.
FAR_PROXY = "http://192.0.2.1:3128"
POLICY = """\
apiVersion: chainloop.dev/v1
kind: Policy
metadata: {name: control}
spec:
  policies:
    - kind: STRING
      embedded: |
        package main
        result := {"violations": []}
"""


# -- nothing leaves loopback ---------------------------------------------------------------------------------
_RECORDERS: list[list[str]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _RECORDERS:
        return
    if event == "socket.connect" and isinstance(args[1], tuple):
        host = str(args[1][0])
    elif event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
    else:
        return
    for recorder in _RECORDERS:
        recorder.append(host)


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one records only while a test runs


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The hosts connected to or resolved during the test; all must be loopback."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, FAR_PROXY)
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    seen: list[str] = []
    _RECORDERS.append(seen)
    try:
        yield seen
    finally:
        _RECORDERS.remove(seen)
    assert seen, "no connection was recorded: the audit hook does not see the clients"
    assert [h for h in seen if not _is_loopback(h)] == []


# -- the hostile server --------------------------------------------------------------------------------------
_PAD = "x" * 200
_ZEROS = bytes(64 << 10)


class Hostile:
    """A raw HTTP server on 127.0.0.1 answering every request as ``mode`` says (see the module docstring);
    ``routes`` give other modes to paths starting with a prefix (and ``challenge``: a 401 sending the client
    to ``/token`` for a Bearer token)."""

    def __init__(self, mode: str, routes: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.mode = mode
        self.body = body  # the answer of mode "ok"
        self.routes = routes or {}
        self.sent: list[int] = []  # bytes sent, per connection, once it ended
        self.requests: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._handlers: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def __enter__(self) -> Hostile:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(5)
        for handler in list(self._handlers):
            handler.join(5)

    def hung_up(self, timeout: float = 10.0) -> bool:
        """Whether every connection has ended (the client hung up) within ``timeout`` seconds."""
        end = time.monotonic() + timeout
        for handler in list(self._handlers):
            handler.join(max(0.0, end - time.monotonic()))
        return not any(h.is_alive() for h in self._handlers)

    def _serve(self) -> None:
        self._listener.settimeout(0.1)  # closing a socket does not wake a thread blocked in accept()
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            handler = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            with self._lock:
                self._handlers.append(handler)
            handler.start()

    def _handle(self, conn: socket.socket) -> None:
        sent = 0
        try:
            conn.settimeout(10)
            path = _read_request(conn)
            self.requests.append(path)
            mode = next((m for prefix, m in self.routes.items() if path.startswith(prefix)), self.mode)
            for data, pause in self._answer(mode):
                if self._stop.is_set():
                    break
                conn.sendall(data)
                sent += len(data)
                if pause:
                    self._stop.wait(pause)
        except OSError:
            pass  # the client hung up: what a flooded client must do
        finally:
            conn.close()
            with self._lock:
                self.sent.append(sent)

    def _answer(self, mode: str) -> Iterator[tuple[bytes, float]]:
        body = b"{}" + b" " * 1000
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"X-Padding: {_PAD}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        if mode == "trickle":
            for byte in head + body:
                yield bytes([byte]), 0.2
        elif mode == "drip":
            yield head, 0
            for byte in body:
                yield bytes([byte]), 0.2
        elif mode == "flood":
            yield (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 6000000000\r\n\r\n",
                0,
            )
            while True:
                yield _ZEROS, 0
        elif mode == "endless":
            yield b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n", 0
            while True:
                yield _ZEROS, 0
        elif mode == "ok":
            yield f"HTTP/1.1 200 OK\r\nContent-Length: {len(self.body)}\r\n\r\n".encode() + self.body, 0
        elif mode == "silent":
            self._stop.wait(60)
        elif mode == "challenge":
            realm = self.url("/token")
            yield (
                (
                    "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
                    f'WWW-Authenticate: Bearer realm="{realm}",service="hostile",scope="repository:x:pull"\r\n\r\n'
                ).encode(),
                0,
            )
        else:  # pragma: no cover
            raise AssertionError(mode)


def _read_request(conn: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise OSError("no request")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (int(v) for k, _, v in (line.partition(":") for line in lines) if k.lower() == "content-length"), 0
    )
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return lines[0].split(" ")[1]


@pytest.fixture(params=MODES)
def hostile(request: pytest.FixtureRequest) -> Iterator[Hostile]:
    with Hostile(str(request.param)) as server:
        yield server


# -- running the clients ---------------------------------------------------------------------------------------
@pytest.fixture
def work(cli_env: Path, clean_registry_env: Path) -> Path:  # noqa: F811 (the imported fixture)
    """``cli_env`` (key pair k.key / k.pub, password in the environment) without registry credentials."""
    return cli_env


def timed(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, float]:
    """``crafter --http-timeout 2 *args`` in-process: exit code, the error line, seconds taken."""
    start = time.monotonic()
    code, _, err = run_cli(capsys, "--http-timeout", f"{TIMEOUT:g}", *args)
    elapsed = time.monotonic() - start
    lines = [line for line in err.splitlines() if line.startswith("Error: ")]
    return code, lines[0] if lines else err, elapsed


def expected(server: Hostile, peer: str, what: str, cap: int) -> str:
    """The error each mode must end in: the deadline, or the cap on ``what``."""
    if server.mode in ("flood", "endless"):
        return f"Error: {peer}: the {what} is larger than {cap >> 20} MiB: refused"
    return f"Error: {peer}: {LATE}"


def check(server: Hostile, code: int, line: str, elapsed: float, want_code: int, want: str, cap: int) -> None:
    assert (code, line) == (want_code, want) or (code == want_code and line.startswith(want + ";")), line
    assert elapsed < BOUND
    if server.mode in ("flood", "endless"):
        assert server.hung_up(), "the client kept the flooding connection open"
        assert max(server.sent) < cap + SLACK, f"the client read far beyond its cap: {max(server.sent)} bytes"


def start_attestation(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "init", "--project", "p")
    assert code == 0, err


# -- the registry client ---------------------------------------------------------------------------------------
def test_pull(hostile: Hostile, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, line, elapsed = timed(capsys, "pull", f"oci://{hostile.host}/x/app:1", "--insecure")
    want = expected(hostile, f"registry {hostile.host}", "manifest", 4 * MiB)
    check(hostile, code, line, elapsed, ExitCode.STORE, want, 4 * MiB)


def test_verify_oci(hostile: Hostile, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("verify", f"oci://{hostile.host}/x/app:1", "--insecure", "--key", str(work / "k.pub"))
    code, line, elapsed = timed(capsys, *args)
    want = expected(hostile, f"registry {hostile.host}", "manifest", 4 * MiB)
    check(hostile, code, line, elapsed, ExitCode.STORE, want, 4 * MiB)


def test_push_oci(hostile: Hostile, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start_attestation(capsys)
    bundle = work / "b.sigstore.json"
    args = ("push", "--key", str(work / "k.key"), "--bundle", str(bundle), "--oci", f"{hostile.host}/x/app:1")
    code, line, elapsed = timed(capsys, *args, "--insecure")
    want = expected(hostile, f"registry {hostile.host}", "manifest", 4 * MiB)
    check(hostile, code, line, elapsed, ExitCode.STORE, want, 4 * MiB)
    assert line.endswith(f"the bundle is kept at {bundle}") and bundle.is_file()


@pytest.mark.parametrize("mode", ["trickle", "silent"])
def test_add_to_a_content_store(mode: str, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start_attestation(capsys)
    (work / "work" / "m.txt").write_text("material")
    with Hostile(mode) as server:
        args = ("add", "--name", "m", "--value", "m.txt", "--cas", f"oci://{server.host}/cas", "--insecure")
        code, line, elapsed = timed(capsys, *args)
    assert (code, line) == (ExitCode.STORE, f"Error: registry {server.host}: {LATE}")
    assert elapsed < BOUND


def test_token_answer_is_capped(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Hostile("flood", routes={"/v2/": "challenge"}) as server:
        code, line, elapsed = timed(capsys, "pull", f"oci://{server.host}/x/app:1", "--insecure")
        assert (code, line) == (
            ExitCode.STORE,
            f"Error: registry {server.host}: the token answer is larger than 1 MiB: refused",
        )
        assert elapsed < BOUND and "/token?" in " ".join(server.requests)
        assert server.hung_up()


def test_content_store_blobs_are_streamed_to_a_file_under_their_cap(tmp_path: Path) -> None:
    digest = "sha256:" + hashlib.sha256(b"x").hexdigest()
    target = tmp_path / "blob"
    with Hostile("endless") as server:
        client = RegistryClient(server.host, insecure=True, timeout=TIMEOUT)
        start = time.monotonic()
        with pytest.raises(StoreError) as err:
            client.download_blob("cas", digest, target, max_bytes=MiB)
        assert err.value.message == f"registry {server.host}: the blob is larger than 1 MiB: refused"
        assert time.monotonic() - start < BOUND and server.hung_up()
    assert not target.exists()  # nothing half-written is left


# -- the timestamp authority at push -----------------------------------------------------------------------------
def test_timestamp_server(hostile: Hostile, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start_attestation(capsys)
    tsa = hostile.url("/tsr")
    args = ("push", "--key", str(work / "k.key"), "--bundle", str(work / "b.json"), "--timestamp-server", tsa)
    code, line, elapsed = timed(capsys, *args)
    want = expected(hostile, f"timestamp server {tsa}", "answer", MiB)
    check(hostile, code, line, elapsed, ExitCode.SIGNING, want, MiB)
    assert not (work / "b.json").exists()
    assert run_cli(capsys, "status")[0] == 0  # the attestation is still in progress


# -- remote policies ---------------------------------------------------------------------------------------------
def test_remote_policy(hostile: Hostile, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = hostile.url("/policy.yaml")
    args = ("policy", "eval", "--policy", ref, "--material", "hello", "--kind", "STRING")
    code, line, elapsed = timed(capsys, *args)
    check(hostile, code, line, elapsed, ExitCode.POLICY, expected(hostile, ref, "document", 4 * MiB), 4 * MiB)


# -- AWS KMS (botocore: connect and read timeouts, and a bounded number of attempts) ------------------------------
@pytest.mark.parametrize("mode", ["silent", "trickle"])
def test_aws_kms(
    mode: str, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("boto3")
    pytest.importorskip("securesystemslib")
    for var, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(work / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "none"),
        "NO_PROXY": "127.0.0.1",  # botocore honours the proxy variables; loopback is direct
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_KMS", raising=False)
    start_attestation(capsys)
    with Hostile(mode) as server:
        key = f"awskms://{server.host}/alias/hostile"
        code, line, elapsed = timed(capsys, "push", "--key", key, "--bundle", str(work / "b.json"))
    assert code == ExitCode.SIGNING and line.startswith(f"Error: cannot use KMS key {key}: ")
    assert "\n" not in line and elapsed < BOUND


# -- the same clients against well-behaved servers, under the same deadline ----------------------------------------
def test_well_behaved_servers_answer_within_the_deadline(
    registry: Registry,  # noqa: F811 (the imported fixture)
    work: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for tsa in serve(TestTSA()):
        start_attestation(capsys)
        bundle = work / "b.sigstore.json"
        ref = f"{registry.host}/hostile/control:1"
        args = ("push", "--key", str(work / "k.key"), "--bundle", str(bundle), "--timestamp-server", tsa.url)
        code, line, _ = timed(capsys, *args, "--oci", ref, "--insecure")
        assert code == 0, line
        code, line, _ = timed(
            capsys, "pull", f"oci://{ref}", "--insecure", "--output", str(work / "pulled.json")
        )
        assert code == 0 and (work / "pulled.json").read_bytes() == bundle.read_bytes()
        code, line, _ = timed(capsys, "verify", f"oci://{ref}", "--insecure", "--key", str(work / "k.pub"))
        assert code == 0, line
    with Hostile("ok", body=POLICY.encode()) as server:
        args = (
            "policy",
            "eval",
            "--policy",
            server.url("/p.yaml"),
            "--material",
            "hello",
            "--kind",
            "STRING",
        )
        code, line, _ = timed(capsys, *args)
        assert code == 0, line
