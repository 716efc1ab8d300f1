"""Keyless verification against a trust root, offline: a private Sigstore-like instance (tests/verify/
sigstore_instance.py) signs real bundles; the trust root comes from its TrustedRoot JSON, from PEM files, or is
Sigstore public-good's shipped with sigstore-python."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import tsp
from cryptography.hazmat.primitives.serialization import Encoding

from crafter import Crafter
from crafter._internal.cli.main import main
from crafter._internal.signing.bundle import envelope_from_bundle, verify_envelope
from crafter._internal.signing.keyless import signing_certificate
from crafter._internal.trust import TrustRoot, sigstore_trust_root
from crafter.errors import SignatureError, UsageError
from crafter.signing.keys import generate_key_pair
from crafter.verify import verify_bundle
from crafter.verify.keyless import KeylessPolicy
from tests.conftest import chainloop_path
from tests.signing.tsa import TestTSA, pem
from tests.verify.sigstore_instance import IDENTITY, ISSUER, NOW, Instance

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real crafter statement (no policies), taken from a key-signed bundle."""
    work = tmp_path_factory.mktemp("keyless-payload")
    key, _ = generate_key_pair(work / "k", b"pw")
    c = Crafter(state_dir=work / "state", cwd=work, environ={"PATH": "/usr/bin:/bin"})
    c.init(project="hello")
    c.add([str(DEMO / "hello-1.0.0.py")], name="release-file")
    bundle = json.loads(c.push(key=str(key), password=b"pw", bundle=work / "b.json").bundle_path.read_text())
    return base64.b64decode(bundle["dsseEnvelope"]["payload"])


@pytest.fixture(scope="module")
def acme() -> Instance:
    return Instance("acme")


@pytest.fixture(scope="module")
def root_file(acme: Instance, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return acme.write_trusted_root(tmp_path_factory.mktemp("root") / "trusted_root.json")


@pytest.fixture(scope="module")
def trust(root_file: Path) -> TrustRoot:
    return TrustRoot.from_trusted_root_file(root_file)


def write(tmp_path: Path, bundle: dict[str, Any], name: str = "b.sigstore.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(bundle))
    return path


def fresh_leaf(acme: Instance) -> Any:
    """A leaf valid from a minute ago, for checks against the current time (NOW is the module's start)."""
    return acme.leaf(not_before=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))


def policy(trust: TrustRoot, **kwargs: Any) -> KeylessPolicy:
    kwargs.setdefault("identity", IDENTITY)
    kwargs.setdefault("issuer", ISSUER)
    return KeylessPolicy(trust_root=trust, **kwargs)


# -- valid -----------------------------------------------------------------------------------------------
def test_valid_with_tlog_entry(acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path) -> None:
    result = verify_bundle(write(tmp_path, acme.bundle(payload)), keyless=policy(trust))
    signer = result.signer
    assert (signer.kind, signer.identity, signer.issuer) == ("certificate", IDENTITY, ISSUER)
    assert signer.trust_root.startswith("trusted root ")
    assert signer.chain == ("CN=acme-intermediate,O=acme.test", "CN=acme-root,O=acme.test")
    assert signer.signed_at == (f"{NOW.isoformat()} (transparency log, https://rekor.acme.test)",)
    assert signer.tlog_entries == 1
    assert signer.sct == "verified (SCT from https://ct.acme.test)"
    assert signer.notes == ()
    d = result.to_dict()["signer"]
    assert d["trust_root"] and d["signed_at"] and d["chain"]


V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"


def test_set_only_is_enough_in_v01_only_and_proof_without_set_proves_no_time(
    acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path
) -> None:
    # From bundle v0.2 an inclusion proof is required: a SET is only the log's promise to include the entry.
    with pytest.raises(SignatureError, match=r"has no inclusion proof: from bundle v0\.2"):
        verify_bundle(write(tmp_path, acme.bundle(payload, proof=False)), keyless=policy(trust))
    verify_bundle(
        write(tmp_path, {**acme.bundle(payload, proof=False), "mediaType": V01}), keyless=policy(trust)
    )
    with pytest.raises(SignatureError, match=r"has no signed entry timestamp, which a v0\.1 bundle requires"):
        verify_bundle(
            write(tmp_path, {**acme.bundle(payload, promise=False), "mediaType": V01}), keyless=policy(trust)
        )
    # An inclusion proof without a SET is valid evidence of logging, but not of time (Rekor v2).
    with pytest.raises(SignatureError, match="no verified time of signing"):
        verify_bundle(write(tmp_path, acme.bundle(payload, promise=False)), keyless=policy(trust))


def test_identity_regexps_and_email(acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path) -> None:
    path = write(tmp_path, acme.bundle(payload))
    ok = policy(
        trust,
        identity=None,
        identity_regexp=r"https://github\.com/acme/.*",
        issuer=None,
        issuer_regexp=r"https://token\..*",
    )
    assert verify_bundle(path, keyless=ok).signer.identity == IDENTITY
    with pytest.raises(SignatureError, match="does not match 'https://github"):
        verify_bundle(path, keyless=policy(trust, identity=None, identity_regexp="https://github.com/acme"))
    with pytest.raises(SignatureError, match=r"issued through 'https://token.*does not match"):
        verify_bundle(path, keyless=policy(trust, issuer=None, issuer_regexp="https://accounts.google.com"))
    mail = write(
        tmp_path, acme.bundle(payload, leaf=acme.leaf(identity="dev@acme.test", email=True)), "m.json"
    )
    assert (
        verify_bundle(mail, keyless=policy(trust, identity="dev@acme.test")).signer.identity
        == "dev@acme.test"
    )


def test_identity_and_issuer_mismatch(
    acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path
) -> None:
    path = write(tmp_path, acme.bundle(payload))
    with pytest.raises(SignatureError, match=r"not the expected 'someone@example\.com'"):
        verify_bundle(path, keyless=policy(trust, identity="someone@example.com"))
    with pytest.raises(SignatureError, match=r"not the expected 'https://issuer\.example'"):
        verify_bundle(path, keyless=policy(trust), certificate_oidc_issuer="https://issuer.example")


def test_identity_expectations_are_required(
    acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path
) -> None:
    path = write(tmp_path, acme.bundle(payload))
    with pytest.raises(UsageError, match=r"the certificate names 'https://github.*--certificate-identity"):
        verify_bundle(path, keyless=policy(trust, identity=None))
    with pytest.raises(UsageError, match="--certificate-oidc-issuer or --certificate-oidc-issuer-regexp"):
        verify_bundle(path, keyless=policy(trust, issuer=None))
    with pytest.raises(UsageError, match="not both"):
        policy(trust, identity_regexp=".*")
    with pytest.raises(UsageError, match="not a valid regular expression"):
        KeylessPolicy(identity_regexp="(")


# -- not trusted -------------------------------------------------------------------------------------------
def test_untrusted_root(trust: TrustRoot, payload: bytes, tmp_path: Path) -> None:
    mallory = Instance("mallory")  # same names, same shape: only the keys differ
    mallory.name = "acme"
    with pytest.raises(
        SignatureError, match=r"not issued by a trusted CA: its issuer 'CN=mallory-intermediate"
    ):
        verify_bundle(write(tmp_path, mallory.bundle(payload)), keyless=policy(trust))


def test_leaf_expired_at_signing_time(
    acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path
) -> None:
    bundle = acme.bundle(payload, integrated=NOW + dt.timedelta(minutes=30))
    with pytest.raises(
        SignatureError, match=r"not valid at the time of signing .*transparency log.*valid from"
    ):
        verify_bundle(write(tmp_path, bundle), keyless=policy(trust))


def test_ca_outside_its_trust_root_window(acme: Instance, payload: bytes, tmp_path: Path) -> None:
    window = {"start": "2020-01-01T00:00:00Z", "end": (NOW - dt.timedelta(days=1)).isoformat()}
    trust = TrustRoot.from_trusted_root_file(
        acme.write_trusted_root(tmp_path / "r.json", ca_valid_for=window)
    )
    with pytest.raises(
        SignatureError, match=r"chain is not valid at the time of signing.*no certificate authority"
    ):
        verify_bundle(write(tmp_path, acme.bundle(payload)), keyless=policy(trust))


def test_not_a_code_signing_certificate(
    acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path
) -> None:
    bundle = acme.bundle(payload, leaf=acme.leaf(code_signing=False))
    with pytest.raises(SignatureError, match="not a code-signing certificate"):
        verify_bundle(write(tmp_path, bundle), keyless=policy(trust))


def test_tampered_set(acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path) -> None:
    bundle = acme.bundle(payload)
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 60)  # still inside the leaf's window
    with pytest.raises(SignatureError, match="signed entry timestamp does not verify with the log's key"):
        verify_bundle(write(tmp_path, bundle), keyless=policy(trust))


def test_set_signed_by_another_key(acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    forged = acme.bundle(payload, log_key=ec.generate_private_key(ec.SECP256R1()), proof=False)
    with pytest.raises(SignatureError, match="signed entry timestamp does not verify"):
        verify_bundle(write(tmp_path, {**forged, "mediaType": V01}), keyless=policy(trust))
    forged = acme.bundle(payload, log_key=ec.generate_private_key(ec.SECP256R1()), promise=False)
    with pytest.raises(SignatureError, match="checkpoint has no signature by the log"):
        verify_bundle(write(tmp_path, forged), keyless=policy(trust))


def test_inclusion_proof_tampered(acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path) -> None:
    bundle = acme.bundle(payload)
    proof = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    proof["hashes"] = list(reversed(proof["hashes"]))
    with pytest.raises(SignatureError, match="inclusion proof does not lead to its root hash"):
        verify_bundle(write(tmp_path, bundle), keyless=policy(trust))


def test_entry_for_another_envelope(acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path) -> None:
    leaf = acme.leaf()
    ours = acme.bundle(payload, leaf=leaf)
    other = acme.bundle(
        payload.replace(b'"hello"', b'"other"', 1), leaf=leaf
    )  # same signer, another statement
    assert other["dsseEnvelope"] != ours["dsseEnvelope"]
    ours["verificationMaterial"]["tlogEntries"] = other["verificationMaterial"]["tlogEntries"]
    with pytest.raises(SignatureError, match="does not match this bundle: it records another envelope"):
        verify_bundle(write(tmp_path, ours), keyless=policy(trust))


def test_entry_from_unknown_log(acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path) -> None:
    bundle = acme.bundle(payload)
    bundle["verificationMaterial"]["tlogEntries"][0]["logId"]["keyId"] = base64.b64encode(
        b"\x07" * 32
    ).decode()
    with pytest.raises(SignatureError, match="from a log the trust root does not know"):
        verify_bundle(write(tmp_path, bundle), keyless=policy(trust))


def test_sct_required_when_the_trust_root_has_ct_logs(
    acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path
) -> None:
    bundle = acme.bundle(payload, leaf=acme.leaf(sct=False))
    with pytest.raises(SignatureError, match="has no SCT"):
        verify_bundle(write(tmp_path, bundle), keyless=policy(trust))
    other = Instance("other")  # its leaf's SCT is from another CT log
    bundle = acme.bundle(payload, leaf=acme.leaf())
    no_ct = TrustRoot.from_trusted_root(acme.trusted_root(ctlogs=False))
    result = verify_bundle(write(tmp_path, bundle), keyless=policy(no_ct))
    assert result.signer.sct.startswith("not checked")
    foreign_ct = TrustRoot.from_trusted_root(
        {**acme.trusted_root(), "ctlogs": other.trusted_root()["ctlogs"]}
    )
    with pytest.raises(SignatureError, match="no SCT of the signing certificate verifies"):
        verify_bundle(write(tmp_path, bundle), keyless=policy(foreign_ct))


# -- missing evidence --------------------------------------------------------------------------------------
def test_missing_evidence(acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path) -> None:
    path = write(tmp_path, acme.bundle(payload, tlog=False, leaf=fresh_leaf(acme)))
    with pytest.raises(SignatureError, match="no transparency-log entry") as info:
        verify_bundle(path, keyless=policy(trust))
    assert "--insecure-ignore-tlog" in (info.value.hint or "")
    with pytest.raises(SignatureError, match="no verified time of signing") as info:
        verify_bundle(path, keyless=policy(trust, ignore_tlog=True))
    assert "--insecure-current-time" in (info.value.hint or "")
    result = verify_bundle(path, keyless=policy(trust, ignore_tlog=True, allow_current_time=True))
    assert "current time" in result.signer.signed_at[0]
    assert "--insecure-current-time" in result.signer.notes[0]


def test_current_time_refuses_an_expired_certificate(
    acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path
) -> None:
    leaf = acme.leaf(not_before=NOW - dt.timedelta(hours=2))
    path = write(tmp_path, acme.bundle(payload, leaf=leaf, tlog=False))
    with pytest.raises(SignatureError, match=r"not valid at the time of signing .*current time"):
        verify_bundle(path, keyless=policy(trust, ignore_tlog=True, allow_current_time=True))


# -- trust roots -------------------------------------------------------------------------------------------
def test_pem_trust_root(acme: Instance, payload: bytes, tmp_path: Path) -> None:
    roots, intermediates = acme.write_pems(tmp_path)
    trust = TrustRoot.from_pem_files(roots, intermediates=intermediates)
    assert trust.transparency_logs == () and trust.timestamp_authorities == ()
    logged = write(tmp_path, acme.bundle(payload))
    with pytest.raises(SignatureError, match="from a log the trust root does not know"):
        verify_bundle(logged, keyless=policy(trust))
    # The intermediate may come from the bundle instead of the trust root.
    bundle = acme.bundle(payload, tlog=False, leaf=fresh_leaf(acme))
    material = bundle["verificationMaterial"]
    leaf = material.pop("certificate")
    material["x509CertificateChain"] = {
        "certificates": [
            leaf,
            {"rawBytes": base64.b64encode(acme.intermediate.public_bytes(Encoding.DER)).decode()},
        ]
    }
    only_root = TrustRoot.from_pem_files(roots)
    result = verify_bundle(
        write(tmp_path, bundle, "chain.json"), keyless=policy(only_root, allow_current_time=True)
    )
    assert result.signer.chain[-1] == "CN=acme-root,O=acme.test"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not JSON"),
        ("[]", "expected a JSON object"),
        ('{"mediaType": "application/json"}', "unsupported mediaType 'application/json'"),
        (
            '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}',
            "no certificateAuthorities",
        ),
        (
            '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", '
            '"certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": "!!"}]}}]}',
            r"certificateAuthorities\[0\]\.certChain\.certificates\[0\]\.rawBytes is not base64",
        ),
        (
            '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", '
            '"certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": "AAAA"}]}}]}',
            r"certificateAuthorities\[0\]\.certChain\.certificates\[0\] is not a DER certificate",
        ),
    ],
)
def test_bad_trusted_root_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "root.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=f"trusted root {path}: {message}"):
        TrustRoot.from_trusted_root_file(path)


def test_bad_trust_root_files(acme: Instance, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"trusted root .*nope\.json not found"):
        TrustRoot.from_trusted_root_file(tmp_path / "nope.json")
    empty = tmp_path / "empty.pem"
    empty.write_text("hello\n")
    with pytest.raises(UsageError, match=r"--ca-roots file .*empty\.pem: no PEM certificate"):
        TrustRoot.from_pem_files(empty)
    _key, leaf = acme.leaf()
    not_ca = tmp_path / "leaf.pem"
    not_ca.write_bytes(leaf.public_bytes(Encoding.PEM))
    with pytest.raises(UsageError, match="is not a CA certificate"):
        TrustRoot.from_pem_files(not_ca)


def test_public_good_root_loads_and_refuses_our_instance(
    acme: Instance, payload: bytes, tmp_path: Path
) -> None:
    pytest.importorskip("sigstore")
    production = sigstore_trust_root()
    assert production.source.startswith("Sigstore public-good (sigstore ")
    assert production.transparency_logs and production.ct_logs and production.certificate_authorities
    assert sigstore_trust_root(staging=True).source.startswith("Sigstore staging")
    path = write(tmp_path, acme.bundle(payload))
    with pytest.raises(SignatureError, match=r"not issued by a trusted CA.*Sigstore public-good"):
        verify_bundle(path, keyless=KeylessPolicy(identity=IDENTITY, issuer=ISSUER))  # the default root


def test_no_sigstore_and_no_root(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UsageError, match="needs a trust root and none was given") as info:
        sigstore_trust_root()
    assert "--trusted-root" in (info.value.hint or "") and "crafter-attest[sigstore]" in (
        info.value.hint or ""
    )


# -- the reference's real bundles --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["chainloop_attestation.sigstore.json", "attestation-bundle.json", "slsa_provenance.sigstore.json"],
)
def test_reference_bundles_are_not_from_a_trusted_ca(name: str) -> None:
    pytest.importorskip("sigstore")
    path = chainloop_path("materials", name)
    with pytest.raises(
        SignatureError,
        match=r"not issued by a trusted CA: its issuer .* does not chain to Sigstore public-good",
    ) as caught:
        verify_bundle(path, keyless=KeylessPolicy(identity_regexp=".*", issuer_regexp=".*"))
    assert (caught.value.hint or "").startswith("none of its issuers is a trusted root")
    # ...while their signature over the envelope does verify with the certificate's key.
    bundle = json.loads(path.read_text())
    assert verify_envelope(envelope_from_bundle(bundle), signing_certificate(bundle).public_key())


# -- CLI -----------------------------------------------------------------------------------------------
def test_cli(
    acme: Instance, root_file: Path, payload: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = str(write(tmp_path, acme.bundle(payload)))
    who = ["--certificate-identity", IDENTITY, "--certificate-oidc-issuer", ISSUER]
    assert main(["verify", good, "--trusted-root", str(root_file), *who, "-o", "json"]) == 0
    signer = json.loads(capsys.readouterr().out)["signer"]
    assert signer["tlog_entries"] == 1 and signer["chain"][-1] == "CN=acme-root,O=acme.test"
    regexps = [
        "--certificate-identity-regexp",
        "https://github.com/acme/.*",
        "--certificate-oidc-issuer-regexp",
        ".*",
    ]
    assert main(["verify", good, "--trusted-root", str(root_file), *regexps]) == 0
    out = capsys.readouterr().out
    assert "trust root" in out and "transparency log" in out
    assert main(["verify", good, "--trusted-root", str(root_file)]) == 2  # no identity expectation
    assert main(["verify", good, *who]) == 11  # the default root: public-good
    untimed = str(write(tmp_path, acme.bundle(payload, tlog=False, leaf=fresh_leaf(acme)), "untimed.json"))
    roots, intermediates = acme.write_pems(tmp_path)
    pem = ["--ca-roots", str(roots), "--ca-intermediates", str(intermediates)]
    assert main(["verify", untimed, *pem, *who]) == 11
    assert main(["verify", untimed, *pem, *who, "--insecure-current-time"]) == 0
    assert (
        main(
            [
                "verify",
                untimed,
                "--trusted-root",
                str(root_file),
                *who,
                "--insecure-ignore-tlog",
                "--insecure-current-time",
            ]
        )
        == 0
    )
    assert main(["verify", good, "--trusted-root", str(root_file), "--ca-roots", str(roots), *who]) == 2
    assert main(["verify", good, "--trusted-root", str(tmp_path / "missing.json"), *who]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "not issued by a trusted CA" in err and "no verified time of signing" in err
    assert "Warning: no verified time of signing" in err


# -- RFC 3161 timestamps -------------------------------------------------------------------------------
# Real tokens from the test TSA (tests/signing/tsa.py), over the bundle's signature, at a chosen time.
def _timestamped(bundle: dict[str, Any], tsa: TestTSA, when: dt.datetime) -> dict[str, Any]:
    signature = envelope_from_bundle(bundle).signatures[0].sig
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(signature).digest(),
            },
            "cert_req": True,
        }
    ).dump()
    token = base64.b64encode(tsa.respond(request, when=when)).decode()
    material = bundle["verificationMaterial"]
    material["timestampVerificationData"] = {"rfc3161Timestamps": [{"signedTimestamp": token}]}
    return bundle


def test_timestamps_need_a_timestamp_authority(
    acme: Instance, trust: TrustRoot, payload: bytes, tmp_path: Path
) -> None:
    bundle = acme.bundle(payload, tlog=False, timestamps=[b"token"])
    with pytest.raises(
        SignatureError, match=r"has RFC 3161 timestamps but the trust root .* has no timestamp"
    ):
        verify_bundle(write(tmp_path, bundle), keyless=policy(trust))


def test_private_ca_with_timestamps(acme: Instance, payload: bytes, tmp_path: Path) -> None:
    """Chainloop's shape: a private CA, a TSA, no transparency log."""
    tsa = TestTSA()
    roots, intermediates = acme.write_pems(tmp_path)
    tsa_chain = tmp_path / "tsa.pem"
    tsa_chain.write_bytes(pem(tsa.intermediate_certificate, tsa.root_certificate))
    trust = TrustRoot.from_pem_files(roots, intermediates=intermediates, timestamp_chain=tsa_chain)
    bundle = _timestamped(acme.bundle(payload, tlog=False), tsa, NOW)
    result = verify_bundle(write(tmp_path, bundle), keyless=policy(trust))
    (signed_at,) = result.signer.signed_at
    assert signed_at.startswith(f"{NOW.isoformat()} (RFC 3161 timestamp, ")
    # A time outside the certificate's life, a token over another signature, a TSA nobody trusts.
    late = _timestamped(acme.bundle(payload, tlog=False), tsa, NOW + dt.timedelta(hours=1))
    with pytest.raises(SignatureError, match=r"not valid at the time of signing .*RFC 3161 timestamp"):
        verify_bundle(write(tmp_path, late), keyless=policy(trust))
    moved = acme.bundle(payload, tlog=False)
    moved["verificationMaterial"]["timestampVerificationData"] = bundle["verificationMaterial"][
        "timestampVerificationData"
    ]
    with pytest.raises(SignatureError, match="RFC 3161 timestamp 0 does not verify"):
        verify_bundle(write(tmp_path, moved), keyless=policy(trust))
    stranger = _timestamped(acme.bundle(payload, tlog=False), TestTSA(), NOW)
    with pytest.raises(SignatureError, match="RFC 3161 timestamp 0 does not verify"):
        verify_bundle(write(tmp_path, stranger), keyless=policy(trust))
