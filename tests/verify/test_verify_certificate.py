"""``crafter verify`` of bare DSSE envelopes and with ``--certificate`` (cosign's option), expired ones included."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crafter import Crafter
from crafter._internal.signing.bundle import BUNDLE_MEDIA_TYPE
from crafter._internal.signing.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, Signature
from crafter.errors import ExitCode, SignatureError, UsageError
from crafter.signing.keys import generate_key_pair, public_key_from_pem
from crafter.verify import VerifyResult, verify_bundle
from tests.conftest import chainloop_path, run_cli

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
EXPIRED_AT = datetime(2020, 1, 1, 0, 10, tzinfo=UTC)


def certificate(
    work: Path,
    name: str,
    key: ec.EllipticCurvePrivateKey,
    not_after: datetime,
    not_before: datetime | None = None,
) -> Path:
    """A self-signed signing certificate for ``key``, valid from ``not_before`` (default: ten minutes
    before ``not_after``) up to ``not_after``."""
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"crafter-test-{name}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or not_after - timedelta(minutes=10))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path = work / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


class Signed:
    """A real statement (init, add, push) signed again, as a bare envelope and a key bundle, with a key whose
    certificates are made here: one expired, one valid."""

    def __init__(self, work: Path) -> None:
        self.work = work
        key_path, _ = generate_key_pair(work / "release", b"pw")
        c = Crafter(state_dir=work / "state", cwd=work, environ={"PATH": "/usr/bin:/bin"})
        c.init(workflow="release", project="hello")
        c.add([str(DEMO / "sbom.cdx.json")], name="sbom")
        pushed = c.push(key=str(key_path), password=b"pw", bundle=work / "pushed.json").bundle_path
        self.payload = base64.b64decode(json.loads(pushed.read_text())["dsseEnvelope"]["payload"])
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.expired = certificate(work, "expired", self.key, EXPIRED_AT)
        now = datetime.now(UTC)
        self.valid = certificate(work, "valid", self.key, now + timedelta(days=1), now - timedelta(minutes=5))
        self.future = certificate(work, "future", self.key, now + timedelta(days=2), now + timedelta(days=1))
        self.other = certificate(
            work,
            "other",
            ec.generate_private_key(ec.SECP256R1()),
            now + timedelta(days=1),
            now - timedelta(minutes=5),
        )
        self.pub = work / "cert-key.pub"
        self.pub.write_bytes(
            self.key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        unsigned = Envelope(payload=self.payload, payload_type=IN_TOTO_PAYLOAD_TYPE)
        sig = self.key.sign(unsigned.pae(), ec.ECDSA(hashes.SHA256()))  # DER, as DSSE signers write it
        self.envelope_doc = Envelope(self.payload, IN_TOTO_PAYLOAD_TYPE, (Signature("", sig),)).to_dict()
        self.envelope = self.write("attestation.envelope.json", self.envelope_doc)
        self.bundle = self.write(
            "attestation.sigstore.json",
            {
                "mediaType": BUNDLE_MEDIA_TYPE,
                "verificationMaterial": {"publicKey": {"hint": ""}, "tlogEntries": []},
                "dsseEnvelope": self.envelope_doc,
            },
        )

    def write(self, name: str, doc: object) -> Path:
        path = self.work / name
        path.write_text(json.dumps(doc))
        return path


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    return Signed(tmp_path_factory.mktemp("certificate"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``crafter verify *args`` through ``run_cli``."""
    return run_cli(capsys, "verify", *args)


# -- --certificate -------------------------------------------------------------------------------------
def test_expired_certificate_needs_the_option(signed: Signed, capsys: pytest.CaptureFixture[str]) -> None:
    env, cert = str(signed.envelope), str(signed.expired)
    code, out, err = run(capsys, env, "--certificate", cert, "--allow-expired-certificate")
    assert code == 0, err
    assert f"DSSE envelope {env}" in out
    assert f"certificate {cert}: O=crafter-test-expired, expired 2020-01-01T00:10:00+00:00" in out
    assert f"the certificate {cert} expired on 2020-01-01T00:10:00Z (accepted" in err

    code, out, err = run(capsys, env, "--certificate", cert)
    assert code == ExitCode.BAD_SIGNATURE == 11
    assert "REFUSED" in out  # the summary is shown, then the refusal
    assert f"Error: {env} (DSSE envelope): the certificate {cert} expired on 2020-01-01T00:10:00Z" in err
    assert "--allow-expired-certificate" in err

    code, out, _ = run(capsys, env, "--certificate", cert, "-o", "json")
    doc = json.loads(out)
    assert code == 11 and doc["verified"] is False and doc["format"] == "dsse-envelope"
    assert doc["signer"]["expired"] is True and doc["signer"]["certificate_file"] == cert
    assert "expired on 2020-01-01T00:10:00Z" in doc["certificateProblem"]


def test_certificate_not_yet_valid_is_refused_even_with_allow_expired(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SignatureError, match="is not valid yet: its validity starts") as err:
        verify_bundle(signed.bundle, certificate=signed.future, allow_expired_certificate=True)
    result = err.value.result
    assert isinstance(result, VerifyResult) and result.signer.not_yet_valid and not result.verified
    code, out, err_text = run(
        capsys,
        str(signed.bundle),
        "--certificate",
        str(signed.future),
        "--allow-expired-certificate",
        "-o",
        "json",
    )
    doc = json.loads(out)
    assert code == ExitCode.BAD_SIGNATURE and doc["verified"] is False
    assert doc["signer"]["not_yet_valid"] is True and "not valid yet" in doc["certificateProblem"]
    assert doc["error"]["exitCode"] == 11 and "not valid yet" in err_text


def test_certificate_for_a_key_signed_bundle(signed: Signed) -> None:
    result = verify_bundle(signed.bundle, certificate=signed.valid)
    result.check()
    assert result.kind == "sigstore-bundle" and result.kind_label == "Sigstore bundle"
    assert result.signer.kind == "certificate" and not result.signer.expired
    assert result.signer.identity == "O=crafter-test-valid"
    assert "taken as given" in result.signer.notes[0]
    # identity options apply to the given certificate as to a bundle's own
    verify_bundle(signed.bundle, certificate=signed.valid, certificate_identity="O=crafter-test-valid")
    with pytest.raises(SignatureError, match="not the expected 'O=someone'"):
        verify_bundle(signed.bundle, certificate=signed.valid, certificate_identity="O=someone")


def test_certificate_of_another_key(signed: Signed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(signed.bundle), "--certificate", str(signed.other))
    assert code == ExitCode.BAD_SIGNATURE
    assert err.startswith(
        f"Error: {signed.bundle}: bad signature: no signature of the envelope verifies with the public key "
        f"of certificate {signed.other}\n"
    )


def test_key_and_certificate_are_exclusive(signed: Signed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, str(signed.bundle), "--key", str(signed.pub), "--certificate", str(signed.valid)
    )
    assert code == ExitCode.USAGE and "--key and --certificate are mutually exclusive" in err
    code, _, err = run(capsys, str(signed.bundle), "--key", str(signed.pub), "--allow-expired-certificate")
    assert code == ExitCode.USAGE and "applies to the certificate given with --certificate" in err
    key = public_key_from_pem(signed.pub)
    with pytest.raises(UsageError, match="mutually exclusive"):
        verify_bundle(signed.bundle, public_key=key, certificate=signed.valid)


def test_certificate_file_errors(signed: Signed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(signed.bundle), "--certificate", str(signed.work / "absent.pem"))
    assert code == ExitCode.USAGE and "certificate file" in err and "not found" in err
    code, _, err = run(capsys, str(signed.bundle), "--certificate", str(signed.pub))
    assert code == ExitCode.SIGNING and f"{signed.pub} is not an X.509 certificate" in err


# -- bare DSSE envelopes ----------------------------------------------------------------------------------
def test_bare_envelope_with_a_key(signed: Signed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(signed.envelope), "--key", str(signed.pub), "-o", "json")
    assert code == 0, err
    assert json.loads(out)["format"] == "dsse-envelope"
    code, out, _ = run(capsys, str(signed.bundle), "--key", str(signed.pub), "-o", "json")
    assert code == 0 and json.loads(out)["format"] == "sigstore-bundle"
    code, _, err = run(capsys, str(signed.envelope))
    assert code == ExitCode.USAGE
    assert "is a bare DSSE envelope, which carries no key or certificate" in err


def test_bare_envelope_tampered_and_malformed(signed: Signed, capsys: pytest.CaptureFixture[str]) -> None:
    doc = dict(signed.envelope_doc)
    payload = bytearray(signed.payload)
    payload[10] ^= 0x01
    doc["payload"] = base64.b64encode(bytes(payload)).decode()
    code, _, err = run(capsys, str(signed.write("flipped.json", doc)), "--key", str(signed.pub))
    assert code == ExitCode.BAD_SIGNATURE and "(DSSE envelope): bad signature" in err
    bad = signed.write("bad.json", {**signed.envelope_doc, "payload": "not base64!"})
    code, _, err = run(capsys, str(bad), "--key", str(signed.pub))
    assert code == ExitCode.BAD_SIGNATURE
    assert f"{bad} is not a usable DSSE envelope: invalid DSSE envelope: 'payload' is not base64" in err


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"mediaType": "application/json", "dsseEnvelope": {}}, "unsupported mediaType 'application/json'"),
        ({"payload": "e30="}, "unsupported mediaType None"),  # no payloadType: not read as an envelope
        (
            {"mediaType": BUNDLE_MEDIA_TYPE, "payloadType": "x", "verificationMaterial": {}},
            "a bundle holds exactly one of 'dsseEnvelope' and 'messageSignature'",
        ),
        ({"mediaType": BUNDLE_MEDIA_TYPE, "dsseEnvelope": {}}, "'verificationMaterial' must be an object"),
    ],
)
def test_bundle_errors_stay_specific(
    signed: Signed, capsys: pytest.CaptureFixture[str], doc: dict[str, object], message: str
) -> None:
    path = signed.write("not-a-bundle.json", doc)
    code, _, err = run(capsys, str(path), "--key", str(signed.pub))
    assert code == ExitCode.BAD_SIGNATURE
    assert f"{path} is not a usable Sigstore bundle: {message}" in err


# -- the reference's envelope and certificate -------------------------------------------------------------
def test_reference_envelope_does_not_verify_with_its_certificate(capsys: pytest.CaptureFixture[str]) -> None:
    # Chainloop's renderer test data pairs valid.envelope.v2.json with cert.pem, but the two do not belong
    # together: the envelope's statement was made 2023-05-09, the certificate was issued 2024-06-07 (valid ten
    # minutes, to 09:43:49Z), and Chainloop's own tests only put the pair into a bundle, never verify it.
    # Checked by hand: no signature verifies over the DSSE PAE (nor the payload, nor its base64) with the
    # certificate's P-256 key and SHA-256 or SHA-384; the signature is DER. So verify must say so: the
    # envelope is read, the certificate's expiry reported, and the signature refused.
    envelope = chainloop_path("renderer", "valid.envelope.v2.json")
    cert = chainloop_path("renderer", "cert.pem")
    code, out, err = run(capsys, str(envelope), "--certificate", str(cert), "--allow-expired-certificate")
    assert code == ExitCode.BAD_SIGNATURE == 11
    assert out == ""
    first, hint = err.splitlines()
    assert first == (
        f"Error: {envelope} (DSSE envelope): bad signature: no signature of the envelope verifies with the "
        f"public key of certificate {cert}"
    )
    assert hint.startswith(f"Hint: certificate {cert} (O=fb70359d-8df1-4201-8847-ac0d51a1b852, valid ")
    assert "to 2024-06-07T09:43:49Z, expired)" in hint
