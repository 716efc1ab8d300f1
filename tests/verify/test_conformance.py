"""The sigstore-conformance ``bundle-verify`` suite, run as its harness runs a client.

Each case directory holds ``bundle.sigstore.json`` and optionally ``artifact`` (default ``../a.txt``),
``identity``/``issuer`` (defaults below), ``key.pub`` (verify with that key instead of an identity) and
``trusted_root.json`` (default: Sigstore public-good's). A case whose name ends in ``_fail`` must be refused,
every other one must verify. Each case runs twice: with the artifact file, and with its digest
(``--material sha256:HEX``), as the harness's digest mode does. Refusals must also be for the case's reason:
``REASONS`` holds the exit code and the words of the error each ``_fail`` case must give, so a case refused
for an unrelated problem (a parse error, a missing option) shows as a regression.

The suite lives in ``../shared/testdata/sigstore-conformance`` (or ``$CRAFTER_SHARED_TESTDATA``); where it is
absent the tests skip, except in CI where they fail.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.verify.conformance import arguments, case_dir, cases

# Why each _fail case is refused: (exit code, words of the one-line error).
_LOG_MISMATCH = "does not match this bundle: it records another"
_NO_TSA = "RFC 3161 timestamp 0 does not verify against the trust root's timestamp authorities"
_MALFORMED_CHECKPOINT = "malformed checkpoint (origin, tree size and root hash lines expected)"
REASONS: dict[str, tuple[int, str]] = {
    "bundle-empty-certificate-chain_fail": (11, "x509CertificateChain has no certificate"),
    "bundle-from-wrong-instance_fail": (11, "not issued by a trusted CA"),
    "bundle-invalid-base64-signature_fail": (11, "messageSignature.signature is not base64"),
    "bundle-malformed-json_fail": (11, "is not a Sigstore bundle: invalid JSON"),
    "bundle-negative-log-index_fail": (11, "logIndex must be a non-negative integer"),
    "bundle-unknown-version_fail": (11, "unsupported mediaType"),
    "bundle-with-root-cert_fail": (11, "certificate chain includes a root certificate"),
    "checkpoint-bad-keyhint_fail": (11, "the checkpoint has no signature by the log"),
    "checkpoint-wrong-roothash_fail": (11, "the signed checkpoint is for another tree"),
    "dsse-invalid-sig_fail": (11, "bad signature: no signature of the envelope verifies"),
    "dsse-mismatch-envelope_fail": (11, _LOG_MISMATCH + " envelope"),
    "dsse-mismatch-sig_fail": (11, _LOG_MISMATCH + " envelope"),
    "inclusion-proof-corrupted-hash_fail": (11, "the inclusion proof does not lead to its root hash"),
    "incorrect-public-key_fail": (11, _LOG_MISMATCH + " artifact"),
    "integrated-time-in-future_fail": (11, "not valid at the time of signing"),
    "intoto-expired-certificate_fail": (11, "not issued by a trusted CA"),
    "intoto-log-entry-mismatch_fail": (11, _LOG_MISMATCH + " envelope"),
    "intoto-missing-inclusion-proof_fail": (11, "has no inclusion proof: from bundle v0.2"),
    "intoto-set-outside-signing-cert-validity_fail": (11, "not valid at the time of signing"),
    "intoto-tsa-timestamp-outside-cert-validity_fail": (11, "not valid at the time of signing"),
    "invalid-checkpoint-signature_fail": (11, "the checkpoint has no signature by the log"),
    "invalid-ct-key_fail": (11, "no SCT of the signing certificate verifies"),
    "invalid-inclusion-proof_fail": (11, "the inclusion proof does not lead to its root hash"),
    "managed-key-no-key_fail": (2, "is signed with a key: give its public key with --key PUB"),
    "managed-key-wrong-key_fail": (8, "key.pub is not a PEM public key"),
    "message-digest-mismatch_fail": (12, "is not the signed artifact"),
    "rekor2-checkpoint-missing-log-signature_fail": (11, "the checkpoint has no signature"),
    "rekor2-checkpoint-missing-origin_fail": (11, _MALFORMED_CHECKPOINT),
    "rekor2-checkpoint-missing-root-hash_fail": (11, _MALFORMED_CHECKPOINT),
    "rekor2-checkpoint-missing-size_fail": (11, _MALFORMED_CHECKPOINT),
    "rekor2-checkpoint-no-matching-signature_fail": (11, "the checkpoint has no signature by the log"),
    "rekor2-dsse-invalid-sig_fail": (11, "bad signature: no signature of the envelope verifies"),
    "rekor2-dsse-mismatch-envelope_fail": (11, _LOG_MISMATCH + " envelope"),
    "rekor2-dsse-mismatch-sig_fail": (11, _LOG_MISMATCH + " envelope"),
    "rekor2-no-inclusion-proof_fail": (11, "has no inclusion proof: from bundle v0.2"),
    "rekor2-no-timestamp_fail": (11, "no verified time of signing"),
    "rekor2-timestamp-outside-trust-root-tsa-validity_fail": (11, _NO_TSA),
    "rekor2-timestamp-outside-tsa-cert-validity_fail": (11, _NO_TSA),
    "rekor2-timestamp-payload-mismatch_fail": (11, _NO_TSA),
    "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail": (11, _NO_TSA),
    "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": (11, _NO_TSA),
    "rekor2-timestamp-with-incorrect-time_fail": (11, "not valid at the time of signing"),
    "set-invalid-signature_fail": (11, "the signed entry timestamp does not verify with the log's key"),
    "signature-mismatch_fail": (11, "bad signature: no signature of the message verifies"),
    "trust-root-tlog-missing-validity-start_fail": (2, "publicKey.validFor.start"),
    "wrong-hashedrekord-artifact_fail": (11, _LOG_MISMATCH + " artifact"),
    "wrong-hashedrekord-cert-and-sig_fail": (11, _LOG_MISMATCH + " artifact"),
    "wrong-hashedrekord-entry_fail": (11, _LOG_MISMATCH + " artifact"),
    "wrong-material_fail": (12, "is not the signed artifact"),
}


def test_every_failing_case_has_its_reason() -> None:
    names = [n for n in cases() if n != "(suite absent)"]
    if not names:
        case_dir("")
    assert sorted(n for n in names if n.endswith("_fail")) == sorted(REASONS)
    assert len(names) == 70


@pytest.mark.parametrize("digest", [False, True], ids=["file", "digest"])
@pytest.mark.parametrize("name", cases())
def test_case(name: str, digest: bool, capsys: pytest.CaptureFixture[str]) -> None:
    case = case_dir(name)
    code, out, err = run_cli(capsys, *arguments(case, digest=digest))
    if not name.endswith("_fail"):
        assert code == 0, err
        assert "valid" in out
        return
    expected_code, words = REASONS[name]
    assert code == expected_code, err
    (line,) = [line for line in err.splitlines() if line.startswith("Error: ")]  # one clear line
    assert words in line, line
