from __future__ import annotations

import base64
import copy
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.exceptions import VerificationError as SslibVerificationError
from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]

from crafter._internal.signing import (
    ACCEPTED_MEDIA_TYPES,
    BUNDLE_MEDIA_TYPE,
    Envelope,
    PrivateKeySigner,
    Signer,
    VerificationError,
    envelope_from_bundle,
    pae,
    read_bundle,
    sign_statement,
    verify_envelope,
    write_bundle,
)
from crafter.errors import CrafterError, SigningError
from tests.conftest import chainloop_path
from tests.signing._helpers import STATEMENT


@pytest.fixture
def signer(private_keys: dict[str, PrivateKeyTypes]) -> PrivateKeySigner:
    return PrivateKeySigner(private_keys["ecdsa-p256"])


def _tampered(bundle: dict[str, Any]) -> dict[str, Any]:
    """A copy whose payload says something else (same length, one byte changed)."""
    changed = copy.deepcopy(bundle)
    payload = base64.b64decode(changed["dsseEnvelope"]["payload"]).replace(b'"n":1', b'"n":2')
    changed["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    return changed


# --- sign_statement ----------------------------------------------------------------------------------------


def test_bundle_shape(signer: PrivateKeySigner) -> None:
    bundle = sign_statement(STATEMENT, signer)
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert bundle["verificationMaterial"] == {
        "publicKey": {"hint": signer.keyid},
        "tlogEntries": [],
        "timestampVerificationData": {},
    }
    envelope = bundle["dsseEnvelope"]
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert [s["keyid"] for s in envelope["signatures"]] == [signer.keyid]
    json.dumps(bundle)  # plain JSON types only


def test_signature_covers_pae_over_exactly_the_given_bytes(signer: PrivateKeySigner) -> None:
    # Bytes no JSON serialiser would reproduce (spacing, key order, escapes) must come back unchanged.
    payload = b'{ "z" : 1,\n"a":"\\u00e9"  }'
    bundle = sign_statement(payload, signer)
    envelope = envelope_from_bundle(bundle)
    assert envelope.payload == payload
    assert base64.b64decode(bundle["dsseEnvelope"]["payload"]) == payload
    assert verify_envelope(envelope, signer.public_key()) == payload
    # and the signature is over the PAE, not over the payload alone
    sig = envelope.signatures[0].sig
    public = signer.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(sig, pae("application/vnd.in-toto+json", payload), ec.ECDSA(hashes.SHA256()))


def test_each_key_type_produces_a_bundle_that_verifies(
    private_keys: dict[str, PrivateKeyTypes], key_name: str
) -> None:
    key = private_keys[key_name]
    bundle = sign_statement(STATEMENT, PrivateKeySigner(key))
    assert verify_envelope(envelope_from_bundle(bundle), key.public_key()) == STATEMENT
    with pytest.raises(VerificationError):
        verify_envelope(envelope_from_bundle(_tampered(bundle)), key.public_key())


def test_sign_statement_needs_bytes(signer: PrivateKeySigner) -> None:
    with pytest.raises(TypeError, match="payload must be bytes"):
        sign_statement("text", signer)  # type: ignore[arg-type]


class _BrokenSigner(Signer):
    def __init__(self, inner: PrivateKeySigner, mode: str) -> None:
        self.inner, self.mode = inner, mode

    def sign(self, data: bytes) -> bytes:
        if self.mode == "raise":
            raise ConnectionError("KMS unreachable")
        if self.mode == "empty":
            return b""
        other = PrivateKeySigner(ec.generate_private_key(ec.SECP256R1()))
        return other.sign(data)  # signs with a key that is not the advertised one

    def public_key_pem(self) -> bytes:
        return self.inner.public_key_pem()

    @property
    def key_details(self) -> str:
        return self.inner.key_details


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("raise", "signing failed: KMS unreachable"),
        ("empty", "signing failed: the signer returned no signature"),
        ("wrong-key", "signing failed: the signature does not verify with the signer's public key"),
    ],
)
def test_backend_failures_become_signing_errors(signer: PrivateKeySigner, mode: str, message: str) -> None:
    with pytest.raises(SigningError) as info:
        sign_statement(STATEMENT, _BrokenSigner(signer, mode))
    assert str(info.value) == message


# --- verify_envelope ---------------------------------------------------------------------------------------


def test_verify_rejects_wrong_key_tampering_and_no_signatures(
    signer: PrivateKeySigner, private_keys: dict[str, PrivateKeyTypes]
) -> None:
    envelope = envelope_from_bundle(sign_statement(STATEMENT, signer))
    other = private_keys["ed25519"].public_key()
    with pytest.raises(VerificationError, match="signature verification failed") as info:
        verify_envelope(envelope, other)
    assert isinstance(info.value, SigningError)
    for changed in (
        Envelope(envelope.payload, "application/json", envelope.signatures),  # payload type is signed too
        Envelope(envelope.payload + b" ", envelope.payload_type, envelope.signatures),
    ):
        with pytest.raises(VerificationError):
            verify_envelope(changed, signer.public_key())
    with pytest.raises(VerificationError, match="no signatures"):
        verify_envelope(Envelope(envelope.payload, envelope.payload_type), signer.public_key())


def test_verify_ignores_the_unauthenticated_keyid(signer: PrivateKeySigner) -> None:
    envelope = envelope_from_bundle(sign_statement(STATEMENT, signer))
    renamed = Envelope(envelope.payload, envelope.payload_type, [("", envelope.signatures[0].sig)])
    assert verify_envelope(renamed, signer.public_key()) == STATEMENT


# --- write_bundle / read_bundle ----------------------------------------------------------------------------


def test_write_then_read_round_trip(tmp_path: Path, signer: PrivateKeySigner) -> None:
    bundle = sign_statement(STATEMENT, signer)
    path = tmp_path / "out" / "nested" / "attestation.bundle.json"
    write_bundle(path, bundle)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert read_bundle(path) == bundle
    assert [p.name for p in path.parent.iterdir()] == ["attestation.bundle.json"]  # no temp file left


def test_write_replaces_an_existing_bundle(tmp_path: Path, signer: PrivateKeySigner) -> None:
    path = tmp_path / "b.json"
    path.write_text("old")
    bundle = sign_statement(STATEMENT, signer)
    write_bundle(path, bundle)
    assert read_bundle(path) == bundle


def test_write_failure_names_the_file(tmp_path: Path, signer: PrivateKeySigner) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CrafterError, match=r"cannot write bundle .*file/b\.json"):
        write_bundle(blocker / "b.json", sign_statement(STATEMENT, signer))


@pytest.mark.parametrize("media_type", sorted(ACCEPTED_MEDIA_TYPES))
def test_read_accepts_the_documented_media_types(
    tmp_path: Path, signer: PrivateKeySigner, media_type: str
) -> None:
    bundle = sign_statement(STATEMENT, signer) | {"mediaType": media_type}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    assert read_bundle(path)["mediaType"] == media_type


def test_accepted_media_types_are_exactly_these() -> None:
    assert BUNDLE_MEDIA_TYPE in ACCEPTED_MEDIA_TYPES
    assert {
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
    } == ACCEPTED_MEDIA_TYPES


def _bad_bundles(good: dict[str, Any]) -> list[tuple[str, bytes, str]]:
    def dump(value: Any) -> bytes:
        return json.dumps(value).encode()

    no_envelope = {k: v for k, v in good.items() if k != "dsseEnvelope"}
    return [
        ("not-json", b"{", "invalid JSON"),
        ("binary", b"\xff\xfe", "invalid JSON"),
        ("array", b"[]", "expected a JSON object, got list"),
        (
            "media-type",
            dump(good | {"mediaType": "application/json"}),
            "unsupported mediaType 'application/json'",
        ),
        (
            "no-media-type",
            dump({k: v for k, v in good.items() if k != "mediaType"}),
            "unsupported mediaType None",
        ),
        ("material", dump(good | {"verificationMaterial": []}), "'verificationMaterial' must be an object"),
        ("no-envelope", dump(no_envelope), "the bundle has no 'dsseEnvelope'"),
        ("bad-envelope", dump(good | {"dsseEnvelope": {"payload": 1}}), "invalid DSSE envelope"),
    ]


def test_read_rejects_bad_files_naming_them(tmp_path: Path, signer: PrivateKeySigner) -> None:
    good = sign_statement(STATEMENT, signer)
    for name, content, message in _bad_bundles(good):
        path = tmp_path / f"{name}.json"
        path.write_bytes(content)
        with pytest.raises(SigningError) as info:
            read_bundle(path)
        assert str(info.value).startswith(str(path)), name
        assert message in str(info.value), name


def test_read_missing_or_unreadable(tmp_path: Path) -> None:
    with pytest.raises(CrafterError, match=r"bundle .*nope\.json not found"):
        read_bundle(tmp_path / "nope.json")
    with pytest.raises(CrafterError, match=r"bundle .* is a directory"):
        read_bundle(tmp_path)


def test_envelope_from_bundle_does_not_modify_the_bundle(signer: PrivateKeySigner) -> None:
    bundle = sign_statement(STATEMENT, signer)
    snapshot = copy.deepcopy(bundle)
    envelope_from_bundle(bundle)
    assert bundle == snapshot


# --- Chainloop's own bundle (Go-produced, keyless certificate, ;version=0.3 media type) --------------------


def _chainloop_bundle() -> tuple[Path, Any]:
    path = chainloop_path("materials", "attestation-bundle.json")
    bundle = read_bundle(path)
    raw = base64.b64decode(bundle["verificationMaterial"]["certificate"]["rawBytes"])
    return path, x509.load_der_x509_certificate(raw).public_key()


def test_chainloop_bundle_verifies_with_its_certificate_key() -> None:
    path, public_key = _chainloop_bundle()
    bundle = read_bundle(path)
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle+json;version=0.3"
    payload = verify_envelope(envelope_from_bundle(bundle), public_key)
    assert json.loads(payload)["_type"] == "https://in-toto.io/Statement/v1"


def test_chainloop_bundle_with_historic_double_base64_signature_still_verifies() -> None:
    path, public_key = _chainloop_bundle()
    bundle = read_bundle(path)
    sig = bundle["dsseEnvelope"]["signatures"][0]
    sig["sig"] = base64.b64encode(sig["sig"].encode()).decode()  # what bug #1832 wrote
    assert verify_envelope(envelope_from_bundle(bundle), public_key)
    with pytest.raises(VerificationError):
        verify_envelope(envelope_from_bundle(_tampered_chainloop(bundle)), public_key)


def _tampered_chainloop(bundle: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(bundle)
    payload = base64.b64decode(changed["dsseEnvelope"]["payload"]) + b" "
    changed["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    return changed


def test_chainloop_plain_envelope_parses() -> None:
    # Only parsed: despite the fixture notice, its signature does not verify with renderer/cert.pem (checked
    # over the PAE, the raw payload and the base64 payload, SHA-256 and SHA-384), so it proves nothing more.
    data = json.loads(chainloop_path("renderer", "valid.envelope.v2.json").read_text())
    envelope = Envelope.from_dict(data)
    assert envelope.payload_type == "application/vnd.in-toto+json"
    assert envelope.payload.startswith(b"{")
    assert [(s.keyid, len(s.sig)) for s in envelope.signatures] == [("", 71)]


# --- independent verification: securesystemslib -----------------------------------------------------------


def _sslib_key(signer: PrivateKeySigner, key_name: str) -> SSlibKey:
    # RSA: securesystemslib defaults to PSS; we sign PKCS#1 v1.5 (see crafter/_internal/signing/algorithms.py).
    scheme = "rsa-pkcs1v15-sha256" if key_name.startswith("rsa") else None
    return SSlibKey.from_crypto(signer.public_key(), keyid=signer.keyid, scheme=scheme)


def test_securesystemslib_verifies_our_envelope_and_rejects_tampering(
    private_keys: dict[str, PrivateKeyTypes], key_name: str
) -> None:
    signer = PrivateKeySigner(private_keys[key_name])
    bundle = sign_statement(STATEMENT, signer)
    key = _sslib_key(signer, key_name)
    # deepcopy: securesystemslib's from_dict pops keys out of the dict it is given.
    envelope = SslibEnvelope.from_dict(copy.deepcopy(bundle["dsseEnvelope"]))
    assert list(envelope.verify([key], 1)) == [signer.keyid]
    assert envelope.pae() == pae("application/vnd.in-toto+json", STATEMENT)
    tampered = SslibEnvelope.from_dict(copy.deepcopy(_tampered(bundle)["dsseEnvelope"]))
    with pytest.raises(SslibVerificationError, match="Found: 0, Expected 1"):
        tampered.verify([key], 1)
