from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from crafter._internal.signing import (
    PrivateKeySigner,
    Signer,
    generate_key_pair,
    keyid_of,
    load_signer,
    pae,
    public_key_from_pem,
)
from crafter._internal.signing.algorithms import InvalidSignature, verify
from crafter.errors import ExitCode, SigningError
from tests.signing._helpers import KEY_DETAILS, pem_of, public_pem_of

PASSWORD = b"correct horse battery staple"


class PasswordCalls:
    """A password provider that counts how often it was asked."""

    def __init__(self, password: bytes | None) -> None:
        self.password = password
        self.calls = 0

    def __call__(self) -> bytes | None:
        self.calls += 1
        return self.password


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- generate_key_pair -------------------------------------------------------------------------------------


def test_generate_writes_encrypted_pkcs8_0600_and_public_0644(tmp_path: Path) -> None:
    key_path, pub_path = generate_key_pair(tmp_path / "cosign", PASSWORD)
    assert (key_path, pub_path) == (tmp_path / "cosign.key", tmp_path / "cosign.pub")
    assert _mode(key_path) == 0o600
    assert _mode(pub_path) == 0o644
    key_pem = key_path.read_bytes()
    assert key_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert pub_path.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----\n")
    signer = load_signer(str(key_path), lambda: PASSWORD)
    assert signer.key_details == "PKIX_ECDSA_P256_SHA_256"
    assert signer.public_key_pem() == pub_path.read_bytes()
    assert signer.keyid == keyid_of(public_key_from_pem(pub_path))


def test_generate_modes_do_not_depend_on_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        _, pub_path = generate_key_pair(tmp_path / "k", PASSWORD)
    finally:
        os.umask(old)
    assert _mode(pub_path) == 0o644


def test_generate_keeps_dots_in_the_prefix_and_creates_parent_dirs(tmp_path: Path) -> None:
    key_path, pub_path = generate_key_pair(tmp_path / "a" / "b" / "release.v2", PASSWORD)
    assert key_path.name == "release.v2.key"
    assert pub_path.name == "release.v2.pub"


@pytest.mark.parametrize("existing", ["k.key", "k.pub"])
def test_generate_refuses_to_overwrite(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_bytes(b"precious")
    with pytest.raises(SigningError, match="already exists; refusing to overwrite") as info:
        generate_key_pair(tmp_path / "k", PASSWORD)
    assert str(tmp_path / existing) in str(info.value)
    assert info.value.exit_code == ExitCode.SIGNING
    assert (tmp_path / existing).read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]  # nothing half-written


def test_generate_refuses_a_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "k.key").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SigningError, match="already exists"):
        generate_key_pair(tmp_path / "k", PASSWORD)
    assert not (tmp_path / "elsewhere").exists()


def test_generate_refuses_an_empty_password(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="unencrypted") as info:
        generate_key_pair(tmp_path / "k", b"")
    assert "CRAFTER_KEY_PASSWORD" in (info.value.hint or "")
    assert list(tmp_path.iterdir()) == []


# --- load_signer: passwords --------------------------------------------------------------------------------


@pytest.fixture
def encrypted_key(tmp_path: Path) -> Path:
    key_path, _ = generate_key_pair(tmp_path / "enc", PASSWORD)
    return key_path


def test_load_with_the_right_password_asks_once(encrypted_key: Path) -> None:
    provider = PasswordCalls(PASSWORD)
    signer = load_signer(str(encrypted_key), provider)
    assert provider.calls == 1
    assert isinstance(signer, Signer)


def test_load_with_a_wrong_password_names_the_file_and_the_variable(encrypted_key: Path) -> None:
    with pytest.raises(SigningError) as info:
        load_signer(str(encrypted_key), lambda: b"wrong")
    assert str(info.value) == f"cannot decrypt {encrypted_key}: wrong password or damaged key"
    assert "CRAFTER_KEY_PASSWORD" in (info.value.hint or "")


@pytest.mark.parametrize("missing", [None, b""])
def test_load_encrypted_without_a_password(encrypted_key: Path, missing: bytes | None) -> None:
    with pytest.raises(SigningError, match="is encrypted and no password was given") as info:
        load_signer(str(encrypted_key), lambda: missing)
    assert str(encrypted_key) in str(info.value)
    assert "CRAFTER_KEY_PASSWORD" in (info.value.hint or "")


def test_unencrypted_key_never_asks_for_a_password(
    tmp_path: Path, private_keys: dict[str, PrivateKeyTypes]
) -> None:
    path = tmp_path / "plain.key"
    path.write_bytes(pem_of(private_keys["ecdsa-p256"]))
    provider = PasswordCalls(b"unused")
    load_signer(str(path), provider)
    assert provider.calls == 0


def test_traditional_openssl_encrypted_pem_loads(
    tmp_path: Path, private_keys: dict[str, PrivateKeyTypes]
) -> None:
    key = private_keys["rsa-2048"]
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(PASSWORD),
    )
    assert b"Proc-Type: 4,ENCRYPTED" in pem
    path = tmp_path / "legacy.pem"
    path.write_bytes(pem)
    assert load_signer(str(path), lambda: PASSWORD).key_details == "PKIX_RSA_PKCS1V15_2048_SHA256"


# --- load_signer: key types --------------------------------------------------------------------------------


def test_each_key_type_signs_and_verifies(
    tmp_path: Path, private_keys: dict[str, PrivateKeyTypes], key_name: str
) -> None:
    path = tmp_path / f"{key_name}.key"
    path.write_bytes(pem_of(private_keys[key_name], PASSWORD))
    signer = load_signer(str(path), lambda: PASSWORD)
    assert signer.key_details == KEY_DETAILS[key_name]
    assert signer.public_key_pem() == public_pem_of(private_keys[key_name])
    data = pae("application/vnd.in-toto+json", b"{}")
    signature = signer.sign(data)
    verify(signer.public_key(), signature, data)
    with pytest.raises(InvalidSignature):
        verify(signer.public_key(), signature, data + b" ")


def test_keyid_is_sha256_of_the_der_spki(private_keys: dict[str, PrivateKeyTypes]) -> None:
    import hashlib

    key = private_keys["ed25519"]
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert PrivateKeySigner(key).keyid == hashlib.sha256(der).hexdigest()


def test_signer_repr_shows_no_key_material(private_keys: dict[str, PrivateKeyTypes]) -> None:
    text = repr(PrivateKeySigner(private_keys["ecdsa-p256"]))
    assert "PKIX_ECDSA_P256_SHA_256" in text
    assert "PRIVATE" not in text


@pytest.mark.parametrize(
    ("make", "described"),
    [
        (lambda: rsa.generate_private_key(65537, 1024), "RSA 1024"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "ECDSA secp256k1"),
        (lambda: ed448.Ed448PrivateKey.generate(), "Ed448"),
        (lambda: dsa.generate_private_key(2048), "DSA"),
    ],
)
def test_unsupported_key_types_are_refused_naming_the_file(
    tmp_path: Path, make: object, described: str
) -> None:
    path = tmp_path / "odd.key"
    path.write_bytes(pem_of(make()))  # type: ignore[operator]
    with pytest.raises(SigningError, match="unsupported key type") as info:
        load_signer(str(path), lambda: None)
    assert str(path) in str(info.value)
    assert described in str(info.value)
    assert "Ed25519" in (info.value.hint or "")


# --- load_signer: references -------------------------------------------------------------------------------


def test_env_reference_reads_the_given_mapping(private_keys: dict[str, PrivateKeyTypes]) -> None:
    key = private_keys["ed25519"]
    environ = {"SIGNING_KEY": pem_of(key, PASSWORD).decode()}
    signer = load_signer("env://SIGNING_KEY", lambda: PASSWORD, environ=environ)
    assert signer.public_key_pem() == public_pem_of(key)


def test_env_reference_errors_name_the_variable(private_keys: dict[str, PrivateKeyTypes]) -> None:
    with pytest.raises(SigningError, match=r"environment variable NOPE .* is not set"):
        load_signer("env://NOPE", lambda: None, environ={})
    with pytest.raises(SigningError, match="needs a variable name"):
        load_signer("env://", lambda: None, environ={})
    environ = {"K": pem_of(private_keys["ecdsa-p256"], PASSWORD).decode()}
    with pytest.raises(SigningError, match="cannot decrypt the key in environment variable K"):
        load_signer("env://K", lambda: b"bad", environ=environ)
    with pytest.raises(SigningError, match="the key in environment variable G is not a PEM private key"):
        load_signer("env://G", lambda: None, environ={"G": "garbage"})


def test_file_scheme_is_a_path(tmp_path: Path, private_keys: dict[str, PrivateKeyTypes]) -> None:
    path = tmp_path / "k.pem"
    path.write_bytes(pem_of(private_keys["ecdsa-p384"]))
    assert load_signer(f"file://{path}", lambda: None).key_details == "PKIX_ECDSA_P384_SHA_384"


def test_pkcs11_uri_is_not_supported_yet() -> None:
    with pytest.raises(SigningError, match="pkcs11: is not supported yet"):
        load_signer("pkcs11:token=ci;object=key", lambda: None)


def test_unknown_scheme(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="ftp:// is not a known key reference scheme"):
        load_signer("ftp://host/key", lambda: None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is not a PEM private key"),
        (b"\x00\xff garbage", "is not a PEM private key"),
        (
            b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n",
            "is not a usable PEM private key",
        ),
        (
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "holds a public key or certificate",
        ),
    ],
)
def test_garbage_key_files_name_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(SigningError, match=message) as info:
        load_signer(str(path), lambda: PASSWORD)
    assert str(info.value).startswith(str(path))


def test_missing_unreadable_and_huge_key_files(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match=r"key file .*missing\.key not found"):
        load_signer(str(tmp_path / "missing.key"), lambda: None)
    with pytest.raises(SigningError, match=r"key file .* is a directory"):
        load_signer(str(tmp_path), lambda: None)
    big = tmp_path / "big.key"
    big.write_bytes(b"-----BEGIN " + b"x" * (2 << 20))
    with pytest.raises(SigningError, match="larger than"):
        load_signer(str(big), lambda: None)


# --- public_key_from_pem -----------------------------------------------------------------------------------


def test_public_key_from_pem_errors_name_the_file(
    tmp_path: Path, private_keys: dict[str, PrivateKeyTypes]
) -> None:
    bad = tmp_path / "bad.pub"
    bad.write_bytes(pem_of(private_keys["ecdsa-p256"]))
    with pytest.raises(SigningError, match="is not a PEM public key") as info:
        public_key_from_pem(bad)
    assert str(bad) in str(info.value)
    weak = tmp_path / "weak.pub"
    weak.write_bytes(public_pem_of(rsa.generate_private_key(65537, 1024)))
    with pytest.raises(SigningError, match="unsupported key type RSA 1024"):
        public_key_from_pem(weak)
    with pytest.raises(SigningError, match="not found"):
        public_key_from_pem(tmp_path / "nope.pub")
