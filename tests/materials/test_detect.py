"""Auto-detection: the order, the probing rules, and what each reference fixture is detected as."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from crafter._internal.materials.basic import ArtifactKind, StringKind
from crafter._internal.materials.detect import detect_kind
from crafter._internal.materials.helm import HelmChartKind
from crafter._internal.materials.image import ContainerImageKind
from crafter._internal.materials.interface import (
    SNIFF_BYTES,
    Crafted,
    CraftOptions,
    MaterialKind,
    MaterialRegistry,
    Sample,
)
from crafter._internal.materials.registry import DETECTION_ORDER, default_registry
from crafter._internal.materials.reports import CoberturaKind, JacocoKind, JUnitKind
from crafter.errors import MaterialError

OPTS = CraftOptions()
DIGEST = "sha256:" + "1" * 64

# --- a registry of the kinds this test owns, plus STRING and ARTIFACT ---------------------------------------


def _local_registry(*extra: MaterialKind, order: tuple[str, ...] | None = None) -> MaterialRegistry:
    kinds: list[MaterialKind] = [
        JUnitKind(),
        JacocoKind(),
        CoberturaKind(),
        HelmChartKind(),
        ContainerImageKind(),
        ArtifactKind(),
        StringKind(),
        *extra,
    ]
    names = {k.kind for k in kinds}
    return MaterialRegistry(kinds, order or tuple(n for n in DETECTION_ORDER if n in names))


class _Spy(MaterialKind):
    """A kind that records what it was given and accepts, refuses or breaks on demand."""

    kind = "SPY"

    def __init__(self, *, sniffs: bool = True, outcome: str = "accept") -> None:
        self.sniffs = sniffs
        self.outcome = outcome
        self.samples: list[Sample] = []
        self.crafted: list[CraftOptions] = []

    def sniff(self, sample: Sample) -> bool:
        self.samples.append(sample)
        return self.sniffs

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        self.crafted.append(options)
        if self.outcome == "refuse":
            raise MaterialError(f"{value}: invalid {self.kind}: not this kind")
        if self.outcome == "bug":
            raise ZeroDivisionError("a bug in a kind")
        return Crafted(kind=self.kind, digest=DIGEST)


def _spy_class(name: str, file_based: bool = True) -> Callable[..., _Spy]:
    return type(name.lower(), (_Spy,), {"kind": name, "file_based": file_based})


def _file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# --- the full default registry: what each reference fixture is detected as ----------------------------------

FIXTURE_KINDS = {
    "junit.xml": "JUNIT_XML",
    "tests.zip": "JUNIT_XML",
    "tests.tar.gz": "JUNIT_XML",
    "jacoco.xml": "JACOCO_XML",
    "cobertura.xml": "COBERTURA_XML",
    "cobertura-empty.xml": "COBERTURA_XML",
    "valid-chart.tgz": "HELM_CHART",
    "empty-values.tgz": "HELM_CHART",
    "openvex_v0.2.0.json": "OPENVEX",
    "sbom.cyclonedx-1.5.json": "SBOM_CYCLONEDX_JSON",
    "sbom-spdx-with-described-package.json": "SBOM_SPDX_JSON",
    "csaf_vex_v0.2.0.json": "CSAF_VEX",
    "csaf_security_advisory.json": "CSAF_SECURITY_ADVISORY",
    "gitleaks-report-violations.json": "GITLEAKS_JSON",
    "report.sarif": "SARIF",
    "slsa_provenance.sigstore.json": "SLSA_PROVENANCE",
    "attestation-dsse.json": "ATTESTATION",
    # What no specific kind accepts ends as ARTIFACT (Chainloop's TestAddMaterialsAutomatic cases).
    "junit-invalid.xml": "ARTIFACT",
    "missing-empty.tgz": "ARTIFACT",
    "missing-chartyaml.tgz": "ARTIFACT",
    "random.json": "ARTIFACT",
    "simple.txt": "ARTIFACT",
    "sbom.cyclonedx-invalid-schema.json": "ARTIFACT",  # detection validates strictly
    "csaf_security_incident_response_wrong_category.json": "ARTIFACT",
    "evidence-with-id-data-schema.json": "ARTIFACT",  # EVIDENCE is never auto-detected
}


@pytest.mark.parametrize(("name", "kind"), sorted(FIXTURE_KINDS.items()))
def test_reference_fixtures_with_the_default_registry(materials_dir: Path, name: str, kind: str) -> None:
    crafted = detect_kind(str(materials_dir / name), default_registry(), OPTS)
    assert crafted.kind == kind
    assert crafted.filename == name


def test_default_registry_detection_order_is_the_documented_one() -> None:
    assert default_registry().detection_order == DETECTION_ORDER
    assert DETECTION_ORDER[-2:] == ("ARTIFACT", "STRING")


def test_non_strict_options_do_not_turn_an_invalid_sbom_into_an_sbom(materials_dir: Path) -> None:
    warnings: list[str] = []
    options = CraftOptions(strict=False, warn=warnings.append)
    path = str(materials_dir / "sbom.cyclonedx-invalid-schema.json")
    assert detect_kind(path, default_registry(), options).kind == "ARTIFACT"


def test_default_registry_images_and_strings(tmp_path: Path) -> None:
    assert detect_kind(f"ghcr.io/acme/app@{DIGEST}", default_registry(), OPTS).kind == "CONTAINER_IMAGE"
    assert detect_kind("random-string", default_registry(), OPTS).kind == "STRING"


# --- with the kinds of this test's registry -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("junit.xml", "JUNIT_XML"),
        ("tests.zip", "JUNIT_XML"),
        ("tests.tar.gz", "JUNIT_XML"),
        ("jacoco.xml", "JACOCO_XML"),
        ("cobertura.xml", "COBERTURA_XML"),
        ("cobertura-empty.xml", "COBERTURA_XML"),
        ("valid-chart.tgz", "HELM_CHART"),
        ("empty-values.tgz", "HELM_CHART"),
        ("missing-valuesyaml.tgz", "ARTIFACT"),
        ("junit-invalid.xml", "ARTIFACT"),
        ("simple.txt", "ARTIFACT"),
    ],
)
def test_reference_fixtures_with_a_local_registry(materials_dir: Path, name: str, kind: str) -> None:
    assert detect_kind(str(materials_dir / name), _local_registry(), OPTS).kind == kind


def test_missing_path_that_is_not_an_image_is_file_not_found() -> None:
    with pytest.raises(MaterialError, match=r"^\./no/such/file\.bin: file not found$") as err:
        detect_kind("./no/such/file.bin", _local_registry(), OPTS)
    assert (
        err.value.hint
        == "to record it as text, not a file: crafter add --kind STRING --value './no/such/file.bin'"
    )


def test_plain_words_become_strings_without_warnings() -> None:
    warnings: list[str] = []
    crafted = detect_kind("release-candidate", _local_registry(), CraftOptions(warn=warnings.append))
    assert (crafted.kind, crafted.value, warnings) == ("STRING", "release-candidate", [])


def test_tag_only_image_reference_becomes_string_with_a_warning() -> None:
    warnings: list[str] = []
    crafted = detect_kind("ghcr.io/acme/app:1.0", _local_registry(), CraftOptions(warn=warnings.append))
    assert crafted.kind == "STRING"
    assert len(warnings) == 1
    assert "resolving an image tag against its registry is not available yet" in warnings[0]


def test_digest_reference_and_oci_layout_are_images(tmp_path: Path) -> None:
    crafted = detect_kind(f"bitnami/nginx:1.25@{DIGEST}", _local_registry(), OPTS)
    assert crafted.kind == "CONTAINER_IMAGE"
    assert crafted.image is not None
    assert crafted.image.name == "index.docker.io/bitnami/nginx"

    layout = tmp_path / "layout"
    layout.mkdir()
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"manifests": [{"digest": DIGEST}]}))
    assert detect_kind(str(layout), _local_registry(), OPTS).kind == "CONTAINER_IMAGE"


def test_empty_file_stops_probing(tmp_path: Path) -> None:
    spy = _spy_class("SPY")()
    path = _file(tmp_path, "empty.xml", b"")
    with pytest.raises(MaterialError, match=r"empty\.xml: file is empty"):
        detect_kind(path, _local_registry(spy, order=("SPY", "ARTIFACT", "STRING")), OPTS)
    assert spy.samples == []  # no kind was even asked


def test_unreadable_file_stops_probing_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulated, so the test also holds as root (which reads any file): the open itself is refused.
    import os

    path = _file(tmp_path, "secret.xml", b"<testsuites/>")
    real_open = os.open

    def refuse(name: str, *args: object, **kwargs: object) -> int:
        if os.fspath(name) == path:
            raise PermissionError(13, "Permission denied")
        return real_open(name, *args, **kwargs)  # type: ignore[arg-type]

    spy = _spy_class("SPY")()
    monkeypatch.setattr("crafter._internal.files.os.open", refuse)
    with pytest.raises(MaterialError, match=r"secret\.xml: cannot read file: Permission denied"):
        detect_kind(path, _local_registry(spy, order=("SPY", "ARTIFACT")), OPTS)
    assert spy.samples == []


def test_random_binary_file_becomes_artifact(tmp_path: Path) -> None:
    data = random.Random(7).randbytes(3 * SNIFF_BYTES)
    crafted = detect_kind(_file(tmp_path, "blob.bin", data), _local_registry(), OPTS)
    assert (crafted.kind, crafted.filename, crafted.size) == ("ARTIFACT", "blob.bin", len(data))


def test_random_json_file_becomes_artifact(tmp_path: Path) -> None:
    path = _file(tmp_path, "data.json", json.dumps({"hello": ["world", 1, None]}).encode())
    assert detect_kind(path, _local_registry(), OPTS).kind == "ARTIFACT"
    assert detect_kind(path, default_registry(), OPTS).kind == "ARTIFACT"


def test_existing_file_is_never_a_string_nor_an_image(tmp_path: Path) -> None:
    # A file named like an image reference is still the file.
    path = _file(tmp_path, "nginx", b"binary")
    image = _spy_class("IMAGE_SPY", file_based=False)()
    registry = _local_registry(image, order=("IMAGE_SPY", "STRING"))
    with pytest.raises(MaterialError, match="failed to auto-discover material kind for"):
        detect_kind(path, registry, OPTS)
    assert image.samples == []


def test_first_success_wins_and_refusals_move_on(tmp_path: Path) -> None:
    refuses, accepts, later = _spy_class("A")(outcome="refuse"), _spy_class("B")(), _spy_class("C")()
    skipped = _spy_class("D")(sniffs=False)
    registry = _local_registry(skipped, refuses, accepts, later, order=("D", "A", "B", "C", "ARTIFACT"))
    crafted = detect_kind(_file(tmp_path, "x.txt", b"content"), registry, OPTS)
    assert crafted.kind == "B"
    assert (len(skipped.crafted), len(refuses.crafted), len(accepts.crafted), len(later.samples)) == (
        0,
        1,
        1,
        0,
    )


def test_sample_is_built_once_and_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = Sample.of.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Sample], value: str) -> Sample:
        calls.append(value)
        sample: Sample = original(cls, value)
        return sample

    monkeypatch.setattr(Sample, "of", classmethod(counting))
    spies = [_spy_class(n)(outcome="refuse") for n in ("A", "B")]
    path = _file(tmp_path, "big.bin", b"x" * (5 * SNIFF_BYTES))
    detect_kind(path, _local_registry(*spies, order=("A", "B", "ARTIFACT")), OPTS)
    assert calls == [path]
    assert spies[0].samples[0] is spies[1].samples[0]
    assert len(spies[0].samples[0].prefix) == SNIFF_BYTES


def test_detection_always_crafts_strictly(tmp_path: Path) -> None:
    spy = _spy_class("SPY")()
    warnings: list[str] = []
    options = CraftOptions(strict=False, warn=warnings.append)
    detect_kind(_file(tmp_path, "x", b"1"), _local_registry(spy, order=("SPY",)), options)
    (used,) = spy.crafted
    assert used.strict is True
    assert used.warn is options.warn  # everything else is kept


def test_nothing_matches(materials_dir: Path) -> None:
    registry = _local_registry(order=("JUNIT_XML", "JACOCO_XML"))
    with pytest.raises(
        MaterialError, match=r"^failed to auto-discover material kind for .*valid-chart\.tgz$"
    ) as info:
        detect_kind(str(materials_dir / "valid-chart.tgz"), registry, OPTS)
    assert info.value.hint is not None
    assert "pass --kind explicitly" in info.value.hint
    # The candidate that was tried, and why it said no.
    assert "JUNIT_XML: " in info.value.hint
    assert "no suites found" in info.value.hint
    with pytest.raises(MaterialError, match="failed to auto-discover") as info:
        detect_kind(str(materials_dir / "simple.txt"), registry, OPTS)
    assert info.value.hint == "no material kind recognised this value; pass --kind explicitly"


def test_bugs_in_a_kind_are_not_hidden(tmp_path: Path) -> None:
    registry = _local_registry(_spy_class("SPY")(outcome="bug"), order=("SPY", "ARTIFACT"))
    with pytest.raises(ZeroDivisionError):
        detect_kind(_file(tmp_path, "x", b"1"), registry, OPTS)


def test_hostile_xml_ends_as_artifact_without_being_expanded(tmp_path: Path) -> None:
    lol = (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<testsuites><testsuite name='&b;'/></testsuites>"
    )
    path = _file(tmp_path, "lol.xml", lol)
    assert JUnitKind().sniff(Sample.of(path))  # tried as JUnit, refused there, then kept as opaque bytes
    crafted = detect_kind(path, _local_registry(), OPTS)
    assert (crafted.kind, crafted.size) == ("ARTIFACT", len(lol))


def test_plain_directory_is_an_error_not_a_string(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    with pytest.raises(MaterialError) as err:
        detect_kind(str(tmp_path / "dist"), default_registry(), OPTS)
    assert "is a directory, and not an OCI image layout" in err.value.message
    assert err.value.hint is not None and "dist/*" in err.value.hint
