"""A typo'd path is "file not found" (exit 6), never silently recorded as a STRING; image references, URLs,
version-like values and plain words keep their detection."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from crafter.errors import ExitCode
from tests.conftest import run_cli


@pytest.fixture
def attesting(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _, err = run_cli(capsys, "init", "--workflow", "release", "--project", "hello")
    assert code == 0, err
    return cli_env


@pytest.mark.parametrize(
    "value", ["sbom.cdx.jsn", "./no/such/file.bin", "dist/app.whl", "release-1.2.3.tar.gz", "build/report"]
)
def test_missing_file_like_values_are_refused(
    attesting: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, _, err = run_cli(capsys, "add", value)
    assert code == ExitCode.MATERIAL
    assert f"Error: {value}: file not found" in err
    assert f"crafter add --kind STRING --value '{value}'" in err
    code, out, _ = run_cli(capsys, "status", "-o", "json")
    assert code == 0 and json.loads(out)["materials"] == []  # nothing recorded, the state intact


@pytest.mark.parametrize("value", ["v1.2.3", "1.0.0-rc.1", "https://example.com/x.json", "stable"])
def test_other_values_stay_strings(attesting: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    code, out, err = run_cli(capsys, "add", "--value", value, "-o", "json")
    assert code == 0, err
    assert json.loads(out)[0]["kind"] == "STRING"


def test_image_reference_keeps_its_detection(attesting: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_cli(capsys, "add", "--value", "ghcr.io/acme/app:1.0", "-o", "json")
    assert code == 0 and "recorded as a STRING" in err  # as documented: tag resolution needs a registry


def test_kind_string_records_it_as_text(attesting: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "add", "--kind", "STRING", "--value", "sbom.cdx.jsn", "-o", "json")
    assert code == 0, err
    (recorded,) = json.loads(out)
    assert recorded["kind"] == "STRING" and base64.b64decode(recorded["content"]) == b"sbom.cdx.jsn"


def test_contract_declared_file_kind_says_file_not_found(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contract = cli_env / "contract.yaml"
    contract.write_text("schemaVersion: v1\nmaterials:\n  - name: sbom\n    type: SBOM_CYCLONEDX_JSON\n")
    code, _, err = run_cli(capsys, "init", "--contract", str(contract))
    assert code == 0, err
    code, _, err = run_cli(capsys, "add", "--name", "sbom", "sbom.cdx.jsn")
    assert code == ExitCode.MATERIAL
    assert (
        "Error: material 'sbom' must be SBOM_CYCLONEDX_JSON (declared in the contract), but sbom.cdx.jsn: "
        "file not found" in err
    )
    assert "looks like STRING" not in err
