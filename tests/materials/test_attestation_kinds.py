"""ATTESTATION and SLSA_PROVENANCE, and the shared DSSE/bundle decoding (attestation_test.go, slsaprovenance_test.go)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crafter._internal.materials.attestations import AttestationKind, SLSAProvenanceKind, extract_statement
from crafter._internal.materials.interface import ANN_SIZE, CraftOptions, Sample
from crafter.errors import MaterialError

OPTS = CraftOptions()
ATT = AttestationKind()
SLSA = SLSAProvenanceKind()
CHAINLOOP = "chainloop.dev/attestation/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"


def load(path: Path) -> Any:
    return json.loads(path.read_bytes())


def error_of(kind: Any, path: Path) -> MaterialError:
    with pytest.raises(MaterialError) as info:
        kind.craft(str(path), OPTS)
    assert info.value.message.startswith(str(path))
    return info.value


def envelope(statement: object, payload_type: str = "application/vnd.in-toto+json") -> dict[str, Any]:
    payload = statement if isinstance(statement, bytes) else json.dumps(statement).encode()
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(b"\x30\x45sig").decode()}],
    }


def statement(predicate_type: str = CHAINLOOP, **extra: Any) -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "x", "digest": {"sha256": "a" * 64}}],
        "predicateType": predicate_type,
        "predicate": {},
        **extra,
    }


def write(tmp_path: Path, doc: object, name: str = "att.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


# --- ATTESTATION -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        ("attestation-dsse.json", "3911ab20e43d801d35459c53168f6cba66d50af99dcc9e12aeb84a95c0d231df"),
        ("attestation-bundle.json", "fa7165a16cc1efdd24457a12dda613bbbfc903d3a2538a5ce8779b157d39b04c"),
        # an old Chainloop bundle: its signature is base64(base64(DER)), bug #1832
        (
            "chainloop_attestation.sigstore.json",
            "da649f695fef4311e70ca0e8f4a4a2261a9304f7e750785fdbbe275bc1a8431e",
        ),
    ],
)
def test_attestation_fixtures(materials_dir: Path, name: str, digest: str) -> None:
    path = materials_dir / name
    crafted = ATT.craft(str(path), OPTS)
    assert crafted.kind == "ATTESTATION"
    assert crafted.digest == f"sha256:{digest}"
    assert crafted.filename == name
    assert crafted.size == path.stat().st_size
    assert crafted.annotations == {ANN_SIZE: str(path.stat().st_size)}
    assert crafted.main_component is None
    assert ATT.sniff(Sample.of(str(path)))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "attestation-dsse-invalidtype.json",
            "the payload is not of type in-toto",
        ),
        ("attestation-invalid-intoto.json", "failed to parse the DSSE payload as an in-toto statement"),
        ("attestation-invalid-payload.json", "invalid attestation"),
        (
            "slsa_provenance.sigstore.json",
            f'the provided predicate is not a valid chainloop attestation: found="{SLSA_V1}"',
        ),
        ("simple.txt", "invalid attestation: not valid JSON"),
        ("empty_array.json", "not a JSON object"),
        ("random.json", "payloadType"),
        ("empty.txt", "file is empty"),
    ],
)
def test_attestation_rejects(materials_dir: Path, name: str, reason: str) -> None:
    assert reason in error_of(ATT, materials_dir / name).message


def test_attestation_invalid_payload_is_not_base64(tmp_path: Path) -> None:
    env = envelope(statement())
    env["payload"] = "not base64!"
    assert "'payload' is not base64" in error_of(ATT, write(tmp_path, env)).message


def test_wrong_predicate_names_it(tmp_path: Path) -> None:
    err = error_of(ATT, write(tmp_path, envelope(statement("https://example.com/other"))))
    # A predicate type crafter does not know is not quoted (the file may be any file); a known one is.
    assert err.message.endswith("not a valid chainloop attestation: another predicateType")
    assert err.hint == f"expected predicateType {CHAINLOOP}"


@pytest.mark.parametrize(
    "media_type",
    [
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle.v0.4+json",
    ],
)
def test_bundle_media_types_accepted(tmp_path: Path, media_type: str) -> None:
    bundle = {"mediaType": media_type, "verificationMaterial": {}, "dsseEnvelope": envelope(statement())}
    assert ATT.craft(str(write(tmp_path, bundle)), OPTS).kind == "ATTESTATION"


@pytest.mark.parametrize(
    ("bundle", "reason"),
    [
        (
            {"mediaType": "application/vnd.dev.sigstore.bundle.v1.0+json"},
            "unsupported Sigstore bundle mediaType",
        ),
        ({"mediaType": "application/json", "dsseEnvelope": {}}, "unsupported Sigstore bundle mediaType"),
        (
            {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"},
            "the Sigstore bundle has no dsseEnvelope",
        ),
        (
            {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "messageSignature": {}},
            "has no dsseEnvelope",
        ),
    ],
)
def test_bundle_problems(tmp_path: Path, bundle: dict[str, Any], reason: str) -> None:
    assert reason in error_of(ATT, write(tmp_path, bundle)).message


# --- extract_statement -----------------------------------------------------------------------------------


def test_extract_statement_from_fixtures(materials_dir: Path) -> None:
    dsse = extract_statement(load(materials_dir / "attestation-dsse.json"), "x")
    assert dsse["predicateType"] == CHAINLOOP
    assert [s["name"] for s in dsse["subject"]][:2] == ["chainloop.workflow.chainloop-codeql", "git.head"]
    slsa = extract_statement(load(materials_dir / "slsa_provenance.sigstore.json"), "x")
    assert slsa["predicateType"] == SLSA_V1


def test_extract_statement_accepts_url_safe_unpadded_payload_and_v01() -> None:
    stmt = statement(_type="https://in-toto.io/Statement/v0.1", predicate={"k": "??>>"})
    env = envelope(stmt)
    env["payload"] = base64.urlsafe_b64encode(json.dumps(stmt).encode()).decode().rstrip("=")
    assert extract_statement(env, "p") == stmt


def test_extract_statement_tolerates_double_base64_signature() -> None:
    env = envelope(statement())
    env["signatures"][0]["sig"] = base64.b64encode(env["signatures"][0]["sig"].encode()).decode()
    assert extract_statement(env, "p")["predicateType"] == CHAINLOOP


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            statement(_type="https://example.com/Statement"),
            "_type is missing or not an in-toto statement type",
        ),
        (statement(subject=[]), "has no subject"),
        (statement(subject="x"), "has no subject"),
        (statement(predicateType=""), "has no predicateType"),
        ([statement()], "not a JSON object"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_extract_statement_rejects_non_statements(payload: object, reason: str) -> None:
    with pytest.raises(MaterialError) as info:
        extract_statement(envelope(payload), "the/path.json")
    assert info.value.message.startswith("the/path.json: invalid attestation: ")
    assert reason in info.value.message


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([], "not a JSON object"),
        ({"payload": "e30="}, "'payloadType' must be a string"),
        ({"payloadType": "application/vnd.in-toto+json", "payload": 5}, "'payload' must be a base64 string"),
        ({**envelope(statement()), "signatures": {}}, "'signatures' must be a list"),
        ({**envelope(statement()), "signatures": [{"sig": "%%%"}]}, "is not base64"),
    ],
)
def test_extract_statement_rejects_bad_envelopes(obj: object, reason: str) -> None:
    with pytest.raises(MaterialError, match=reason):
        extract_statement(obj, "p", what="SLSA provenance")


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text())
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)
)


@given(
    predicate_type=st.text(min_size=1),
    names=st.lists(st.text(), min_size=1, max_size=4),
    predicate=json_values,
)
def test_extract_statement_round_trip(predicate_type: str, names: list[str], predicate: object) -> None:
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": n, "digest": {"sha256": "0" * 64}} for n in names],
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    bundle = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "dsseEnvelope": envelope(stmt)}
    assert extract_statement(bundle, "p") == stmt
    assert extract_statement(envelope(stmt), "p") == stmt


# --- SLSA_PROVENANCE -------------------------------------------------------------------------------------


def test_slsa_fixture(materials_dir: Path) -> None:
    path = materials_dir / "slsa_provenance.sigstore.json"
    crafted = SLSA.craft(str(path), OPTS)
    assert crafted.kind == "SLSA_PROVENANCE"
    assert crafted.digest == "sha256:38dc33ded482dcb3efccccea977e24e11bd063bccf499da1cc46487255ff6857"
    assert crafted.filename == "slsa_provenance.sigstore.json"
    assert crafted.annotations == {ANN_SIZE: str(path.stat().st_size)}
    assert SLSA.sniff(Sample.of(str(path)))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("attestation-dsse.json", "not a Sigstore bundle"),
        (
            "chainloop_attestation.sigstore.json",
            f'the provided predicate is not a valid SLSA Provenance: found="{CHAINLOOP}"',
        ),
        ("simple.txt", "invalid SLSA provenance: not valid JSON"),
        ("random.json", "not a Sigstore bundle"),
    ],
)
def test_slsa_rejects(materials_dir: Path, name: str, reason: str) -> None:
    assert reason in error_of(SLSA, materials_dir / name).message


def test_slsa_sniff_wants_a_bundle(materials_dir: Path) -> None:
    assert not SLSA.sniff(Sample.of(str(materials_dir / "attestation-dsse.json")))
    assert SLSA.sniff(Sample.of(str(materials_dir / "attestation-bundle.json")))


def test_sniff_ignores_other_json(materials_dir: Path) -> None:
    for name in ("sbom.cyclonedx-1.5.json", "report.sarif", "random.json", "simple.txt"):
        sample = Sample.of(str(materials_dir / name))
        assert not ATT.sniff(sample)
        assert not SLSA.sniff(sample)


def test_sniff_dsse_with_long_payload_first(tmp_path: Path) -> None:
    # protojson writes "payload" before "payloadType": a long payload hides the type beyond the prefix.
    env = envelope(statement(predicate={"blob": "x" * 20000}))
    doc = {"payload": env["payload"], "payloadType": env["payloadType"], "signatures": env["signatures"]}
    sample = Sample.of(str(write(tmp_path, doc)))
    assert '"payloadType"' not in sample.text_prefix
    assert ATT.sniff(sample)


def test_import_does_not_load_cryptography() -> None:
    code = "import sys, crafter._internal.materials.attestations; print('cryptography' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
