"""A real OCI registry for the storage tests: Debian's ``docker-registry`` (distribution 2.8) on 127.0.0.1.

One anonymous registry and one with htpasswd (bcrypt) authentication, each on a free port with its own
temporary storage directory, started once per session and stopped at the end. Without the binary the tests
skip, except in CI (``CI`` set), where they fail: ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from tests.storage.referrers_proxy import ReferrersProxy

BINARY = os.environ.get("CRAFTER_TEST_REGISTRY_BINARY", "docker-registry")
USER, PASSWORD = "crafter", "s3cret"


@attrs.frozen
class Registry:
    host: str  # 127.0.0.1:PORT
    root: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _need_binary() -> str:
    found = shutil.which(BINARY) or (BINARY if os.path.isfile(BINARY) else None)
    if found is None:
        reason = f"{BINARY} not found: install Debian's docker-registry (apt-get install docker-registry)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def _bcrypt_line(user: str, password: str) -> str:
    try:
        import bcrypt  # type: ignore[import-not-found,unused-ignore]

        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    except ImportError:
        try:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                import crypt  # type: ignore[import-not-found,unused-ignore]
            hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32))
        except (ImportError, AttributeError):
            reason = "no bcrypt for the htpasswd file: pip install bcrypt (Python >= 3.13 has no crypt)"
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
    return f"{user}:{hashed}\n"


def _start(root: Path, auth: str = "", *, delete: bool = True) -> Iterator[Registry]:
    binary = _need_binary()
    port = _free_port()
    (root / "data").mkdir(parents=True)
    (root / "config.yml").write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: {str(delete).lower()}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth
    )
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # 401 with auth: up
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"docker-registry did not start: {(root / 'registry.log').read_text()}")
                time.sleep(0.05)
        yield Registry(f"127.0.0.1:{port}", root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An anonymous plain-HTTP registry on 127.0.0.1."""
    yield from _start(tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry with htpasswd authentication: user ``crafter``, password ``s3cret``."""
    root = tmp_path_factory.mktemp("auth-registry")
    (root / "htpasswd").write_text(_bcrypt_line(USER, PASSWORD))
    auth = f"auth:\n  htpasswd:\n    realm: crafter-test\n    path: {root / 'htpasswd'}\n"
    yield from _start(root, auth)


@pytest.fixture
def referrers_registry(registry: Registry) -> Iterator[ReferrersProxy]:
    """An OCI 1.1 registry: the anonymous registry behind a proxy with the referrers API (referrers_proxy.py)."""
    with ReferrersProxy(registry.host).running() as proxy:
        yield proxy


@pytest.fixture
def clean_registry_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No registry credentials from the environment or the user's Docker config."""
    monkeypatch.delenv("CRAFTER_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("CRAFTER_REGISTRY_PASSWORD", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    return tmp_path / "docker-config"
