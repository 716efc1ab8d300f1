"""SBOM_SPDX_TAG_VALUE: SPDX 2.2/2.3 tag-value written by spdx-tools (tests/materials/fixtures/sboms), parsed and
validated by spdx-tools, recorded with SBOM_SPDX_JSON's annotations, read by policies as SPDX JSON."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crafter._internal.materials.detect import detect_kind
from crafter._internal.materials.interface import ANN_SIZE, CraftOptions, MainComponent, Sample
from crafter._internal.materials.registry import default_registry
from crafter._internal.materials.sbom import SPDXKind
from crafter._internal.materials.spdx_tag_value import SPDXTagValueKind
from crafter.errors import ExitCode, MaterialError
from tests.conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "sboms"
KIND = SPDXTagValueKind()
STRICT = CraftOptions()


def fixture(version: str) -> Path:
    return FIXTURES / f"spdx-{version}.spdx"


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "sbom.spdx"
    path.write_text(text)
    return str(path)


def refused(path: str, options: CraftOptions = STRICT) -> str:
    with pytest.raises(MaterialError) as info:
        KIND.craft(path, options)
    message = info.value.message
    assert message.startswith(f"{path}: invalid spdx tag-value sbom file: ")
    assert "\n" not in message
    return message


@pytest.mark.parametrize(("version", "purpose"), [("2.2", ""), ("2.3", "application")])
def test_each_version_is_recorded_with_its_described_package_and_tools(version: str, purpose: str) -> None:
    path = fixture(version)
    crafted = KIND.craft(str(path), STRICT)
    assert crafted.kind == "SBOM_SPDX_TAG_VALUE"
    assert crafted.digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert crafted.main_component == MainComponent(name="acme-app", version="1.2.3", kind=purpose)
    assert crafted.annotations["chainloop.material.tools"] == '["syft@1.0.0"]'
    assert crafted.annotations["chainloop.material.tool.name"] == "syft"
    assert KIND.sniff(Sample.of(str(path)))


@pytest.mark.parametrize("version", ["2.2", "2.3"])
def test_policies_read_the_spdx_json_form_which_the_json_kind_records_alike(
    version: str, tmp_path: Path
) -> None:
    doc = KIND.policy_input(str(fixture(version)), "sbom")
    assert doc["spdxVersion"] == f"SPDX-{version}"
    assert [p["name"] for p in doc["packages"]] == ["acme-app", "requests"]
    as_json = tmp_path / "sbom.json"
    as_json.write_text(json.dumps(doc))
    from_json = SPDXKind().craft(str(as_json), STRICT)
    from_tv = KIND.craft(str(fixture(version)), STRICT)
    assert from_json.main_component == from_tv.main_component
    drop_size = lambda a: {k: v for k, v in a.items() if k != ANN_SIZE}  # noqa: E731
    assert drop_size(from_json.annotations) == drop_size(from_tv.annotations)


def test_invalid_document_is_an_error_when_strict_a_warning_otherwise(tmp_path: Path) -> None:
    text = fixture("2.3").read_text().replace("SPDXID: SPDXRef-app\n", "SPDXID: SPDXRef-secret_id\n")
    path = write(tmp_path, text)
    message = refused(path)
    assert "validation problem(s) found by spdx-tools, the first in a package" in message
    assert "secret" not in message  # never quotes the document
    warnings: list[str] = []
    crafted = KIND.craft(path, CraftOptions(strict=False, warn=warnings.append))
    assert crafted.kind == "SBOM_SPDX_TAG_VALUE"
    assert len(warnings) == 1 and "accepted without strict validation" in warnings[0]


def test_wrong_version_is_refused_when_strict(tmp_path: Path) -> None:
    path = write(
        tmp_path, fixture("2.3").read_text().replace("SPDXVersion: SPDX-2.3", "SPDXVersion: SPDX-2.1")
    )
    assert "SPDXVersion is not one supported (SPDX-2.2 or SPDX-2.3)" in refused(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("SPDXVersion: SPDX-2.3\nsecret words here\n", "Unknown tag provided in line 2"),
        ("SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n", "Error while constructing CreationInfo"),
    ],
    ids=["unknown-tag", "missing-fields"],
)
def test_unparseable_documents_are_refused_either_way(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    assert problem in refused(path)
    assert problem in refused(path, CraftOptions(strict=False))
    assert "secret" not in refused(path)


def test_binary_is_not_tag_value(tmp_path: Path) -> None:
    path = tmp_path / "sbom.spdx"
    path.write_bytes(b"SPDXVersion: SPDX-2.3\n\xff\xfe\n")
    assert "not UTF-8 text" in refused(str(path))


def test_detection_picks_tag_value_and_leaves_other_text_alone(tmp_path: Path) -> None:
    registry = default_registry()
    for version in ("2.2", "2.3"):
        assert detect_kind(str(fixture(version)), registry, STRICT).kind == "SBOM_SPDX_TAG_VALUE"
    other = tmp_path / "notes.txt"
    other.write_text("SPDX notes\nnothing here\n")
    assert not KIND.sniff(Sample.of(str(other)))
    assert detect_kind(str(other), registry, STRICT).kind == "ARTIFACT"


def test_the_cli_starts_without_spdx_tools() -> None:
    code = (
        "import sys\nfrom crafter._internal.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "import crafter._internal.materials.registry as r\nr.default_registry().get('SBOM_SPDX_TAG_VALUE')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('spdx_tools', 'ply', 'rdflib', 'lxml')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_cli_bad_input_is_one_line_exit_code_6(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(cli_env, "SPDXVersion: SPDX-2.3\nsecret words here\n")
    assert run_cli(capsys, "init", "--project", "p")[0] == 0
    code, _, err = run_cli(capsys, "add", "--kind", "SBOM_SPDX_TAG_VALUE", "--value", bad)
    assert code == ExitCode.MATERIAL == 6
    assert f"{bad}: invalid spdx tag-value sbom file: Unknown tag provided in line 2" in err


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t, None),
        (
            lambda t: t.replace("DEPENDS_ON SPDXRef-req", "DEPENDS_ON SPDXRef-gone"),
            "a relationship names an element the document does not have",
        ),
        (
            lambda t: t.replace("SPDXID: SPDXRef-req", "SPDXID: SPDXRef-app"),
            "an SPDX id is used by two elements",
        ),
        (
            lambda t: t.replace("SPDXID: SPDXRef-req", "SPDXID: SPDXRef-secret_id"),
            'an SPDX id is not "SPDXRef-" followed by letters, digits',
        ),
        (
            lambda t: t.replace(
                "PackageDownloadLocation: NOASSERTION", "PackageDownloadLocation: secret place"
            ),
            "validation problem(s) found by spdx-tools, the first in a package",
        ),
    ],
    ids=["valid", "dangling", "duplicate", "bad-id", "element"],
)
def test_large_documents_are_checked_element_by_element_and_ids_linearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: object, problem: str | None
) -> None:
    from crafter._internal.materials import spdx_tag_value

    monkeypatch.setattr(spdx_tag_value, "WHOLE_DOCUMENT_LIMIT", 2)  # the fixture is "large": 4 elements
    path = write(tmp_path, change(fixture("2.3").read_text()))  # type: ignore[operator]
    if problem is None:
        assert KIND.craft(path, STRICT).main_component is not None
    else:
        message = refused(path)
        assert problem in message and "secret" not in message and "gone" not in message


@pytest.mark.parametrize(
    "encode",
    [lambda t: b"\xef\xbb\xbf" + t.encode(), lambda t: t.replace("\n", "\r\n").encode()],
    ids=["utf8-bom", "crlf"],
)
def test_a_bom_and_crlf_line_ends_are_read(tmp_path: Path, encode: object) -> None:
    path = tmp_path / "sbom.spdx"
    path.write_bytes(encode(fixture("2.3").read_text()))  # type: ignore[operator]
    crafted = detect_kind(str(path), default_registry(), STRICT)
    assert crafted.kind == "SBOM_SPDX_TAG_VALUE"
    assert crafted.main_component == MainComponent(name="acme-app", version="1.2.3", kind="application")
