"""``crafter policy eval`` and ``crafter policy test``, in-process: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crafter.errors import ExitCode
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
MIN_COMPONENTS = POLICIES / "sbom-min-components"
SBOM = MIN_COMPONENTS / "tests" / "sbom-3.cdx.json"
DEMO_SBOM = ROOT / "examples" / "demo" / "sbom.cdx.json"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``run_cli``, and no traceback in stdout either."""
    code, out, err = run_cli(capsys, *args)
    assert "Traceback" not in out
    return code, out, err


def test_eval_passing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "policy", "eval", "--policy", str(MIN_COMPONENTS / "policy.yaml"), "--material", str(SBOM)
    )
    assert code == 0
    assert "sbom-min-components" in out
    assert "passed" in out
    assert "SBOM_CYCLONEDX_JSON" in out
    assert "Violation" not in out


def test_eval_failing_prints_each_violation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "policy",
        "eval",
        "--policy",
        "builtin://sbom-min-components",
        "--material",
        str(SBOM),
        "--input",
        "min_components=5",
    )
    assert code == 0  # an evaluation that finds violations is still a successful command
    assert "violated (1 violation)" in out
    assert "Violation: the SBOM lists 3 components, at least 5 required" in out
    assert "min_components=5" in out


def test_eval_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "policy",
        "eval",
        "--policy",
        "cyclonedx-banned-licenses",  # a bare name is a policy of the library
        "--material",
        str(DEMO_SBOM),
        "--input",
        "licenses=MIT, GPL-3.0-only",
        "-o",
        "json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["policy"] == "cyclonedx-banned-licenses"
    assert data["kind"] == "SBOM_CYCLONEDX_JSON"
    assert data["status"] == "violated"
    assert data["result"] == {
        "violations": [
            "component pkg:pypi/attrs@23.2.0 has banned license MIT",
            "component pkg:pypi/pyyaml@6.0.1 has banned license MIT",
        ],
        "skip_reasons": [],
        "skipped": False,
    }
    assert data["with"] == {"licenses": "MIT, GPL-3.0-only"}
    assert data["engine"] == "rego (regopy)"
    assert "input" not in data


def test_eval_show_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "policy",
        "eval",
        "--policy",
        "builtin://sbom-freshness",
        "--material",
        str(SBOM),
        "--evaluation-time",
        "2026-11-15T12:00:00Z",
        "--show-input",
        "-o",
        "json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["status"] == "passed"
    doc = data["input"]
    assert doc["bomFormat"] == "CycloneDX"
    assert doc["args"] == {"limit": "30"}
    meta = doc["chainloop_metadata"]
    assert meta["evaluation_time"] == "2026-11-15T12:00:00Z"
    assert meta["annotations"]["chainloop.material.type"] == "SBOM_CYCLONEDX_JSON"
    assert len(meta["digest"]["sha256"]) == 64


def test_eval_show_input_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "policy", "eval", "--policy", "sbom-min-components", "--material", str(SBOM), "--show-input"
    )
    assert code == 0
    head, _, document = out.partition("Input document:\n")
    assert "passed" in head
    assert json.loads(document)["args"] == {"min_components": "1"}


def test_eval_statement(capsys: pytest.CaptureFixture[str]) -> None:
    statement = POLICIES / "attestation-git-and-runner" / "tests" / "workstation.statement.json"
    code, out, _ = run(
        capsys,
        "policy",
        "eval",
        "--policy",
        "builtin://attestation-git-and-runner",
        "--material",
        str(statement),
        "--kind",
        "attestation",
    )
    assert code == 0
    assert "Kind          ATTESTATION" in out
    assert "violated (2 violations)" in out


def test_eval_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "policy",
        "eval",
        "--policy",
        "builtin://cyclonedx-vulnerabilities",
        "--material",
        str(SBOM),
    )
    assert code == 0
    assert "skipped" in out
    assert "Skipped: the SBOM carries no vulnerability report" in out


def test_eval_bad_reference_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        capsys, "policy", "eval", "--policy", str(tmp_path / "missing.yaml"), "--material", str(SBOM)
    )
    assert code == ExitCode.POLICY
    assert out == ""
    first, *rest = err.splitlines()
    assert first.startswith("Error: ") and "missing.yaml" in first
    assert all(line.startswith("Hint: ") for line in rest)


def test_eval_unknown_builtin_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "policy", "eval", "--policy", "builtin://no-such-policy", "--material", str(SBOM)
    )
    assert code == ExitCode.POLICY
    assert err.startswith("Error: ") and "no-such-policy" in err.splitlines()[0]


def test_eval_kind_without_script(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys,
        "policy",
        "eval",
        "--policy",
        "builtin://junit-all-passed",
        "--material",
        str(SBOM),
    )
    assert code == ExitCode.POLICY
    assert "no execution branch matched" in err.splitlines()[0]


def test_eval_missing_material(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(
        capsys, "policy", "eval", "--policy", "sbom-min-components", "--material", str(tmp_path / "gone.json")
    )
    assert code == ExitCode.MATERIAL
    assert err.splitlines()[0] == f"Error: {tmp_path / 'gone.json'}: no such file"


def test_eval_malformed_input_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys,
        "policy",
        "eval",
        "--policy",
        "sbom-min-components",
        "--material",
        str(SBOM),
        "--input",
        "oops",
    )
    assert code == ExitCode.USAGE
    assert "invalid input 'oops'" in err


# -- policy test ------------------------------------------------------------------------------------------
def test_test_passing_directory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "test", str(MIN_COMPONENTS))
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == f"{len(lines) - 1} passed, 0 failed"
    assert all(line.startswith("PASS sbom-min-components/") for line in lines[:-1])


def test_test_default_directory_is_policies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(MIN_COMPONENTS, tmp_path / "policies" / "sbom-min-components")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "policy", "test")
    assert code == 0
    assert "PASS sbom-min-components/pass-default" in out


def _failing_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies" / "sbom-min-components"
    shutil.copytree(MIN_COMPONENTS, target)
    (target / "tests" / "wrong.yaml").write_text(
        'material: sbom-3.cdx.json\nargs: {min_components: "9"}\nexpect: {violations: 0}\n'
    )
    return tmp_path / "policies"


def test_test_failing_case_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "policy", "test", str(_failing_copy(tmp_path)))
    assert code == 1
    assert "FAIL sbom-min-components/wrong" in out
    assert "violations: expected 0, got 1" in out
    assert out.splitlines()[-1].endswith("passed, 1 failed")
    assert err.startswith("Error: 1 of ")


def test_test_json_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "policy", "test", str(_failing_copy(tmp_path)), "-o", "json")
    assert code == 1
    results = {r["name"]: r for r in json.loads(out)}
    assert results["sbom-min-components/wrong"]["passed"] is False
    assert results["sbom-min-components/pass-default"] == {
        **results["sbom-min-components/pass-default"],
        "passed": True,
        "differences": [],
    }


def test_test_malformed_case_is_a_failure_not_a_crash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policies = _failing_copy(tmp_path)
    (policies / "sbom-min-components" / "tests" / "wrong.yaml").write_text(
        "material: x.json\nexpect: {oops: 1}\n"
    )
    code, out, _ = run(capsys, "policy", "test", str(policies))
    assert code == 1
    assert "wrong.yaml: invalid test case: unknown key at line 2 in expect" in out


def test_test_without_cases(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "policy", "test", str(tmp_path))
    assert code == 1
    assert out == ""
    assert err.splitlines()[0] == f"Error: {tmp_path}: no test cases found"


def test_test_missing_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "policy", "test", str(tmp_path / "nowhere"))
    assert code != 0
    assert err.startswith("Error: ") and "nowhere" in err.splitlines()[0]
