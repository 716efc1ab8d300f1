"""RFC 3161 timestamps: asking a real test TSA over HTTP on 127.0.0.1, verifying its tokens, ``crafter push
--timestamp-server`` and ``crafter verify --timestamp-certificate-chain``, keyless bundles, and the DigiCert timestamp
of the reference project's bundle."""

from __future__ import annotations

import base64
import copy
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from crafter._internal.cli.main import main
from crafter._internal.signing import PrivateKeySigner, envelope_from_bundle, sign_statement, write_bundle
from crafter._internal.signing.bundle import verified_signatures
from crafter._internal.signing.timestamp import (
    add_timestamp,
    bundle_timestamps,
    check_bundle_timestamps,
    parse_timestamp,
    request_timestamp,
    verify_timestamp,
)
from crafter._internal.trust import load_pem_certificates
from crafter.errors import ExitCode, SignatureError, SigningError, UsageError
from tests.conftest import chainloop_path
from tests.signing._helpers import STATEMENT
from tests.signing.tsa import POLICY, TestTSA, make_ca, pem, serve

pytest.importorskip("rfc3161_client")

SIG = b"the DSSE signature bytes"
TSA_NAME = "CN=crafter test TSA,O=crafter tests"


@pytest.fixture(scope="module")
def tsa() -> Iterator[TestTSA]:
    yield from serve(TestTSA())


@pytest.fixture(autouse=True)
def _healthy(tsa: TestTSA) -> None:
    tsa.mode = "ok"


@pytest.fixture(scope="module")
def token(tsa: TestTSA) -> bytes:
    return request_timestamp(tsa.url, SIG)


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsr"


# -- the module ------------------------------------------------------------------------------------------
def test_request_parse_and_verify(tsa: TestTSA, token: bytes) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    info = verify_timestamp(token, SIG, roots=[tsa.root_certificate])
    assert info.verified and info.authority == TSA_NAME
    assert info.hash_algorithm == "sha256" and info.policy == POLICY
    assert info.time.tzinfo is not None and abs((info.time - before).total_seconds()) < 60
    parsed = parse_timestamp(token)
    assert (parsed.time, parsed.serial, parsed.authority, parsed.verified) == (
        info.time,
        info.serial,
        TSA_NAME,
        False,
    )
    assert info.to_dict()["time"].endswith("Z")


def test_a_bare_token_is_accepted(tsa: TestTSA, token: bytes) -> None:
    from rfc3161_client import decode_timestamp_response

    bare = decode_timestamp_response(token).time_stamp_token()
    assert verify_timestamp(bare, SIG, roots=[tsa.root_certificate]).serial == parse_timestamp(token).serial


def test_verify_refuses(tsa: TestTSA, token: bytes) -> None:
    roots = [tsa.root_certificate]
    with pytest.raises(SignatureError, match="over other bytes than this signature"):
        verify_timestamp(token, b"another signature", roots=roots)
    with pytest.raises(SignatureError, match="does not chain to the given TSA roots"):
        verify_timestamp(token, SIG, roots=[make_ca("stranger")[0]])
    with pytest.raises(SignatureError, match="is not self-signed"):
        verify_timestamp(token, SIG, roots=[tsa.intermediate_certificate])
    with pytest.raises(SignatureError, match="no TSA root certificates"):
        verify_timestamp(token, SIG, roots=[])
    with pytest.raises(SignatureError, match="not an RFC 3161 timestamp"):
        verify_timestamp(b"\x30\x03\x02\x01\x00garbage", SIG, roots=roots)
    with pytest.raises(SignatureError, match="not an RFC 3161 timestamp"):
        parse_timestamp(b"nonsense")
    flipped = bytearray(token)
    flipped[-10] ^= 1  # inside the CMS signature
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_timestamp(bytes(flipped), SIG, roots=roots)


def test_a_tsa_certificate_without_the_timestamping_eku_is_refused() -> None:
    for bad in serve(TestTSA(eku=False)):
        stamped = request_timestamp(bad.url, SIG)
        with pytest.raises(SignatureError, match="not for timestamping"):
            verify_timestamp(stamped, SIG, roots=[bad.root_certificate])


def test_a_token_without_certificates_needs_them_given(tsa: TestTSA) -> None:
    tsa.mode = "no-certs"
    stamped = request_timestamp(tsa.url, SIG)
    with pytest.raises(SignatureError, match="does not embed its TSA certificate"):
        verify_timestamp(stamped, SIG, roots=[tsa.root_certificate])
    given = [tsa.certificate, tsa.intermediate_certificate]
    assert verify_timestamp(stamped, SIG, roots=[tsa.root_certificate], intermediates=given).verified


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("garbage", "the answer is not an RFC 3161 TimeStampResp"),
        ("reject", r"the request was refused: status rejection \(unsupported algorithm\)"),
        ("http-500", "HTTP 500"),
        ("wrong-nonce", "nonce mismatch"),
        ("wrong-imprint", "timestamps other bytes than the signature sent"),
    ],
)
def test_request_errors(tsa: TestTSA, mode: str, message: str) -> None:
    tsa.mode = mode
    with pytest.raises(SigningError, match=message) as caught:
        request_timestamp(tsa.url, SIG)
    assert tsa.url in caught.value.message and "\n" not in caught.value.message


def test_request_to_a_tsa_that_is_down_or_not_a_url() -> None:
    url = _closed_port_url()
    with pytest.raises(SigningError, match="cannot connect") as caught:
        request_timestamp(url, SIG, timeout=5)
    assert url in caught.value.message and caught.value.hint
    with pytest.raises(SigningError, match="not an http"):
        request_timestamp("ftp://tsa.example/", SIG)


def test_load_pem_certificates(tsa: TestTSA, tmp_path: Path) -> None:
    (tmp_path / "roots.pem").write_bytes(pem(tsa.root_certificate, tsa.intermediate_certificate))
    assert len(load_pem_certificates(tmp_path / "roots.pem", "--timestamp-certificate-chain")) == 2
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(UsageError, match=r"--timestamp-certificate-chain .*not a PEM file"):
        load_pem_certificates(tmp_path / "bad.pem", "--timestamp-certificate-chain")
    with pytest.raises(UsageError, match="not found"):
        load_pem_certificates(tmp_path / "missing.pem", "--timestamp-certificate-chain")


def test_split_chain_takes_self_signed_certificates_as_roots(tsa: TestTSA) -> None:
    from crafter._internal.signing.timestamp import split_chain

    chain = [tsa.certificate, tsa.intermediate_certificate, tsa.root_certificate]
    assert split_chain(chain) == ([tsa.root_certificate], [tsa.certificate, tsa.intermediate_certificate])
    with pytest.raises(UsageError, match="no self-signed root"):
        split_chain([tsa.certificate, tsa.intermediate_certificate])


# -- signing ---------------------------------------------------------------------------------------------
def test_sign_statement_with_a_timestamp(tsa: TestTSA) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    bundle = sign_statement(STATEMENT, PrivateKeySigner(key), timestamp_server=tsa.url)
    (stamped,) = bundle_timestamps(bundle)
    envelope = envelope_from_bundle(bundle)
    assert verify_timestamp(stamped, envelope.signatures[0].sig, roots=[tsa.root_certificate]).verified
    (info,) = check_bundle_timestamps(
        bundle, verified_signatures(envelope, key.public_key()), roots=[tsa.root_certificate]
    )
    assert info.verified
    # Another signature's timestamp is refused, with or without roots.
    other = sign_statement(STATEMENT, PrivateKeySigner(key))
    other["verificationMaterial"]["timestampVerificationData"] = bundle["verificationMaterial"][
        "timestampVerificationData"
    ]
    for roots in ([], [tsa.root_certificate]):
        with pytest.raises(SignatureError, match="timestamp 0: the timestamp is over other bytes"):
            check_bundle_timestamps(
                other, verified_signatures(envelope_from_bundle(other), key.public_key()), roots=roots
            )


# -- the command line ------------------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tsa: TestTSA) -> Path:
    from crafter.signing.keys import generate_key_pair

    for var in ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_HOME", "CIRCLECI", "CRAFTER_TIMESTAMP_SERVER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRAFTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("CRAFTER_KEY_PASSWORD", "pw")
    generate_key_pair(tmp_path / "release", b"pw")
    (tmp_path / "contract.yaml").write_text("schemaVersion: v1\nmaterials: []\n")
    (tmp_path / "tsa-root.pem").write_bytes(pem(tsa.root_certificate))
    (tmp_path / "stranger.pem").write_bytes(pem(make_ca("stranger")[0]))
    assert main(["init", "--contract", "contract.yaml"]) == 0
    return tmp_path


def _verify_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["verify", "b.json", "--key", "release.pub", "-o", "json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


def test_push_with_a_timestamp_then_verify(
    project: Path, tsa: TestTSA, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", "--key", "release.key", "--bundle", "b.json", "--timestamp-server", tsa.url]) == 0
    bundle = json.loads((project / "b.json").read_text())
    assert len(bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]) == 1

    code, result = _verify_json(capsys, "--timestamp-certificate-chain", "tsa-root.pem")
    assert code == 0
    (stamp,) = result["timestamps"]
    assert stamp["verified"] is True and stamp["authority"] == TSA_NAME
    assert abs(datetime.fromisoformat(stamp["time"]) - datetime.now(UTC)).total_seconds() < 120

    assert (
        main(["verify", "b.json", "--key", "release.pub", "--timestamp-certificate-chain", "tsa-root.pem"])
        == 0
    )
    out = capsys.readouterr().out
    assert "timestamp" in out and f"by {TSA_NAME} (verified)" in out.replace("\n", "")

    # Without roots: shown, not verified, and still a valid bundle.
    code, result = _verify_json(capsys)
    assert code == 0 and result["timestamps"][0]["verified"] is False
    assert main(["verify", "b.json", "--key", "release.pub"]) == 0
    assert "timestamps were not verified" in capsys.readouterr().err

    # Roots of another TSA: not genuine.
    assert (
        main(["verify", "b.json", "--key", "release.pub", "--timestamp-certificate-chain", "stranger.pem"])
        == 11
    )
    err = capsys.readouterr().err
    assert "RFC 3161 timestamp 0: the TSA certificate" in err and "does not chain" in err
    # A chain without its (self-signed) root trusts nothing.
    (project / "no-root.pem").write_bytes(pem(tsa.intermediate_certificate))
    argv = ["verify", "b.json", "--key", "release.pub", "--timestamp-certificate-chain", "no-root.pem"]
    assert main(argv) == ExitCode.USAGE
    assert "holds no self-signed root certificate" in capsys.readouterr().err


def test_push_reads_the_server_from_the_environment(
    project: Path, tsa: TestTSA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRAFTER_TIMESTAMP_SERVER", tsa.url)
    assert main(["push", "--key", "release.key", "--bundle", "b.json"]) == 0
    assert len(bundle_timestamps(json.loads((project / "b.json").read_text()))) == 1


def test_a_timestamp_of_another_signature_is_a_bad_signature(
    project: Path, tsa: TestTSA, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", "--key", "release.key", "--bundle", "b.json", "--timestamp-server", tsa.url]) == 0
    stamped = json.loads((project / "b.json").read_text())
    assert main(["init", "--contract", "contract.yaml"]) == 0
    assert main(["push", "--key", "release.key", "--bundle", "b.json"]) == 0
    plain = json.loads((project / "b.json").read_text())
    assert plain["dsseEnvelope"]["signatures"] != stamped["dsseEnvelope"]["signatures"]
    plain["verificationMaterial"]["timestampVerificationData"] = copy.deepcopy(
        stamped["verificationMaterial"]["timestampVerificationData"]
    )
    write_bundle(project / "b.json", plain)
    for args in ([], ["--timestamp-certificate-chain", "tsa-root.pem"]):
        capsys.readouterr()
        assert main(["verify", "b.json", "--key", "release.pub", *args]) == ExitCode.BAD_SIGNATURE
        assert "over other bytes than this signature" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["down", "garbage", "reject"])
def test_push_when_the_tsa_fails_keeps_the_attestation(
    project: Path, tsa: TestTSA, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _closed_port_url() if mode == "down" else tsa.url
    tsa.mode = mode
    capsys.readouterr()
    assert main(["push", "--key", "release.key", "--bundle", "b.json", "--timestamp-server", url]) == 8
    err = capsys.readouterr().err
    assert f"Error: timestamp server {url}" in err and "Traceback" not in err
    assert not (project / "b.json").exists()
    tsa.mode = "ok"  # the attestation is intact: the same push works once the TSA answers
    assert main(["status"]) == 0
    assert main(["push", "--key", "release.key", "--bundle", "b.json", "--timestamp-server", tsa.url]) == 0


# -- keyless ---------------------------------------------------------------------------------------------
def test_keyless_bundle_with_a_timestamp(project: Path, tsa: TestTSA, tmp_path: Path) -> None:
    import datetime as dt

    from crafter._internal.trust import TrustRoot
    from crafter.verify import verify_bundle
    from crafter.verify.keyless import KeylessPolicy
    from tests.verify.sigstore_instance import IDENTITY, ISSUER, Instance

    assert main(["push", "--key", "release.key", "--bundle", "b.json"]) == 0
    payload = base64.b64decode(json.loads((project / "b.json").read_text())["dsseEnvelope"]["payload"])
    acme = Instance("acme")
    leaf = acme.leaf(not_before=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    bundle = add_timestamp(acme.bundle(payload, tlog=False, leaf=leaf), tsa.url)
    path = tmp_path / "keyless.sigstore.json"
    write_bundle(path, bundle)
    roots, intermediates = acme.write_pems(tmp_path)
    policy = KeylessPolicy(
        trust_root=TrustRoot.from_pem_files(roots, intermediates=intermediates),
        identity=IDENTITY,
        issuer=ISSUER,
    )
    # The trust root has no TSA: the timestamp cannot be checked, which fails closed.
    with pytest.raises(SignatureError, match="no timestamp authority"):
        verify_bundle(path, keyless=policy)
    result = verify_bundle(path, keyless=policy, timestamp_roots=[tsa.root_certificate])
    assert any("RFC 3161 timestamp" in t for t in result.signer.signed_at)
    assert result.timestamps == ()  # keyless: time evidence, reported with the signer
    with pytest.raises(SignatureError, match="does not verify against the trust root's timestamp"):
        verify_bundle(path, keyless=policy, timestamp_roots=[make_ca("stranger")[0]])


# -- the reference project's bundle (a DigiCert timestamp) ---------------------------------------------
def test_chainloop_digicert_timestamp() -> None:
    from crafter._internal.signing.bundle import read_bundle
    from crafter._internal.signing.keyless import signing_certificate

    bundle = read_bundle(chainloop_path("materials", "chainloop_attestation.sigstore.json"))
    (stamped,) = bundle_timestamps(bundle)
    info = parse_timestamp(stamped)
    assert info.time == datetime(2025, 3, 19, 8, 0, 33, tzinfo=UTC)
    assert info.hash_algorithm == "sha256" and info.policy == "2.16.840.1.114412.7.1"  # DigiCert's TSA policy
    assert "DigiCert Trusted G4 RSA4096 SHA256 TimeStamping CA" in info.authority
    # Over the envelope's signature (as decoded from Chainloop's double base64), not the PAE or payload.
    envelope = envelope_from_bundle(bundle)
    (checked,) = check_bundle_timestamps(
        bundle, verified_signatures(envelope, signing_certificate(bundle).public_key())
    )
    assert checked.time == info.time and not checked.verified
    # DigiCert answered without certReq: the token embeds no certificate, so the public DigiCert root
    # alone cannot verify it; the TSA's own certificate is needed (it is not in the reference data).
    digicert = _digicert_trusted_root_g4()
    with pytest.raises(SignatureError, match="does not embed its TSA certificate"):
        verify_timestamp(stamped, envelope.signatures[0].sig, roots=[digicert])


def _digicert_trusted_root_g4() -> x509.Certificate:
    # The public DigiCert Trusted Root G4, as certifi ships it (a dependency of sigstore, so of the tests).
    # Only its block is parsed: certifi holds a certificate with a negative serial that cryptography warns on.
    certifi = pytest.importorskip("certifi")
    text = Path(certifi.where()).read_text()
    for block in text.split("# Issuer: ")[1:]:
        if block.startswith("CN=DigiCert Trusted Root G4 "):
            return x509.load_pem_x509_certificate(block[block.index("-----BEGIN") :].encode())
    pytest.skip("certifi ships no DigiCert Trusted Root G4")


def test_bundle_timestamps_shapes() -> None:
    assert bundle_timestamps({"verificationMaterial": {"timestampVerificationData": {}}}) == []
    assert bundle_timestamps({}) == []
    with pytest.raises(SignatureError, match="must be a list"):
        bundle_timestamps({"verificationMaterial": {"timestampVerificationData": {"rfc3161Timestamps": {}}}})
    with pytest.raises(SignatureError, match="timestamp 0 has no base64"):
        bundle_timestamps(
            {"verificationMaterial": {"timestampVerificationData": {"rfc3161Timestamps": [{"x": 1}]}}}
        )
    bad = {"signedTimestamp": base64.b64encode(b"junk").decode()}
    assert bundle_timestamps(
        {"verificationMaterial": {"timestampVerificationData": {"rfc3161Timestamps": [bad]}}}
    ) == [b"junk"]
