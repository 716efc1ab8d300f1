"""The GitHub Action's per-command mode: its run step driving a real attestation step by step, as a workflow would.

action.yml's shape, one-step attest, install.sh and the locks: tests/action/."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from crafter._internal.cli.action import ActionInputError, build_argv, has_output_option, main, push_outputs
from crafter._internal.signing.bundle import envelope_from_bundle, read_bundle, verify_envelope
from crafter.errors import ExitCode
from crafter.signing.keys import generate_key_pair, public_key_from_pem
from tests.action.conftest import github_env, read_outputs

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"


# -- argument handling ---------------------------------------------------------------------------------------
def test_args_are_split_like_a_shell_but_never_expanded() -> None:
    argv = build_argv("add", "--name sbom\n--value 'my file.json'  # the SBOM\n--annotation a=$(id)")
    assert argv == ["add", "--name", "sbom", "--value", "my file.json", "--annotation", "a=$(id)"]


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("rm", "", "input 'command' is 'rm'"),
        ("add", "--name 'unclosed", "input 'args' cannot be split"),
    ],
)
def test_bad_inputs_are_refused(command: str, args: str, message: str) -> None:
    with pytest.raises(ActionInputError, match=message):
        build_argv(command, args)


def test_bad_command_is_a_workflow_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    outputs = tmp_path / "out"
    assert main({"INPUT_COMMAND": "sh", "GITHUB_OUTPUT": str(outputs)}) == 2
    assert "::error title=crafter action::input 'command' is 'sh'" in capsys.readouterr().err
    assert read_outputs(outputs) == {"exit-code": "2"}


@pytest.mark.parametrize(
    ("args", "chosen"),
    [
        ([], False),
        (["--name", "x"], False),
        (["-o", "table"], True),
        (["-ojson"], True),
        (["--output=json"], True),
        (["--output", "json"], True),
        (["--", "-o"], False),  # after --, a value
    ],
)
def test_an_output_format_in_args_is_respected(args: list[str], chosen: bool) -> None:
    assert has_output_option(args) is chosen


def test_push_outputs_from_push_json() -> None:
    data = {
        "attestationID": "1b2c",
        "digest": "sha256:ab",
        "bundle": "/tmp/b.json",
        "policyStatus": {"status": "gated", "evaluations": 3, "violations": 2, "gateFailures": ["a", "b"]},
    }
    assert push_outputs(data) == {
        "attestation-id": "1b2c",
        "digest": "sha256:ab",
        "bundle": "/tmp/b.json",
        "bundle-path": "/tmp/b.json",
        "policy-status": "gated",
        "policy-evaluations": "3",
        "policy-violations": "2",
        "policy-gate-failures": "a,b",
    }


# -- a workflow job, step by step ----------------------------------------------------------------------------
@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment GitHub gives a job's steps: runner variables, output and summary files, a workspace."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    monkeypatch.chdir(workspace)  # steps run in the workspace
    (tmp_path / "runner-temp").mkdir()
    generate_key_pair(tmp_path / "release", b"pw")
    env = github_env(tmp_path, workspace)
    env["CRAFTER_STATE_DIR"] = str(workspace / ".crafter")
    return env


def step(job: dict[str, str], tmp_path: Path, command: str, args: str) -> tuple[int, dict[str, str]]:
    output_file = tmp_path / f"output-{len(list(tmp_path.glob('output-*')))}"
    env = {**job, "INPUT_COMMAND": command, "INPUT_ARGS": args, "GITHUB_OUTPUT": str(output_file)}
    code = main(env)
    return code, read_outputs(output_file)


def test_a_job_attests_a_release(
    job: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = Path(job["GITHUB_WORKSPACE"])
    for file in ("sbom.cdx.json", "junit.xml", "hello-1.0.0.py"):
        shutil.copy(DEMO / file, workspace)
    assert step(job, tmp_path, "init", f"--contract {DEMO / 'contract.yaml'} --project hello")[0] == 0
    code, outputs = step(job, tmp_path, "add", "--name sbom --value sbom.cdx.json")
    assert (code, outputs["exit-code"]) == (0, "0")
    (added,) = json.loads(outputs["stdout"])  # the action asked for JSON
    assert added["material"] == "sbom" and added["kind"] == "SBOM_CYCLONEDX_JSON"
    assert "added sbom (SBOM_CYCLONEDX_JSON)" in capsys.readouterr().out  # the log: a human line
    code, outputs = step(job, tmp_path, "add", "--name tests --value junit.xml -o table")
    assert code == 0 and outputs["stdout"].startswith("NAME")  # a format in args is respected
    assert step(job, tmp_path, "add", "--name release-file hello-1.0.0.py")[0] == 0
    bundle = tmp_path / "hello.sigstore.json"
    code, outputs = step(job, tmp_path, "push", f"--key {tmp_path / 'release.key'} --bundle {bundle}")
    assert code == 0, capsys.readouterr().err
    assert outputs["bundle"] == outputs["bundle-path"] == str(bundle)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", outputs["digest"])
    assert json.loads(outputs["stdout"])["attestationID"] == outputs["attestation-id"]
    assert outputs["policy-status"] == "passed" and int(outputs["policy-evaluations"]) >= 3
    assert f"Bundle: {bundle}" in capsys.readouterr().out
    payload = verify_envelope(
        envelope_from_bundle(read_bundle(bundle)), public_key_from_pem(tmp_path / "release.pub")
    )
    statement = json.loads(payload)
    assert statement["predicate"]["runnerType"] == "GITHUB_ACTION"
    assert statement["predicate"]["runnerURL"] == "https://github.example/acme/hello/actions/runs/4242"
    summary = Path(job["GITHUB_STEP_SUMMARY"]).read_text()
    assert "### crafter attestation signed, policies passed" in summary and outputs["digest"] in summary
    # Then crafter report's Markdown of the bundle, verified with the public key of the signing key.
    assert "# ✅ Attestation report: verified" in summary and "cyclonedx-banned-licenses" in summary
    key_id = hashlib.sha256(
        public_key_from_pem(tmp_path / "release.pub").public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).hexdigest()
    assert key_id in summary

    code, outputs = step(job, tmp_path, "verify", f"{bundle} --key {tmp_path / 'release.pub'} -o json")
    assert code == 0
    assert json.loads(outputs["stdout"])["payloadDigest"] == "sha256:" + hashlib.sha256(payload).hexdigest()
    assert "### crafter verify succeeded" in Path(job["GITHUB_STEP_SUMMARY"]).read_text()


def test_violations_found_at_add_are_annotated_on_their_file_at_push(
    job: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The add step and the push step are separate: the action remembers which file the material came from.
    workspace = Path(job["GITHUB_WORKSPACE"])
    (workspace / "reports").mkdir()
    shutil.copy(DEMO / "sbom.cdx.json", workspace / "reports")
    contract = tmp_path / "contract.yaml"
    contract.write_text(
        "schemaVersion: v1\nmaterials: [{type: SBOM_CYCLONEDX_JSON, name: sbom}]\npolicies:\n  materials:\n"
        "    - {ref: 'builtin://cyclonedx-banned-licenses', with: {licenses: MIT}, gate: true}\n"
    )
    assert step(job, tmp_path, "init", f"--contract {contract}")[0] == 0
    assert step(job, tmp_path, "add", "--name sbom --value 'reports/*.cdx.json'")[0] == 0
    capsys.readouterr()
    code, outputs = step(job, tmp_path, "push", f"--key {tmp_path / 'release.key'} --bundle {tmp_path}")
    assert code == ExitCode.POLICY_GATE
    assert (outputs["policy-status"], outputs["policy-violations"]) == ("gated", "2")  # two MIT components
    data = json.loads(outputs["stdout"])  # push -o json: the earlier fields, then the policy outcome
    assert {"attestationID", "bundle", "digest", "gateFailures", "stored", "statement"} <= set(data)
    assert data["policyStatus"] == {
        "status": "gated",
        "evaluations": 1,
        "violated": 1,
        "violations": 2,
        "skipped": 0,
        "gateFailures": ["cyclonedx-banned-licenses"],
        "bypassed": False,
    }
    (evaluation,) = data["policyEvaluations"]
    assert evaluation["materialName"] == "sbom" and evaluation["gate"] is True
    assert len(evaluation["violations"]) == 2 and all("MIT" in v["message"] for v in evaluation["violations"])
    assert push_outputs(json.loads(outputs["stdout"])) == push_outputs(data)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("::error")]
    assert len(errors) == 2
    for error in errors:
        assert error.startswith(
            "::error file=reports/sbom.cdx.json,title=crafter policy cyclonedx-banned-licenses (gate)::material sbom: "
        )
    assert Path(outputs["bundle-path"]).parent == tmp_path


def test_a_failing_step_reports_its_exit_code(job: dict[str, str], tmp_path: Path) -> None:
    code, outputs = step(job, tmp_path, "push", f"--key {tmp_path / 'release.key'}")
    assert code == ExitCode.STATE
    assert outputs["exit-code"] == str(int(ExitCode.STATE))
    assert "### crafter push failed (exit code 3)" in Path(job["GITHUB_STEP_SUMMARY"]).read_text()


def test_a_push_with_its_own_output_format_sets_no_push_outputs(
    job: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (Path(job["GITHUB_WORKSPACE"]) / "a.txt").write_text("a")
    assert step(job, tmp_path, "init", "")[0] == 0
    assert step(job, tmp_path, "add", "a.txt")[0] == 0
    code, outputs = step(job, tmp_path, "push", f"--key {tmp_path / 'release.key'} -o table")
    assert code == 0 and "Statement digest: sha256:" in outputs["stdout"]
    assert "digest" not in outputs and "bundle-path" not in outputs
    assert "::warning title=crafter action::push ran with -o from args" in capsys.readouterr().err
    assert Path(job["GITHUB_STEP_SUMMARY"]).read_text() == "### crafter push succeeded\n\n"


def test_a_large_output_goes_to_the_file_only(
    job: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert step(job, tmp_path, "init", f"--contract {DEMO / 'contract.yaml'} --project hello")[0] == 0
    capsys.readouterr()
    monkeypatch.setattr("crafter._internal.cli.action.MAX_OUTPUT_BYTES", 10)
    code, outputs = step(job, tmp_path, "status", "")
    assert code == 0 and outputs["stdout"] == ""
    whole = Path(outputs["stdout-file"]).read_text()
    assert Path(outputs["stdout-file"]).parent == tmp_path / "runner-temp"
    out, err = capsys.readouterr()
    assert "Missing required materials" in whole and whole == out
    assert "::warning title=crafter action::the output of crafter status is over 10 bytes" in err
