"""STRING, ARTIFACT and EVIDENCE, against the reference fixtures and Chainloop's own test expectations."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crafter._internal.materials.basic import ArtifactKind, EvidenceKind, StringKind
from crafter._internal.materials.interface import (
    ANN_EVIDENCE_ID,
    ANN_EVIDENCE_SCHEMA,
    ANN_SIZE,
    CraftOptions,
    Sample,
)
from crafter.errors import MaterialError

OPTS = CraftOptions()
SIMPLE_DIGEST = "sha256:54181dfe59340b318253e59f7695f547c5c10d071cb75001170a389061349918"


# --- STRING ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "digest"),
    [
        # string_test.go / materials_test.go
        ("value", "sha256:cd42404d52ad55ccfa9aca4adc828aa5800ad9d385a0671fbcbf724118320619"),
        ("test-value", "sha256:5b1406fffc9de5537eb35a845c99521f26fba0e772d58b42e09f4221b9e043ae"),
    ],
)
def test_string_digest_matches_chainloop(value: str, digest: str) -> None:
    crafted = StringKind().craft(value, OPTS)
    assert crafted.kind == "STRING"
    assert crafted.digest == digest
    assert crafted.value == value
    assert crafted.filename is None
    assert crafted.annotations == {ANN_SIZE: str(len(value))}


def test_string_size_counts_utf8_bytes() -> None:
    crafted = StringKind().craft("é€", OPTS)
    assert crafted.annotations[ANN_SIZE] == "5"
    assert crafted.digest == "sha256:" + hashlib.sha256("é€".encode()).hexdigest()


def test_string_empty_is_an_error() -> None:
    with pytest.raises(MaterialError, match="empty value"):
        StringKind().craft("", OPTS)


def test_string_lone_surrogate_is_a_material_error() -> None:
    with pytest.raises(MaterialError, match="not valid Unicode"):
        StringKind().craft("a\ud800b", OPTS)


def test_string_kind_flags() -> None:
    assert StringKind.file_based is False
    assert StringKind.can_be_subject is False


def test_string_sniff_refuses_existing_files(materials_dir: Path) -> None:
    kind = StringKind()
    assert kind.sniff(Sample.of("some-value"))
    assert not kind.sniff(Sample.of(str(materials_dir / "simple.txt")))
    assert not kind.sniff(Sample.of(""))


@given(st.text(min_size=1))
def test_string_digest_property(value: str) -> None:
    crafted = StringKind().craft(value, OPTS)
    data = value.encode("utf-8")
    assert crafted.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert crafted.annotations[ANN_SIZE] == str(len(data))
    assert crafted.value == value


# --- ARTIFACT --------------------------------------------------------------------------------------------


def test_artifact_simple_txt(materials_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    options = CraftOptions(progress=lambda done, total: seen.append((done, total)))
    crafted = ArtifactKind().craft(str(materials_dir / "simple.txt"), options)
    assert crafted.kind == "ARTIFACT"
    assert crafted.digest == SIMPLE_DIGEST
    assert crafted.filename == "simple.txt"
    assert crafted.size == 8
    assert crafted.annotations == {ANN_SIZE: "8"}
    assert seen == [(8, 8)]


def test_artifact_large_file_streams(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # more than one 1 MiB chunk, not a multiple of it
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    calls: list[int] = []
    crafted = ArtifactKind().craft(str(path), CraftOptions(progress=lambda d, _t: calls.append(d)))
    assert crafted.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert crafted.size == len(data)
    assert len(calls) == 4
    assert calls[-1] == len(data)


def test_artifact_empty_file(materials_dir: Path) -> None:
    with pytest.raises(MaterialError, match="file is empty"):
        ArtifactKind().craft(str(materials_dir / "empty.txt"), OPTS)


def test_artifact_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(MaterialError, match="file not found"):
        ArtifactKind().craft(str(tmp_path / "nope"), OPTS)
    with pytest.raises(MaterialError, match="is a directory"):
        ArtifactKind().craft(str(tmp_path), OPTS)


def test_artifact_sniff_accepts_any_file(materials_dir: Path) -> None:
    assert ArtifactKind().sniff(Sample.of(str(materials_dir / "simple.txt")))
    assert not ArtifactKind().sniff(Sample.of("not-a-file"))


# --- EVIDENCE --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "digest", "expected"),
    [
        (
            "evidence-with-id-data-schema.json",
            "54b842e51dd4b0ff2c2ad79b40c48087e6accdc319f3b8f29b5eb68cd22e8720",
            {ANN_EVIDENCE_ID: "custom-evidence-123", ANN_EVIDENCE_SCHEMA: "https://example.com/schema/v1"},
        ),
        (
            "evidence-with-id-data-no-schema.json",
            "b5f976b8dfa7d432b085009bbb1416b36011cd1dea2f04e5207e5b7b3137f0ac",
            {ANN_EVIDENCE_ID: "custom-evidence-456"},
        ),
        (
            "evidence-with-new-id-data-schema.json",
            "e7bf367fda7600c091e72b2dd2bbfb5a20e841bc61bcc775bac230138da81b1e",
            {ANN_EVIDENCE_ID: "custom-evidence-123", ANN_EVIDENCE_SCHEMA: "https://example.com/schema/v1"},
        ),
        (
            "evidence-invalid-structure.json",
            "c2ceffae57d731e87db662b4a834d32ab193c1ac05d88799c28d44b719af5c63",
            {},
        ),
        ("simple.txt", SIMPLE_DIGEST.removeprefix("sha256:"), {}),
    ],
)
def test_evidence_fixtures(materials_dir: Path, name: str, digest: str, expected: dict[str, str]) -> None:
    path = materials_dir / name
    crafted = EvidenceKind().craft(str(path), OPTS)
    assert crafted.kind == "EVIDENCE"
    assert crafted.digest == f"sha256:{digest}"
    assert crafted.filename == name
    assert crafted.annotations == {**expected, ANN_SIZE: str(path.stat().st_size)}


@pytest.mark.parametrize(
    "doc",
    [
        {"id": "x", "data": None},  # null data is no data
        {"id": "x"},
        {"id": 5, "data": {}},  # an id must be a string
        {"chainloop.material.evidence.id": "", "data": {}},
        [{"id": "x", "data": {}}],
    ],
)
def test_evidence_without_usable_envelope_gets_no_annotations(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "e.json"
    path.write_text(json.dumps(doc))
    crafted = EvidenceKind().craft(str(path), OPTS)
    assert set(crafted.annotations) == {ANN_SIZE}


def test_evidence_new_id_wins_over_deprecated_one(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text(json.dumps({"id": "old", "chainloop.material.evidence.id": "new", "data": {}}))
    assert EvidenceKind().craft(str(path), OPTS).annotations[ANN_EVIDENCE_ID] == "new"


def test_evidence_invalid_json_object_is_still_evidence(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_bytes(b'{"id": "x", "data": ')
    crafted = EvidenceKind().craft(str(path), OPTS)
    assert crafted.digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert set(crafted.annotations) == {ANN_SIZE}


def test_evidence_empty_and_missing(materials_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(MaterialError, match="file is empty"):
        EvidenceKind().craft(str(materials_dir / "empty.txt"), OPTS)
    with pytest.raises(MaterialError, match="file not found"):
        EvidenceKind().craft(str(tmp_path / "missing.json"), OPTS)


def test_evidence_is_never_auto_detected(materials_dir: Path) -> None:
    assert not EvidenceKind().sniff(Sample.of(str(materials_dir / "evidence-with-id-data-schema.json")))
