"""Verification beyond crafter's own attestations: in-toto statements of any predicate (SLSA provenance,
in-toto v0.1), message-signature bundles (a file's digest signed, what ``cosign sign-blob`` writes), log
entries of key-signed bundles checked against a trust root, cases derived from the conformance suite, and
machine-readable failures."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from crafter._internal.signing import PrivateKeySigner, sign_statement
from crafter.errors import DigestMismatchError, ExitCode, SignatureError, UsageError
from crafter.verify import VerifyResult, verify_bundle
from tests.conftest import run_cli
from tests.verify.conformance import IDENTITY, ISSUER, SUITE, case_dir

V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
ARTIFACT = b"release-1.2.3.tar.gz contents\n"
SLSA = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "release-1.2.3.tar.gz", "digest": {"sha256": hashlib.sha256(ARTIFACT).hexdigest()}}],
    "predicateType": "https://slsa.dev/provenance/v1",
    "predicate": {
        "buildDefinition": {"buildType": "https://example.test/build@v1", "externalParameters": {}},
        "runDetails": {"builder": {"id": "https://example.test/builder"}},
    },
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Keys:
    def __init__(self, tmp_path: Path) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.pub = tmp_path / "release.pub"
        self.pub.write_bytes(
            self.key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        self.tmp = tmp_path
        self.artifact = tmp_path / "release-1.2.3.tar.gz"
        self.artifact.write_bytes(ARTIFACT)

    def write(self, name: str, document: dict[str, Any]) -> Path:
        path = self.tmp / name
        path.write_text(json.dumps(document))
        return path

    def message_bundle(self, data: bytes = ARTIFACT) -> dict[str, Any]:
        """A key-signed message-signature bundle over ``data`` (as ``cosign sign-blob --bundle`` makes)."""
        digest = hashlib.sha256(data).digest()
        signature = self.key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        return {
            "mediaType": V03,
            "verificationMaterial": {"publicKey": {"hint": "release"}, "tlogEntries": []},
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": b64(digest)},
                "signature": b64(signature),
            },
        }

    def attestation(self, statement: dict[str, Any]) -> Path:
        payload = json.dumps(statement).encode()
        return self.write("provenance.sigstore.json", sign_statement(payload, PrivateKeySigner(self.key)))


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path)


# -- any in-toto statement ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "statement_type", ["https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"]
)
def test_slsa_provenance_verifies_and_matches_subjects(
    keys: Keys, statement_type: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = keys.attestation({**SLSA, "_type": statement_type})
    result = verify_bundle(path, public_key=keys.key.public_key(), materials=[keys.artifact])
    assert result.predicate_type == "https://slsa.dev/provenance/v1" and not result.is_chainloop
    assert result.material_checks[0].matched == "subject 'release-1.2.3.tar.gz'"
    assert result.materials == [] and result.policy == {}
    code, out, err = run_cli(
        capsys, "verify", str(path), "--key", str(keys.pub), "--material", str(keys.artifact), "-o", "json"
    )
    doc = json.loads(out)
    assert code == 0, err
    assert doc["predicateType"] == "https://slsa.dev/provenance/v1" and doc["verified"] is True
    digest = "sha256:" + hashlib.sha256(ARTIFACT).hexdigest()
    assert doc["subjects"] == [{"name": "release-1.2.3.tar.gz", "digest": digest}]
    assert "policy" not in doc and "materials" not in doc
    code, out, _ = run_cli(capsys, "verify", str(path), "--key", str(keys.pub))
    assert code == 0 and "https://slsa.dev/provenance/v1" in out and "release-1.2.3.tar.gz" in out


def test_subjects_match_by_digest_and_a_wrong_file_is_a_mismatch(keys: Keys) -> None:
    path = keys.attestation(SLSA)
    digest = "sha256:" + hashlib.sha256(ARTIFACT).hexdigest()
    assert verify_bundle(path, public_key=keys.key.public_key(), materials=[digest]).verified
    other = keys.tmp / "other.bin"
    other.write_bytes(b"not the release")
    with pytest.raises(DigestMismatchError, match="matches no subject of the attestation"):
        verify_bundle(path, public_key=keys.key.public_key(), materials=[other])


@pytest.mark.parametrize("option", ["contract", "replay"])
def test_chainloop_only_features_refuse_other_predicates(keys: Keys, option: str) -> None:
    path = keys.attestation(SLSA)
    kwargs: dict[str, Any] = {"contract": keys.tmp / "c.yaml"} if option == "contract" else {"replay": True}
    with pytest.raises(UsageError, match=f"--{option} works on Chainloop attestations") as err:
        verify_bundle(path, public_key=keys.key.public_key(), **kwargs)
    assert "https://slsa.dev/provenance/v1" in err.value.message


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        ({"_type": "https://example.test/Statement"}, "_type is 'https://example.test/Statement'"),
        ({"subject": []}, "subject must be a non-empty list"),
        ({"subject": [{"name": "x", "digest": {}}]}, "subject[0].digest must be a non-empty object"),
        ({"subject": [{"name": "x", "digest": {"sha256": "not hex"}}]}, "digest.sha256 must be a hex string"),
        ({"predicateType": ""}, "predicateType must be a non-empty string"),
    ],
)
def test_statement_shape_is_checked_for_any_predicate(keys: Keys, edit: dict[str, Any], words: str) -> None:
    path = keys.attestation({**SLSA, **edit})
    with pytest.raises(SignatureError, match="not an in-toto statement") as err:
        verify_bundle(path, public_key=keys.key.public_key())
    assert words in err.value.message


def test_chainloop_predicate_still_checked_against_its_schema(keys: Keys) -> None:
    path = keys.attestation({**SLSA, "predicateType": "chainloop.dev/attestation/v0.2"})
    with pytest.raises(SignatureError, match=r"not a valid chainloop\.dev/attestation/v0\.2 statement"):
        verify_bundle(path, public_key=keys.key.public_key())


# -- message signatures -------------------------------------------------------------------------------------
def test_message_signature_with_file_or_digest(keys: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    path = keys.write("blob.sigstore.json", keys.message_bundle())
    digest = "sha256:" + hashlib.sha256(ARTIFACT).hexdigest()
    for material in (str(keys.artifact), digest):
        result = verify_bundle(path, public_key=keys.key.public_key(), materials=[material])
        assert result.content == "message-signature" and result.payload_digest == digest
        assert result.statement == {} and result.artifact == material
    code, out, err = run_cli(
        capsys, "verify", str(path), "--key", str(keys.pub), "--material", digest, "-o", "json"
    )
    doc = json.loads(out)
    assert code == 0, err
    assert doc["content"] == "message-signature" and doc["artifact"] == {"name": digest, "digest": digest}
    assert doc["checks"] == {"signature": "passed", "statement": "not applicable", "materials": "passed"}


def test_message_signature_without_material_is_a_usage_error(
    keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    path = keys.write("blob.sigstore.json", keys.message_bundle())
    code, _, err = run_cli(capsys, "verify", str(path), "--key", str(keys.pub))
    assert code == ExitCode.USAGE
    assert (
        "is a message signature over a file, not an attestation: give the signed file with --material FILE"
        in err
    )
    code, _, err = run_cli(
        capsys,
        "verify",
        str(path),
        "--key",
        str(keys.pub),
        "--material",
        str(keys.artifact),
        "--material",
        "x",
    )
    assert code == ExitCode.USAGE and "signs one file: give exactly one --material" in err


def test_message_signature_wrong_file_and_wrong_signature(
    keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    path = keys.write("blob.sigstore.json", keys.message_bundle())
    other = keys.tmp / "other.bin"
    other.write_bytes(b"another file")
    code, _, err = run_cli(capsys, "verify", str(path), "--key", str(keys.pub), "--material", str(other))
    assert code == ExitCode.DIGEST_MISMATCH and "is not the signed artifact" in err
    # the recorded digest edited to the other file's: the signature decides, and refuses it
    forged = keys.message_bundle()
    forged["messageSignature"]["messageDigest"]["digest"] = b64(hashlib.sha256(b"another file").digest())
    code, _, err = run_cli(
        capsys,
        "verify",
        str(keys.write("forged.json", forged)),
        "--key",
        str(keys.pub),
        "--material",
        str(other),
    )
    assert (
        code == ExitCode.BAD_SIGNATURE
        and "no signature of the message verifies with the given public key" in err
    )
    # no recorded digest at all (optional in the format): the signature alone decides
    bare = keys.message_bundle()
    del bare["messageSignature"]["messageDigest"]
    bare_path = keys.write("bare.json", bare)
    assert verify_bundle(bare_path, public_key=keys.key.public_key(), materials=[keys.artifact]).verified
    with pytest.raises(SignatureError, match="bad signature"):
        verify_bundle(bare_path, public_key=keys.key.public_key(), materials=[other])


# -- key-signed bundles and the trust root ------------------------------------------------------------------
def test_require_tlog_refuses_a_key_bundle_without_log_entry(keys: Keys) -> None:
    path = keys.write("blob.sigstore.json", keys.message_bundle())
    with pytest.raises(SignatureError, match="no transparency-log entry, and --require-tlog asks for one"):
        verify_bundle(path, public_key=keys.key.public_key(), materials=[keys.artifact], require_tlog=True)


def _suite_case(name: str) -> Path:
    return case_dir(name)


def _key_case_args(case: Path, bundle: Path | None = None) -> list[str]:
    return [
        "verify",
        str(bundle or case / "bundle.sigstore.json"),
        "--key",
        str(case / "key.pub"),
        "--material",
        str(SUITE / "a.txt"),
    ]


def test_key_bundle_log_entry_verified_against_the_trust_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = _suite_case("managed-key-happy-path")
    code, out, err = run_cli(capsys, *_key_case_args(case), "--require-tlog", "-o", "json")
    doc = json.loads(out)
    assert code == 0, err
    assert doc["signer"]["tlog_entries"] == 1 and "Sigstore public-good" in doc["signer"]["trust_root"]
    # a tampered entry fails, as for keyless bundles
    bundle = json.loads((case / "bundle.sigstore.json").read_text())
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(bundle))
    code, _, err = run_cli(capsys, *_key_case_args(case, tampered))
    assert code == ExitCode.BAD_SIGNATURE and "signed entry timestamp does not verify" in err
    # a trust root that does not know the log: refused, the log entry cannot be checked
    other_root = _suite_case("rekor2-happy-path") / "trusted_root.json"
    code, _, err = run_cli(capsys, *_key_case_args(case), "--trusted-root", str(other_root))
    assert code == ExitCode.BAD_SIGNATURE and "from a log the trust root does not know" in err
    # ignored on request
    code, _, err = run_cli(
        capsys, *_key_case_args(case), "--trusted-root", str(other_root), "--insecure-ignore-tlog"
    )
    assert code == 0 and "transparency-log entries ignored" in err


# -- cases derived from the conformance suite ---------------------------------------------------------------
def _keyless_args(case: Path, bundle: Path, root: Path, **over: str) -> list[str]:
    return [
        "verify",
        str(bundle),
        "--material",
        str(SUITE / "a.txt"),
        "--certificate-identity",
        over.get("identity", IDENTITY),
        "--certificate-oidc-issuer",
        over.get("issuer", ISSUER),
        "--trusted-root",
        str(root),
    ]


def _derived(tmp_path: Path, name: str) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    case = _suite_case(name)
    return (
        case,
        json.loads((case / "bundle.sigstore.json").read_text()),
        json.loads((case / "trusted_root.json").read_text()),
    )


def _write(tmp_path: Path, name: str, document: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_derived_wrong_identity_and_issuer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case, _bundle, _root = _derived(tmp_path, "rekor2-happy-path")
    b, r = case / "bundle.sigstore.json", case / "trusted_root.json"
    code, _, err = run_cli(capsys, *_keyless_args(case, b, r, identity="https://github.com/evil/repo"))
    assert code == ExitCode.BAD_SIGNATURE and "not the expected 'https://github.com/evil/repo'" in err
    code, _, err = run_cli(capsys, *_keyless_args(case, b, r, issuer="https://accounts.google.com"))
    assert code == ExitCode.BAD_SIGNATURE and "not the expected 'https://accounts.google.com'" in err
    other = tmp_path / "other.txt"
    other.write_text("not a.txt")
    code, _, err = run_cli(
        capsys, *_keyless_args(case, b, r)[:2], "--material", str(other), *_keyless_args(case, b, r)[4:]
    )
    assert code == ExitCode.DIGEST_MISMATCH and "is not the signed artifact" in err


def test_derived_log_key_ended_before_integration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case, bundle, root = _derived(tmp_path, "trust-root-tlog-validity-end-inclusive")
    b = case / "bundle.sigstore.json"
    ended = copy.deepcopy(root)
    for log in ended["tlogs"]:
        if log["logId"]["keyId"] == bundle["verificationMaterial"]["tlogEntries"][0]["logId"]["keyId"]:
            log["publicKey"]["validFor"]["end"] = "2023-07-12T15:56:35Z"  # one second before the entry
    code, _, err = run_cli(capsys, *_keyless_args(case, b, _write(tmp_path, "ended.json", ended)))
    assert code == ExitCode.BAD_SIGNATURE and "outside the window the trust root gives the log's key" in err


def test_derived_checkpoint_signed_by_another_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case, bundle, _ = _derived(tmp_path, "rekor2-happy-path")
    from cryptography.hazmat.primitives.asymmetric import ed25519

    proof = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    note, _, lines = proof["checkpoint"]["envelope"].partition("\n\n")
    name, hint = lines.split()[1], base64.b64decode(lines.split()[2])[:4]
    forged_sig = ed25519.Ed25519PrivateKey.generate().sign((note + "\n").encode())
    # same name and key hint as the log's, another key: the signature decides
    proof["checkpoint"]["envelope"] = f"{note}\n\n\u2014 {name} {b64(hint + forged_sig)}\n"
    path = _write(tmp_path, "forged.json", bundle)
    code, _, err = run_cli(capsys, *_keyless_args(case, path, case / "trusted_root.json"))
    assert code == ExitCode.BAD_SIGNATURE and "the checkpoint has no signature by the log" in err
    # the log's own signature line kept, but the origin renamed: the signature no longer covers the note
    renamed = json.loads((case / "bundle.sigstore.json").read_text())
    rproof = renamed["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    rproof["checkpoint"]["envelope"] = rproof["checkpoint"]["envelope"].replace(
        "log2025-alpha1.rekor.sigstage.dev\n", "log2025-alpha1.rekor.example.dev\n", 1
    )
    code, _, err = run_cli(
        capsys, *_keyless_args(case, _write(tmp_path, "r.json", renamed), case / "trusted_root.json")
    )
    assert code == ExitCode.BAD_SIGNATURE and "checkpoint" in err


# -- machine-readable failures ------------------------------------------------------------------------------
def test_json_output_on_every_failure(keys: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    path = keys.write("blob.sigstore.json", keys.message_bundle())
    other = ec.generate_private_key(ec.SECP256R1())
    other_pub = keys.tmp / "other.pub"
    other_pub.write_bytes(
        other.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    code, out, err = run_cli(
        capsys, "verify", str(path), "--key", str(other_pub), "--material", str(keys.artifact), "-o", "json"
    )
    doc = json.loads(out)  # one JSON document on stdout, the one-line error on stderr
    assert code == ExitCode.BAD_SIGNATURE and err.startswith("Error: ")
    assert doc["verified"] is False and doc["checks"] == {"signature": "failed"}
    assert doc["error"]["exitCode"] == 11 and "bad signature" in doc["error"]["message"]
    # a failure after the signature verified: the whole result, with what failed
    statement = keys.attestation(SLSA)
    wrong = keys.tmp / "wrong.bin"
    wrong.write_bytes(b"x")
    code, out, _ = run_cli(
        capsys, "verify", str(statement), "--key", str(keys.pub), "--material", str(wrong), "-o", "json"
    )
    doc = json.loads(out)
    assert code == ExitCode.DIGEST_MISMATCH and doc["verified"] is False
    assert doc["checks"]["signature"] == "passed" and doc["checks"]["materials"] == "failed"
    assert doc["error"]["exitCode"] == 12 and doc["predicateType"] == "https://slsa.dev/provenance/v1"


def test_library_raises_with_the_result_or_returns_it_when_asked(keys: Keys) -> None:
    statement = keys.attestation(SLSA)
    wrong = keys.tmp / "wrong.bin"
    wrong.write_bytes(b"x")
    with pytest.raises(DigestMismatchError) as err:
        verify_bundle(statement, public_key=keys.key.public_key(), materials=[wrong])
    assert isinstance(err.value.result, VerifyResult) and err.value.result.mismatches
    result = verify_bundle(
        statement, public_key=keys.key.public_key(), materials=[wrong], raise_on_failure=False
    )
    assert not result.verified and result.failure() is not None
    with pytest.raises(DigestMismatchError):
        result.check()


# -- hostile nesting: a clean error, never an internal one ----------------------------------------------------
def test_deeply_nested_json_in_bundle_payload_or_trust_root(
    keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    bundle = keys.tmp / "deep.sigstore.json"
    bundle.write_text(deep)
    code, _, err = run_cli(capsys, "verify", str(bundle), "--key", str(keys.pub))
    assert code == ExitCode.BAD_SIGNATURE and "JSON nested too deeply" in err
    signed = sign_statement(deep.encode(), PrivateKeySigner(keys.key))
    code, _, err = run_cli(capsys, "verify", str(keys.write("p.json", signed)), "--key", str(keys.pub))
    assert code == ExitCode.BAD_SIGNATURE and "the signed payload is JSON nested too deeply" in err
    root = keys.tmp / "root.json"
    root.write_text(deep)
    path = keys.attestation(SLSA)
    code, _, err = run_cli(capsys, "verify", str(path), "--key", str(keys.pub), "--trusted-root", str(root))
    assert code == ExitCode.USAGE and f"trusted root {root}: JSON nested too deeply" in err
