"""Local stores: a bundle file, a directory named by statement digest, the directory CAS; and the registry
client's Bearer-token flow against a small in-process token server (no real one is available here)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crafter._internal.cli.main import main
from crafter._internal.storage import StoreError, bundle_target
from crafter._internal.storage.credentials import TOKEN_USERNAME, Credentials
from crafter._internal.storage.file import DirectoryContentStore, DirectoryStore, FileStore
from crafter._internal.storage.registry import RegistryClient
from crafter.signing.keys import generate_key_pair

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_file_store_round_trip(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "sub" / "b.json")
    assert store.put(b"{}", statement_digest=sha(b"s")) == str(tmp_path / "sub" / "b.json")
    assert store.get() == b"{}"
    with pytest.raises(StoreError, match="no such file"):
        FileStore(tmp_path / "absent.json").get()


def test_directory_store_names_by_statement_digest(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "bundles")
    with pytest.raises(StoreError, match="no bundle"):
        store.get()
    first = store.put(b'{"n":1}', statement_digest=sha(b"one"))
    assert first == str(tmp_path / "bundles" / f"{sha(b'one')[7:]}.sigstore.json")
    store.put(b'{"n":2}', statement_digest=sha(b"two"))
    assert store.get_by_digest(sha(b"one")) == b'{"n":1}'
    with pytest.raises(StoreError, match="unsupported digest"):
        store.put(b"{}", statement_digest="md5:abc")
    assert bundle_target(tmp_path / "bundles", sha(b"x")).name == f"{sha(b'x')[7:]}.sigstore.json"
    assert bundle_target(tmp_path / "b.json", sha(b"x")) == tmp_path / "b.json"


def test_directory_content_store(tmp_path: Path) -> None:
    cas = DirectoryContentStore(tmp_path / "cas")
    f = tmp_path / "m.bin"
    f.write_bytes(b"bytes")
    cas.upload(sha(b"bytes"), f)
    assert (tmp_path / "cas" / "sha256" / sha(b"bytes")[7:]).read_bytes() == b"bytes"
    assert cas.download(sha(b"bytes")) == b"bytes"
    with pytest.raises(StoreError, match="changed since it was recorded"):
        cas.upload(sha(b"other"), f)
    (tmp_path / "cas" / "sha256" / sha(b"bytes")[7:]).write_bytes(b"tampered")
    with pytest.raises(StoreError, match="corrupted store"):
        cas.download(sha(b"bytes"))
    with pytest.raises(StoreError, match="not in the content store"):
        cas.download(sha(b"absent"))


def test_push_into_a_directory_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRAFTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CRAFTER_KEY_PASSWORD", "pw")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for var in ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_HOME", "CIRCLECI", "TF_BUILD", "BUILD_URL"):
        monkeypatch.delenv(var, raising=False)
    generate_key_pair(tmp_path / "k", b"pw")
    assert main(["init", "--project", "p", "--workflow", "w"]) == 0
    assert main(["add", "--name", "sbom", "--value", str(DEMO / "sbom.cdx.json")]) == 0
    (tmp_path / "bundles").mkdir()
    capsys.readouterr()
    assert main(["push", "--key", str(tmp_path / "k.key"), "--bundle", "bundles", "-o", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bundle"] == str(Path("bundles") / f"{result['digest'][7:]}.sigstore.json")
    payload = json.loads((tmp_path / result["bundle"]).read_text())["dsseEnvelope"]["payload"]
    assert sha(base64.b64decode(payload)) == result["digest"]


# -- Bearer tokens -----------------------------------------------------------------------------------
class _TokenRegistry(BaseHTTPRequestHandler):
    """``/v2/`` wants a Bearer token; ``/token`` gives one for user ``u``/``p`` and the asked scope."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        host = self.headers["Host"]
        if self.path.startswith("/token"):
            ok = self.headers.get("Authorization") == "Basic " + base64.b64encode(b"u:p").decode()
            assert "service=test&scope=repository%3Ademo%3Apull" in self.path
            self._reply(200 if ok else 401, json.dumps({"token": "T0K"}).encode() if ok else b"{}")
        elif self.headers.get("Authorization") == "Bearer T0K":
            self._reply(200, b"{}")
        else:
            challenge = f'Bearer realm="http://{host}/token",service="test",scope="repository:demo:pull"'
            self._reply(401, b"{}", {"WWW-Authenticate": challenge})

    def do_POST(self) -> None:
        """The OAuth2 refresh-token grant, for an identity token (``<token>`` from a credential helper)."""
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        expected = {"grant_type": ["refresh_token"], "refresh_token": ["R3FRESH"], "service": ["test"]}
        ok = self.path == "/token" and all(form.get(k) == v for k, v in expected.items())
        assert form.get("scope") == ["repository:demo:pull"] and form.get("client_id")
        self._reply(200 if ok else 401, json.dumps({"access_token": "T0K"}).encode() if ok else b"{}")

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def token_registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_bearer_token_flow(token_registry: str) -> None:
    client = RegistryClient(token_registry, insecure=True, credentials=("u", "p"))
    assert client.request("GET", "/v2/")[0] == 200
    with pytest.raises(StoreError, match="refused the given credentials"):
        RegistryClient(token_registry, insecure=True, credentials=("u", "bad")).request("GET", "/v2/")
    with pytest.raises(StoreError, match="refused anonymous access"):
        RegistryClient(token_registry, insecure=True).request("GET", "/v2/")


def test_identity_token_flow(token_registry: str) -> None:
    """An identity token is exchanged at the realm (POST, refresh-token grant), never sent as Basic."""
    token = Credentials(TOKEN_USERNAME, "R3FRESH", "docker-credential-test")
    assert RegistryClient(token_registry, insecure=True, credentials=token).request("GET", "/v2/")[0] == 200
    bad = Credentials(TOKEN_USERNAME, "stale", "docker-credential-test")
    with pytest.raises(StoreError, match="refused the given credentials") as info:
        RegistryClient(token_registry, insecure=True, credentials=bad).request("GET", "/v2/")
    assert "docker-credential-test" in (info.value.hint or "")
