"""``crafter push`` with the new signers: a cosign key with COSIGN_PASSWORD, and --keyless (sigstore faked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from crafter._internal.cli.main import main
from crafter._internal.signing import envelope_from_bundle, read_bundle, verify_envelope
from crafter.errors import ExitCode

CONTRACT = "schemaVersion: v1\nmaterials: []\n"


@pytest.fixture
def env(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``cli_env`` with no key password in the environment, working in ``tmp_path`` itself, initialised."""
    for var in ("CRAFTER_KEY_PASSWORD", "COSIGN_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(cli_env)
    (cli_env / "contract.yaml").write_text(CONTRACT)
    assert main(["init", "--contract", "contract.yaml"]) == 0
    return cli_env


def test_push_with_a_cosign_key(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("nacl")
    from crafter._internal.signing.cosign import encrypt_cosign_key

    key = ec.generate_private_key(ec.SECP256R1())
    (env / "cosign.key").write_bytes(encrypt_cosign_key(key, b"s3cret"))
    monkeypatch.setenv("COSIGN_PASSWORD", "s3cret")
    assert main(["push", "--key", "cosign.key", "--bundle", "b.json"]) == 0
    bundle = read_bundle(env / "b.json")
    verify_envelope(envelope_from_bundle(bundle), key.public_key())


def test_push_keyless(env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sigstore")
    from crafter._internal.signing.keyless import KeylessOptions, KeylessSigner, certificate_chain
    from tests.signing.test_keyless import _sigstore_bundle

    seen: list[KeylessOptions] = []

    def fake(self: KeylessSigner, payload: bytes) -> Any:
        seen.append(self.options)
        return _sigstore_bundle(payload)[0]

    monkeypatch.setattr(KeylessSigner, "_sign_with_sigstore", fake)
    assert main(["push", "--keyless", "--staging", "--bundle", "b.json"]) == 0
    assert seen == [KeylessOptions(staging=True)]
    bundle = json.loads((env / "b.json").read_text())
    (cert,) = certificate_chain(bundle)
    verify_envelope(envelope_from_bundle(bundle), cert.public_key())
    assert bundle["verificationMaterial"]["tlogEntries"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --key and --keyless"),
        (["--key", "k.key", "--keyless"], "give exactly one of --key and --keyless"),
        (["--key", "k.key", "--staging"], "--staging and --trust-config go with --keyless"),
        (["--keyless", "--staging", "--trust-config", "t.json"], "mutually exclusive"),
    ],
)
def test_push_signer_options_are_checked(
    env: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["push", *args])
    assert code == ExitCode.USAGE
    assert message in capsys.readouterr().err


def test_public_key_of_key_files(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from crafter.signing.keys import generate_key_pair

    key, pub = generate_key_pair(env / "release", b"s3cret")
    monkeypatch.setenv("CRAFTER_KEY_PASSWORD", "s3cret")
    assert main(["keys", "public-key", "--key", str(key)]) == 0
    assert capsys.readouterr().out.encode() == pub.read_bytes()
    monkeypatch.setenv("RELEASE_KEY", key.read_text())
    assert main(["keys", "public-key", "--key", "env://RELEASE_KEY", "-o", str(env / "from-env.pub")]) == 0
    assert (env / "from-env.pub").read_bytes() == pub.read_bytes()
    monkeypatch.setenv("CRAFTER_KEY_PASSWORD", "wrong")
    assert main(["keys", "public-key", "--key", str(key)]) == ExitCode.SIGNING
    assert main(["keys", "public-key", "--key", "keyless://"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert (
        "wrong password" in err and "keyless signature has no lasting key" in err and "Traceback" not in err
    )
