"""Signers by key reference scheme: a plugin scheme used end to end, the built-ins kept, a plugin's errors."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from cryptography.hazmat.primitives import serialization

from crafter._internal.signing.bundle import envelope_from_bundle, read_bundle, verify_envelope
from crafter._internal.signing.keys import PrivateKeySigner, load_signer
from crafter._internal.signing.schemes import PluginSigner
from crafter.errors import ExitCode, SigningError
from tests.conftest import run_cli

ORIGIN = "in crafter.signers, distribution crafter-test-plugins"


def pem(key: object) -> str:
    public = key.public_key()  # type: ignore[attr-defined]
    return str(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
    )


def test_a_plugin_scheme_signs_a_bundle_through_the_cli(
    test_plugins: ModuleType, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "contract.yaml").write_text(
        "schemaVersion: v1\nmaterials:\n  - type: ARTIFACT\n    name: file\n"
    )
    (cli_env / "file.txt").write_text("released\n")
    assert run_cli(capsys, "init", "--contract", str(cli_env / "contract.yaml"), "--project", "p")[0] == 0
    assert run_cli(capsys, "add", "--name", "file", "--value", str(cli_env / "file.txt"))[0] == 0
    bundle = cli_env / "b.sigstore.json"
    code, _, err = run_cli(capsys, "push", "--key", "memkey://release", "--bundle", str(bundle))
    assert code == 0, err
    public_key = test_plugins.KEYS["release"].public_key()
    assert b'"_type"' in verify_envelope(envelope_from_bundle(read_bundle(bundle)), public_key)
    code, out, _ = run_cli(capsys, "keys", "public-key", "--key", "memkey://release")
    assert code == 0 and out == pem(test_plugins.KEYS["release"])


def test_a_plugin_signer_is_guarded_and_built_in_schemes_are_never_replaced(
    test_plugins: ModuleType, tmp_path: Path
) -> None:
    signer = load_signer("memkey://a", lambda: None)
    assert isinstance(signer, PluginSigner) and signer.public_key_pem().decode() == pem(
        test_plugins.KEYS["a"]
    )
    # the distribution also names "env": the built-in keeps it
    key_pem = test_plugins.KEYS["a"].private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    from_env = load_signer("env://K", lambda: None, environ={"K": key_pem.decode()})
    assert type(from_env) is PrivateKeySigner


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "failkey://x",
            "signer plugin 'failkey' (entry point failkey = crafter_test_plugins:failing_signer "
            f"{ORIGIN}) failed: ValueError: no such key in the test keyring",
        ),
        (
            "missing://x",
            "loading signer plugin 'missing' (entry point missing = crafter_test_plugins_absent:"
            f"factory {ORIGIN}) failed: ModuleNotFoundError",
        ),
    ],
)
def test_a_plugin_failing_to_load_a_key_is_a_signing_error(
    test_plugins: ModuleType, cli_env: Path, capsys: pytest.CaptureFixture[str], key: str, message: str
) -> None:
    with pytest.raises(SigningError) as info:
        load_signer(key, lambda: None)
    assert info.value.message.startswith(message)
    assert isinstance(info.value.__cause__, (ValueError, ImportError))
    code, _, err = run_cli(capsys, "keys", "public-key", "--key", key)
    assert (code == ExitCode.SIGNING and "ValueError" in err) or "ModuleNotFoundError" in err


def test_a_plugin_signer_failing_to_sign_is_a_signing_error(
    test_plugins: ModuleType, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "contract.yaml").write_text("schemaVersion: v1\n")
    assert run_cli(capsys, "init", "--contract", str(cli_env / "contract.yaml"), "--project", "p")[0] == 0
    code, _, err = run_cli(capsys, "push", "--key", "failsign://x", "--bundle", str(cli_env / "b.json"))
    assert code == ExitCode.SIGNING
    assert (
        "signer plugin 'failsign'" in err
        and "signing failed: ValueError: the test device is unplugged" in err
    )
    assert not (cli_env / "b.json").exists()


def test_an_unknown_scheme_keeps_its_error_and_lists_the_installed_plugins(test_plugins: ModuleType) -> None:
    with pytest.raises(SigningError) as info:
        load_signer("nope://x", lambda: None)
    assert info.value.message == "key reference scheme nope:// is not a known key reference scheme"
    assert info.value.hint is not None and "installed plugins: " in info.value.hint
    assert "memkey://" in info.value.hint and "env://, " not in info.value.hint.split("plugins: ")[1]
    with pytest.raises(SigningError, match="k8s:// is not supported yet"):
        load_signer("k8s://ns/secret", lambda: None)


def test_the_built_in_table_names_every_kms_scheme_and_keyless() -> None:
    from crafter._internal.signing import keyless, kms
    from crafter._internal.signing.schemes import SIGNERS

    assert set(SIGNERS.builtin_names()) == {"file", "env", keyless.KEYLESS_SCHEME, *kms.KMS_SCHEMES}
