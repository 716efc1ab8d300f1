"""cosign's encrypted key format: written by us as cosign writes it, read back, and used through load_signer."""

from __future__ import annotations

import base64
import builtins
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

pytest.importorskip("nacl")

from crafter._internal.signing import envelope_from_bundle, load_signer, sign_statement, verify_envelope
from crafter._internal.signing.cosign import (
    COSIGN_PEM_LABELS,
    decrypt_cosign_key,
    encrypt_cosign_key,
    is_cosign_key,
)
from crafter._internal.signing.keys import PrivateKeySigner
from crafter.errors import SigningError
from tests.signing._helpers import STATEMENT

PASSWORD = b"cosign-password"


def _document(pem: bytes) -> dict[str, Any]:
    body = b"".join(pem.splitlines()[1:-1])
    return json.loads(base64.b64decode(body))  # type: ignore[no-any-return]


def test_written_format_is_cosigns(private_keys: dict[str, PrivateKeyTypes]) -> None:
    pem = encrypt_cosign_key(private_keys["ecdsa-p256"], PASSWORD)
    assert pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    assert pem.endswith(b"-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    assert all(len(line) <= 64 for line in pem.splitlines())
    doc = _document(pem)
    assert doc["kdf"]["name"] == "scrypt"
    assert doc["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 32
    assert doc["cipher"]["name"] == "nacl/secretbox"
    assert len(base64.b64decode(doc["cipher"]["nonce"])) == 24
    assert is_cosign_key(pem)


def test_ciphertext_is_secretbox_of_pkcs8_der(private_keys: dict[str, PrivateKeyTypes]) -> None:
    """Decrypt by hand, independent of decrypt_cosign_key: scrypt then XSalsa20-Poly1305, PKCS#8 DER inside."""
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from nacl.secret import SecretBox

    key = private_keys["ecdsa-p256"]
    doc = _document(encrypt_cosign_key(key, PASSWORD))
    box_key = hashlib.scrypt(
        PASSWORD, salt=base64.b64decode(doc["kdf"]["salt"]), n=32768, r=8, p=1, maxmem=64 << 20, dklen=32
    )
    der = SecretBox(box_key).decrypt(
        base64.b64decode(doc["ciphertext"]), base64.b64decode(doc["cipher"]["nonce"])
    )
    assert der == key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize("label", COSIGN_PEM_LABELS)
@pytest.mark.parametrize("name", ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"])
def test_round_trip_through_load_signer(
    tmp_path: Path, private_keys: dict[str, PrivateKeyTypes], label: str, name: str
) -> None:
    key = private_keys[name]
    path = tmp_path / "cosign.key"
    path.write_bytes(encrypt_cosign_key(key, PASSWORD, label=label))
    signer = load_signer(str(path), lambda: PASSWORD)
    assert isinstance(signer, PrivateKeySigner)
    bundle = sign_statement(STATEMENT, signer)
    assert verify_envelope(envelope_from_bundle(bundle), key.public_key()) == STATEMENT


def test_env_reference(private_keys: dict[str, PrivateKeyTypes]) -> None:
    pem = encrypt_cosign_key(private_keys["ecdsa-p256"], PASSWORD).decode()
    signer = load_signer("env://COSIGN_KEY", lambda: PASSWORD, environ={"COSIGN_KEY": pem})
    assert signer.key_details == "PKIX_ECDSA_P256_SHA_256"


def test_empty_password_is_a_password(tmp_path: Path, private_keys: dict[str, PrivateKeyTypes]) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(encrypt_cosign_key(private_keys["ed25519"], b""))
    assert load_signer(str(path), lambda: b"").key_details == "PKIX_ED25519"


def test_wrong_password_names_the_file(tmp_path: Path, private_keys: dict[str, PrivateKeyTypes]) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(encrypt_cosign_key(private_keys["ecdsa-p256"], PASSWORD))
    with pytest.raises(SigningError) as info:
        load_signer(str(path), lambda: b"wrong")
    assert str(info.value) == f"cannot decrypt {path}: wrong password or damaged key"
    assert "COSIGN_PASSWORD" in (info.value.hint or "")


def test_no_password_available(tmp_path: Path, private_keys: dict[str, PrivateKeyTypes]) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(encrypt_cosign_key(private_keys["ecdsa-p256"], PASSWORD))
    with pytest.raises(SigningError, match=re.escape(f"{path} is an encrypted cosign key and no password")):
        load_signer(str(path), lambda: None)


def _pem(doc: object, label: str = "ENCRYPTED SIGSTORE PRIVATE KEY") -> bytes:
    body = base64.b64encode(json.dumps(doc).encode())
    return f"-----BEGIN {label}-----\n".encode() + body + f"\n-----END {label}-----\n".encode()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "damaged cosign key"),
        (
            {"kdf": {"name": "argon2"}, "cipher": {"name": "nacl/secretbox"}},
            "unsupported cosign key encryption",
        ),
        (
            {
                "kdf": {"name": "scrypt", "params": {"N": 1 << 24, "r": 8, "p": 1}, "salt": ""},
                "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(b"n" * 24).decode()},
                "ciphertext": "",
            },
            "damaged cosign key \\(scrypt N=16777216",
        ),
    ],
)
def test_damaged_documents(doc: object, message: str) -> None:
    with pytest.raises(SigningError, match=message) as info:
        decrypt_cosign_key(_pem(doc), PASSWORD, "k.key")
    assert "k.key" in str(info.value)


def test_not_base64_json() -> None:
    pem = b"-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n!!!\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n"
    with pytest.raises(SigningError, match=r"k\.key is a damaged cosign key"):
        decrypt_cosign_key(pem, PASSWORD, "k.key")


def test_missing_pynacl_names_the_extra(
    tmp_path: Path, private_keys: dict[str, PrivateKeyTypes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(encrypt_cosign_key(private_keys["ecdsa-p256"], PASSWORD))
    real_import = builtins.__import__

    def no_nacl(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "nacl" or name.startswith("nacl."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_nacl)
    with pytest.raises(SigningError, match="needs PyNaCl") as info:
        load_signer(str(path), lambda: PASSWORD)
    assert "crafter-attest[cosign]" in (info.value.hint or "")
