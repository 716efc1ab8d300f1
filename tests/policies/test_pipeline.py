"""Policies in the pipeline, with the real Rego engine and shipped policies: the input document, add output,
status, push embedding, gating exit codes, bypass, --enforce, --policy-input and --policy-timeout."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from crafter._internal.cli.action import push_outputs
from crafter._internal.crafting_state import Material
from crafter._internal.policies.inputs import material_input
from crafter.errors import ExitCode
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"

CONTRACT = """
schemaVersion: v1
materials:
  - {name: sbom, type: SBOM_CYCLONEDX_JSON}
  - {name: tests, type: JUNIT_XML}
policies:
  materials:
    - ref: builtin://cyclonedx-banned-licenses
      with: {licenses: "Apache-2.0, GPL-3.0-only"}
      gate: true
    - ref: junit-all-passed
      with: {min_tests: "2"}
"""


@pytest.fixture
def env(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``cli_env``, working in ``tmp_path`` itself (beside the key ``k.key``) with this module's CONTRACT."""
    monkeypatch.chdir(cli_env)
    (cli_env / "contract.yaml").write_text(CONTRACT)
    return cli_env


def payload(bundle: Path) -> dict[str, object]:
    doc = json.loads(bundle.read_text())
    return json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))  # type: ignore[no-any-return]


def test_material_input_document(tmp_path: Path) -> None:
    junit = Material(
        name="tests", kind="JUNIT_XML", added_at="t", digest="sha256:" + "a" * 64, filename="junit.xml"
    )
    doc = json.loads(material_input(junit, str(DEMO / "junit.xml"), project="hello", evaluation_time="T0"))
    assert [s["name"] for s in doc["elements"]] == ["hello", "tests.test_hello"] or doc["elements"]
    meta = doc["chainloop_metadata"]
    assert meta["annotations"]["chainloop.material.type"] == "JUNIT_XML"
    assert meta["digest"] == {"sha256": "a" * 64} and meta["project_name"] == "hello"
    assert meta["evaluation_time"] == "T0"
    string = Material(name="ref", kind="STRING", added_at="t", digest="sha256:" + "b" * 64, value="v1")
    doc = json.loads(material_input(string, None))
    assert set(doc) == {"chainloop_metadata"} and doc["chainloop_metadata"]["content"] == "djE="
    array = tmp_path / "a.json"
    array.write_text('[{"x": 1}]')
    leaks = Material(
        name="gl", kind="GITLEAKS_JSON", added_at="t", digest="sha256:" + "c" * 64, filename="a.json"
    )
    assert json.loads(material_input(leaks, str(array)))["elements"] == [{"x": 1}]


def test_add_shows_results_and_push_gates_with_code_4(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "init", "--contract", "contract.yaml")[0] == 0
    code, out, _ = run_cli(capsys, "add", "--name", "sbom", "--value", str(DEMO / "sbom.cdx.json"))
    assert code == 0
    assert "policy cyclonedx-banned-licenses on sbom: 1 violation(s) [gate]" in out
    assert "banned license Apache-2.0" in out
    code, out, _ = run_cli(capsys, "add", "--name", "tests", "--value", str(DEMO / "junit.xml"))
    assert "policy junit-all-passed on tests: passed" in out
    code, out, _ = run_cli(capsys, "status")
    assert "Policy violation strategy: ADVISORY" in out and "junit-all-passed on tests: passed" in out
    code, out, err = run_cli(capsys, "push", "--key", "k.key", "--bundle", "b.json")
    assert code == ExitCode.POLICY_GATE
    assert 'the policy "cyclonedx-banned-licenses" is configured as a gate and has violations' in err
    assert "Bundle: b.json" in out  # written before the gate is reported
    predicate = payload(env / "b.json")["predicate"]
    assert isinstance(predicate, dict)
    assert predicate["policyHasGatedViolations"] is True and predicate["policyViolationsCount"] == 1
    (sbom_eval,) = predicate["policyEvaluations"]["sbom"]
    assert sbom_eval["with"] == {"licenses": "Apache-2.0, GPL-3.0-only"} and sbom_eval["engine"] == "rego"
    assert sbom_eval["policyReference"]["uri"] == "builtin://cyclonedx-banned-licenses"
    policy_bytes = (ROOT / "policies" / "cyclonedx-banned-licenses" / "policy.yaml").read_bytes()
    assert sbom_eval["policyReference"]["digest"] == {"sha256": hashlib.sha256(policy_bytes).hexdigest()}


def test_gated_push_still_reports_the_bundle_as_json(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "init", "--contract", "contract.yaml")
    run_cli(capsys, "add", "--name", "sbom", "--value", str(DEMO / "sbom.cdx.json"))
    run_cli(capsys, "add", "--name", "tests", "--value", str(DEMO / "junit.xml"))
    code, out, err = run_cli(capsys, "push", "--key", "k.key", "--bundle", "b.json", "-o", "json")
    assert code == ExitCode.POLICY_GATE
    assert 'the policy "cyclonedx-banned-licenses" is configured as a gate and has violations' in err
    data = json.loads(out)
    assert data["bundle"] == "b.json" and data["gateFailures"] == ["cyclonedx-banned-licenses"]
    bundle_payload = base64.b64decode(json.loads((env / "b.json").read_text())["dsseEnvelope"]["payload"])
    assert data["digest"] == "sha256:" + hashlib.sha256(bundle_payload).hexdigest()
    # the GitHub Action reads its push outputs from this output, whatever the exit code
    outputs = push_outputs(data)
    assert outputs["bundle"] == "b.json" and outputs["digest"] == data["digest"]
    assert outputs["attestation-id"] == data["attestationID"] != ""


def test_bypass_lets_the_push_pass_and_is_recorded(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "init", "--contract", "contract.yaml")
    run_cli(capsys, "add", "--name", "sbom", "--value", str(DEMO / "sbom.cdx.json"))
    run_cli(capsys, "add", "--name", "tests", "--value", str(DEMO / "junit.xml"))
    code, _, err = run_cli(
        capsys, "push", "--key", "k.key", "--bundle", "b.json", "--exception-bypass-policy-check"
    )
    assert code == 0 and "bypassed" in err
    predicate = payload(env / "b.json")["predicate"]
    assert isinstance(predicate, dict)
    assert predicate["policyBlockBypassEnabled"] is True and predicate["policyAttBlocked"] is False


def test_policy_input_overrides_and_enforce(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "contract.yaml").write_text(CONTRACT.replace("      gate: true\n", ""))
    run_cli(capsys, "init", "--contract", "contract.yaml", "--enforce")
    code, out, _ = run_cli(
        capsys,
        "add",
        "--name",
        "sbom",
        "--value",
        str(DEMO / "sbom.cdx.json"),
        "--policy-input",
        "licenses=MIT",
    )
    assert code == 0 and "2 violation(s) [gate]" in out  # two MIT components; --enforce made it a gate
    run_cli(
        capsys, "add", "--name", "tests", "--value", str(DEMO / "junit.xml"), "--policy-input", "min_tests=10"
    )
    code, _, err = run_cli(capsys, "push", "--key", "k.key", "--bundle", "b.json")
    assert code == ExitCode.POLICY_GATE
    assert '"cyclonedx-banned-licenses"' in err and '"junit-all-passed"' in err
    predicate = payload(env / "b.json")["predicate"]
    assert isinstance(predicate, dict)
    assert predicate["policyCheckBlockingStrategy"] == "ENFORCED"
    (tests_eval,) = predicate["policyEvaluations"]["tests"]
    assert tests_eval["with"]["min_tests"] == "10"


def test_broken_policy_reference_fails_init_clearly(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "contract.yaml").write_text("schemaVersion: v1\npolicies:\n  materials:\n    - ref: ./nope.yaml\n")
    code, _, err = run_cli(capsys, "init", "--contract", "contract.yaml")
    assert code == ExitCode.POLICY and "nope.yaml" in err
    assert run_cli(capsys, "status")[0] == ExitCode.STATE  # nothing was created


def test_policy_timeout_stops_a_hostile_policy(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "slow.yaml").write_text(
        """
apiVersion: chainloop.dev/v1
kind: Policy
metadata: {name: slow}
spec:
  policies:
    - kind: SBOM_CYCLONEDX_JSON
      embedded: |
        package main
        import rego.v1
        violations := [x | some x in numbers.range(1, 100000000); x < 0]
"""
    )
    (env / "contract.yaml").write_text("schemaVersion: v1\npolicies:\n  materials:\n    - ref: slow.yaml\n")
    run_cli(capsys, "init", "--contract", "contract.yaml")
    code, _, err = run_cli(
        capsys, "add", "--name", "sbom", "--value", str(DEMO / "sbom.cdx.json"), "--policy-timeout", "1"
    )
    assert code == ExitCode.POLICY
    assert 'policy "slow"' in err and ("timed out" in err or "memory" in err)
    _, out, _ = run_cli(capsys, "status", "-o", "json")
    assert json.loads(out)["materials"] == []  # nothing recorded
