"""AWS KMS signing for real, against moto in server mode on 127.0.0.1 (with the DIGEST patch; the ``kms``
fixture is in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")
pytest.importorskip("securesystemslib")

from cryptography.hazmat.primitives import serialization  # noqa: E402

from crafter._internal.signing import envelope_from_bundle, load_signer, sign_statement, verify_envelope  # noqa: E402
from crafter._internal.signing.kms import KmsSigner  # noqa: E402
from crafter.errors import ExitCode, SigningError  # noqa: E402
from tests.signing import kms_digest_patch  # noqa: E402
from tests.signing._helpers import STATEMENT  # noqa: E402

if not kms_digest_patch.APPLIED:  # pragma: no cover
    pytest.skip("moto's KMS internals changed; the DIGEST patch no longer applies", allow_module_level=True)


def _public_key(kms: Any, key_id: str) -> Any:
    return serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])


@pytest.mark.parametrize(
    ("spec", "details"),
    [
        ("ECC_NIST_P256", "PKIX_ECDSA_P256_SHA_256"),
        ("ECC_NIST_P384", "PKIX_ECDSA_P384_SHA_384"),
        ("RSA_2048", "PKIX_RSA_PKCS1V15_2048_SHA256"),
        ("RSA_3072", "PKIX_RSA_PKCS1V15_3072_SHA256"),
    ],
)
def test_bundle_signed_in_kms_verifies_with_the_kms_public_key(kms: Any, spec: str, details: str) -> None:
    key_id = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signer = load_signer(f"awskms:///{key_id}", lambda: pytest.fail("no password for KMS"))
    assert isinstance(signer, KmsSigner)
    assert signer.key_details == details
    bundle = sign_statement(STATEMENT, signer)
    bundle = json.loads(json.dumps(bundle))  # as written and read back
    public_key = _public_key(kms, key_id)  # from get_public_key, independent of the signer
    assert verify_envelope(envelope_from_bundle(bundle), public_key) == STATEMENT
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == signer.keyid


def test_alias_and_arn_references(kms: Any) -> None:
    meta = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.create_alias(AliasName="alias/crafter-test", TargetKeyId=meta["KeyId"])
    for ref in ("awskms:///alias/crafter-test", f"awskms:///{meta['Arn']}"):
        signer = load_signer(ref, lambda: None)
        verify_envelope(
            envelope_from_bundle(sign_statement(STATEMENT, signer)), _public_key(kms, meta["KeyId"])
        )


def test_tampered_payload_is_rejected(kms: Any) -> None:
    from crafter._internal.signing import VerificationError
    from crafter._internal.signing.dsse import Envelope

    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    envelope = envelope_from_bundle(
        sign_statement(STATEMENT, load_signer(f"awskms:///{key_id}", lambda: None))
    )
    tampered = Envelope(STATEMENT.replace(b'"n":1', b'"n":2'), envelope.payload_type, envelope.signatures)
    with pytest.raises(VerificationError):
        verify_envelope(tampered, _public_key(kms, key_id))


def test_unknown_key_names_the_reference(kms: Any) -> None:
    with pytest.raises(SigningError, match="cannot use KMS key awskms:///alias/nope") as info:
        load_signer("awskms:///alias/nope", lambda: None)
    assert "NotFoundException" in str(info.value)


def test_rsa_key_without_pkcs1_is_refused(kms: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    import botocore.client

    def only_pss(self: Any, operation: str, params: Any) -> Any:
        result = real(self, operation, params)
        if operation == "GetPublicKey":
            result["SigningAlgorithms"] = ["RSASSA_PSS_SHA_256"]
        return result

    real = botocore.client.BaseClient._make_api_call
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", only_pss)
    with pytest.raises(SigningError, match="cannot sign with RSASSA_PKCS1_V1_5_SHA_256"):
        load_signer(f"awskms:///{key_id}", lambda: None)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with an empty contract, outside any git repository and CI runner."""
    for var in ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_HOME", "CIRCLECI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRAFTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "contract.yaml").write_text("schemaVersion: v1\nmaterials: []\n")
    return tmp_path


def test_cli_push_with_an_aws_kms_key(kms: Any, project: Path) -> None:
    from crafter._internal.cli.main import main
    from crafter._internal.signing import read_bundle

    meta = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.create_alias(AliasName="alias/crafter-cli", TargetKeyId=meta["KeyId"])
    assert main(["init", "--contract", "contract.yaml"]) == 0
    assert main(["push", "--key", "awskms:///alias/crafter-cli", "--bundle", "b.json"]) == 0
    bundle = read_bundle(project / "b.json")
    payload = verify_envelope(envelope_from_bundle(bundle), _public_key(kms, meta["KeyId"]))
    assert json.loads(payload)["_type"] == "https://in-toto.io/Statement/v1"


def test_cli_public_key_of_an_aws_kms_key_verifies_its_bundles(
    kms: Any, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crafter._internal.cli.main import main

    meta = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.create_alias(AliasName="alias/crafter-pub", TargetKeyId=meta["KeyId"])
    ref = "awskms:///alias/crafter-pub"
    assert main(["keys", "public-key", "--key", ref, "-o", "kms.pub"]) == 0
    assert (project / "kms.pub").read_bytes() == kms_public_pem(kms, meta["KeyId"])
    assert main(["init", "--contract", "contract.yaml"]) == 0
    assert main(["push", "--key", ref, "--bundle", "b.json"]) == 0
    capsys.readouterr()
    assert main(["verify", "b.json", "--key", "kms.pub"]) == 0
    assert main(["keys", "public-key", "--key", "awskms:///alias/nope"]) == ExitCode.SIGNING
    assert "cannot use KMS key awskms:///alias/nope" in capsys.readouterr().err


def kms_public_pem(kms: Any, key_id: str) -> bytes:
    der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    key = serialization.load_der_public_key(der)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
