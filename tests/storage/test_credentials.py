"""Docker credential helpers (credHelpers, credsStore): real helper executables written here, put on PATH, and
asked by crafter for the real htpasswd registry's credentials."""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from pathlib import Path

import pytest

from crafter._internal.cli.main import main
from crafter._internal.storage import credentials as creds_module
from crafter._internal.storage.credentials import NOT_FOUND, TOKEN_USERNAME, registry_credentials
from crafter._internal.storage.oci import OciStore
from crafter.errors import ExitCode
from crafter.storage import StoreError
from tests.storage.conftest import PASSWORD, USER, Registry

DIGEST = "sha256:" + "0" * 64

# Each helper logs how it was called (argv and stdin) to <its path>.log, then answers.
_PRELUDE = """\
import json, sys
host = sys.stdin.read()
with open(__file__ + ".log", "a") as log:
    log.write(json.dumps({"argv": sys.argv[1:], "stdin": host}) + "\\n")
"""
HELPERS = {
    "good": f'print(json.dumps({{"ServerURL": host, "Username": "{USER}", "Secret": "{PASSWORD}"}}))',
    "wrong": f'print(json.dumps({{"ServerURL": host, "Username": "{USER}", "Secret": "not-it"}}))',
    "token": f'print(json.dumps({{"ServerURL": host, "Username": "{TOKEN_USERNAME}", "Secret": "R3FRESH"}}))',
    "none": f'print("{NOT_FOUND}"); sys.exit(1)',
    "broken": 'print("error: the keychain is locked"); sys.exit(2)',
    "garbage": 'print("Username=crafter Secret=s3cret")',
    "partial": 'print(json.dumps({"Username": "crafter"}))',
}


@pytest.fixture
def helpers(tmp_path: Path) -> Path:
    """A directory of docker-credential-<name> executables (HELPERS, plus ``slow`` in shell)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in HELPERS.items():
        path = bin_dir / f"docker-credential-{name}"
        path.write_text(f"#!{sys.executable}\n{_PRELUDE}{body}\n")
        path.chmod(0o755)
    slow = bin_dir / "docker-credential-slow"
    slow.write_text("#!/bin/sh\nsleep 30\n")  # its child holds the pipes: the timeout must end it too
    slow.chmod(0o755)
    return bin_dir


def calls(helpers: Path, name: str) -> list[dict[str, object]]:
    log = helpers / f"docker-credential-{name}.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def environ(tmp_path: Path, helpers: Path, config: dict[str, object], **extra: str) -> dict[str, str]:
    directory = tmp_path / "docker"
    directory.mkdir(exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    return {"DOCKER_CONFIG": str(directory), "PATH": f"{helpers}{os.pathsep}{os.environ['PATH']}", **extra}


def roundtrip(registry: Registry, env: dict[str, str], repo: str = "helper/att") -> None:
    store = OciStore(f"{registry.host}/{repo}:v1", insecure=True, environ=env)
    store.put(b'{"ok":1}', statement_digest=DIGEST)
    assert store.get() == b'{"ok":1}'


# -- the right helper, in docker's precedence ------------------------------------------------------------
def test_cred_helper_for_the_registry(auth_registry: Registry, tmp_path: Path, helpers: Path) -> None:
    env = environ(tmp_path, helpers, {"credHelpers": {auth_registry.host: "good"}})
    roundtrip(auth_registry, env)
    assert calls(helpers, "good")[0] == {"argv": ["get"], "stdin": auth_registry.host}


def test_creds_store_is_the_default(auth_registry: Registry, tmp_path: Path, helpers: Path) -> None:
    roundtrip(auth_registry, environ(tmp_path, helpers, {"credsStore": "good"}))


def test_cred_helpers_beat_creds_store(auth_registry: Registry, tmp_path: Path, helpers: Path) -> None:
    config = {"credsStore": "broken", "credHelpers": {f"https://{auth_registry.host}": "good"}}
    roundtrip(auth_registry, environ(tmp_path, helpers, config))
    assert calls(helpers, "broken") == []
    with pytest.raises(StoreError, match="docker-credential-broken"):
        registry_credentials("other.example", environ(tmp_path, helpers, config))


def test_variables_beat_helpers(auth_registry: Registry, tmp_path: Path, helpers: Path) -> None:
    env = environ(
        tmp_path,
        helpers,
        {"credsStore": "broken", "credHelpers": {auth_registry.host: "broken"}},
        CRAFTER_REGISTRY_USERNAME=USER,
        CRAFTER_REGISTRY_PASSWORD=PASSWORD,
    )
    roundtrip(auth_registry, env)
    assert calls(helpers, "broken") == []


def test_helper_without_an_entry_means_anonymous_as_with_docker(
    auth_registry: Registry, tmp_path: Path, helpers: Path
) -> None:
    """docker uses no auths entry once a helper is configured: a helper with no entry gives anonymous access."""
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    env = environ(tmp_path, helpers, {"credsStore": "none", "auths": {auth_registry.host: {"auth": auth}}})
    assert registry_credentials(auth_registry.host, env) is None
    with pytest.raises(StoreError, match="refused anonymous access"):
        roundtrip(auth_registry, env)


def test_identity_token_from_a_helper(tmp_path: Path, helpers: Path) -> None:
    found = registry_credentials("reg.example", environ(tmp_path, helpers, {"credsStore": "token"}))
    assert found is not None and found.identity_token and found.secret == "R3FRESH"
    assert "R3FRESH" not in repr(found)


# -- failures: one line naming the helper and the registry ------------------------------------------------
def test_wrong_credentials_from_a_helper(auth_registry: Registry, tmp_path: Path, helpers: Path) -> None:
    env = environ(tmp_path, helpers, {"credHelpers": {auth_registry.host: "wrong"}})
    with pytest.raises(StoreError, match=r"refused the given credentials \(401") as info:
        roundtrip(auth_registry, env)
    assert "docker-credential-wrong" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("helper", "message"),
    [
        ("absent", "credential helper docker-credential-absent (for {host}) is not on PATH"),
        (
            "broken",
            "credential helper docker-credential-broken (for {host}) failed (exit status 2): "
            "error: the keychain is locked",
        ),
        (
            "garbage",
            "credential helper docker-credential-garbage (for {host}) gave no credentials: its output "
            "is not a JSON object with Username and Secret strings",
        ),
        ("partial", "credential helper docker-credential-partial (for {host}) gave no credentials"),
    ],
)
def test_helper_failures(
    auth_registry: Registry, tmp_path: Path, helpers: Path, helper: str, message: str
) -> None:
    env = environ(tmp_path, helpers, {"credHelpers": {auth_registry.host: helper}})
    with pytest.raises(StoreError) as info:
        roundtrip(auth_registry, env)
    assert info.value.message.startswith(message.format(host=auth_registry.host))
    assert "\n" not in info.value.message and "s3cret" not in info.value.message


def test_helper_timeout(tmp_path: Path, helpers: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(creds_module, "HELPER_TIMEOUT", 0.5)
    start = time.monotonic()
    with pytest.raises(
        StoreError, match=r"docker-credential-slow \(for reg.example\) did not answer within 0.5 s"
    ):
        registry_credentials("reg.example", environ(tmp_path, helpers, {"credsStore": "slow"}))
    assert time.monotonic() - start < 10


# -- the CLI ---------------------------------------------------------------------------------------------
def test_cli_push_and_pull_with_a_helper(
    auth_registry: Registry,
    tmp_path: Path,
    helpers: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clean_registry_env: Path,
) -> None:
    from crafter.signing.keys import generate_key_pair

    for var in ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_HOME", "CIRCLECI", "TF_BUILD", "BUILD_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRAFTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CRAFTER_KEY_PASSWORD", "pw")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("PATH", f"{helpers}{os.pathsep}{os.environ['PATH']}")
    key, _ = generate_key_pair(tmp_path / "k", b"pw")
    (tmp_path / "contract.yaml").write_text("schemaVersion: v1\nmaterials: []\n")
    clean_registry_env.mkdir()
    config = clean_registry_env / "config.json"
    ref = f"{auth_registry.host}/helper/cli:1"
    push = ["push", "--key", str(key), "--bundle", "b.json", "--oci", ref, "--insecure"]
    assert main(["init", "--contract", "contract.yaml"]) == 0

    config.write_text(json.dumps({"credHelpers": {auth_registry.host: "absent"}}))
    capsys.readouterr()
    assert main(push) == ExitCode.STORE
    err = capsys.readouterr().err
    assert err.startswith(
        f"Error: credential helper docker-credential-absent (for {auth_registry.host}) is not"
    )
    assert "Traceback" not in err

    config.write_text(json.dumps({"credHelpers": {auth_registry.host: "good"}}))
    assert main(push) == 0
    assert main(["pull", f"oci://{ref}", "--insecure", "--output", "pulled.json"]) == 0
    assert (tmp_path / "pulled.json").read_bytes() == (tmp_path / "b.json").read_bytes()


# -- Docker Hub: one registry under several names -----------------------------------------------------------
@pytest.mark.parametrize("name", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_docker_hub_helper_is_asked_for_dockers_own_key(tmp_path: Path, helpers: Path, name: str) -> None:
    env = environ(tmp_path, helpers, {"credHelpers": {"https://index.docker.io/v1/": "good"}})
    found = registry_credentials(name, env)
    assert found is not None and found.username == USER
    assert calls(helpers, "good")[-1] == {"argv": ["get"], "stdin": "https://index.docker.io/v1/"}


def test_docker_hub_auths_entry_under_its_legacy_key(tmp_path: Path, helpers: Path) -> None:
    auth = base64.b64encode(b"hub-user:hub-pass").decode()
    env = environ(tmp_path, helpers, {"auths": {"https://index.docker.io/v1/": {"auth": auth}}})
    found = registry_credentials("docker.io", env)
    assert found is not None and (found.username, found.secret) == ("hub-user", "hub-pass")
    assert registry_credentials("ghcr.io", env) is None


@pytest.mark.parametrize(
    ("text", "repository"),
    [("docker.io/alpine:3", "library/alpine"), ("index.docker.io/acme/app:1", "acme/app")],
)
def test_docker_hub_references_are_normalised(text: str, repository: str) -> None:
    from crafter._internal.storage.registry import OciReference, RegistryClient

    ref = OciReference.parse(text)
    assert (ref.registry, ref.repository) == ("docker.io", repository)
    # Its API is served from another host than the name in references.
    assert RegistryClient(ref.registry).base == "https://registry-1.docker.io"
