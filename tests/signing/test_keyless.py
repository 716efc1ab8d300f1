"""Keyless Sigstore signing: the offline parts (bundle assembly from a sigstore ``Bundle``, the certificate in
the verification material, references and errors), with generated material; the real thing is ``network``."""

from __future__ import annotations

import base64
import datetime
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytest.importorskip("sigstore")

from sigstore.models import Bundle as SigstoreBundle

from crafter._internal.signing import envelope_from_bundle, load_signer, sign_statement, verify_envelope
from crafter._internal.signing.dsse import Envelope, Signature
from crafter._internal.signing.keyless import (
    KeylessOptions,
    KeylessSigner,
    certificate_chain,
    keyless_reference,
    parse_keyless_reference,
)
from crafter.errors import SigningError
from tests.signing._helpers import STATEMENT


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _leaf() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed stand-in for a Fulcio leaf: code signing, not a CA, an email SAN."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.dev")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(minutes=10))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("dev@example.com")]), critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _sigstore_bundle(payload: bytes, *, signed: bytes | None = None) -> tuple[Any, x509.Certificate]:
    """A sigstore-python ``Bundle`` as Fulcio + Rekor would return it (log entry fields are placeholders)."""
    key, cert = _leaf()
    envelope = Envelope(payload=payload, payload_type="application/vnd.in-toto+json")
    signature = key.sign(Envelope(signed or payload, envelope.payload_type).pae(), ec.ECDSA(hashes.SHA256()))
    envelope = Envelope(payload, envelope.payload_type, (Signature("", signature),))
    document = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))},
            "tlogEntries": [
                {
                    "logIndex": "123456",
                    "logId": {"keyId": _b64(b"\x01" * 32)},
                    "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                    "integratedTime": "1764000000",
                    "inclusionPromise": {"signedEntryTimestamp": _b64(b"set")},
                    "inclusionProof": {
                        "logIndex": "123",
                        "rootHash": _b64(b"\x02" * 32),
                        "treeSize": "124",
                        "hashes": [_b64(b"\x03" * 32)],
                        "checkpoint": {"envelope": "rekor.sigstore.dev - 1\n124\nAAAA\n"},
                    },
                    "canonicalizedBody": _b64(b'{"kind":"dsse"}'),
                }
            ],
        },
        "dsseEnvelope": envelope.to_dict(),
    }
    return SigstoreBundle.from_json(json.dumps(document)), cert


@pytest.fixture
def fake_sigstore(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    made: dict[str, Any] = {}

    def sign(self: KeylessSigner, payload: bytes) -> Any:
        made["options"] = self.options
        bundle, made["cert"] = _sigstore_bundle(payload, signed=made.get("signed"))
        return bundle

    monkeypatch.setattr(KeylessSigner, "_sign_with_sigstore", sign)
    return made


def test_keyless_bundle_keeps_certificate_and_log_entry(fake_sigstore: dict[str, Any]) -> None:
    signer = load_signer("keyless://production", lambda: pytest.fail("no password"), environ={})
    bundle = sign_statement(STATEMENT, signer)
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    material = bundle["verificationMaterial"]
    assert "publicKey" not in material
    (cert,) = certificate_chain(bundle)
    assert cert == fake_sigstore["cert"]
    assert material["tlogEntries"][0]["logIndex"] == "123456"
    assert material["tlogEntries"][0]["kindVersion"] == {"kind": "dsse", "version": "0.0.1"}
    assert verify_envelope(envelope_from_bundle(bundle), cert.public_key()) == STATEMENT
    json.dumps(bundle)  # writable as is


def test_a_bundle_over_other_bytes_is_refused(fake_sigstore: dict[str, Any]) -> None:
    fake_sigstore["signed"] = STATEMENT + b" "
    with pytest.raises(SigningError, match="does not verify with the certificate's key"):
        sign_statement(STATEMENT, load_signer("keyless://", lambda: None, environ={}))


@pytest.mark.parametrize(
    ("options", "ref"),
    [
        (KeylessOptions(), "keyless://production"),
        (KeylessOptions(staging=True), "keyless://staging"),
        (
            KeylessOptions(trust_config=Path("/etc/sigstore/trust.json")),
            "keyless://trust-config:/etc/sigstore/trust.json",
        ),
    ],
)
def test_references_round_trip(options: KeylessOptions, ref: str) -> None:
    assert keyless_reference(staging=options.staging, trust_config=options.trust_config) == ref
    assert parse_keyless_reference(ref) == options


def test_staging_and_trust_config_exclude_each_other() -> None:
    with pytest.raises(SigningError, match="mutually exclusive"):
        keyless_reference(staging=True, trust_config=Path("t.json"))


def test_invalid_reference() -> None:
    with pytest.raises(SigningError, match="invalid keyless reference"):
        load_signer("keyless://elsewhere", lambda: None)


def test_missing_trust_config(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match=r"trust config .*nope\.json not found"):
        load_signer(f"keyless://trust-config:{tmp_path / 'nope.json'}", lambda: None)


def test_no_identity_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sigstore.oidc.detect_credential", lambda: None)
    signer = KeylessSigner(KeylessOptions(), environ={})
    with pytest.raises(SigningError, match="needs an OIDC identity token") as info:
        sign_statement(STATEMENT, signer)
    assert "SIGSTORE_ID_TOKEN" in (info.value.hint or "")


def test_token_from_environment_is_parsed() -> None:
    jwt = pytest.importorskip("jwt")
    now = int(datetime.datetime.now(datetime.UTC).timestamp())
    raw = jwt.encode(
        {
            "iss": "https://token.actions.githubusercontent.com",
            "aud": "sigstore",
            "sub": "repo:acme/app",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        },
        "a-key-that-is-not-checked-locally-by-sigstore",
        algorithm="HS256",
    )
    token = KeylessSigner(KeylessOptions(), environ={"SIGSTORE_ID_TOKEN": raw}).identity_token()
    assert token.issuer == "https://token.actions.githubusercontent.com"


def test_missing_sigstore_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_sigstore(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sigstore" or name.startswith("sigstore."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sigstore)
    with pytest.raises(SigningError, match="needs sigstore-python") as info:
        load_signer("keyless://", lambda: None)
    assert "crafter-attest[sigstore]" in (info.value.hint or "")


@pytest.mark.network
@pytest.mark.skipif(
    not os.environ.get("SIGSTORE_ID_TOKEN"), reason="needs the internet and SIGSTORE_ID_TOKEN"
)
def test_real_keyless_signing_on_staging() -> None:
    bundle = sign_statement(STATEMENT, load_signer("keyless://staging", lambda: None))
    (cert,) = certificate_chain(bundle)
    assert verify_envelope(envelope_from_bundle(bundle), cert.public_key()) == STATEMENT
