"""The GitHub Action: action.yml's shape, and its run step driving a real attestation as a workflow would."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crafter.cli.action import ActionInputError, build_argv, main, push_outputs
from crafter.errors import ExitCode
from crafter.signing.bundle import envelope_from_bundle, read_bundle, verify_envelope
from crafter.signing.keys import generate_key_pair, public_key_from_pem

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file written in the ``name<<DELIMITER`` form."""
    outputs: dict[str, str] = {}
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        name, delimiter = lines[i].split("<<", 1)
        end = lines.index(delimiter, i + 1)
        outputs[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return outputs


# -- action.yml ------------------------------------------------------------------------------------------------
def test_action_is_composite_and_its_scripts_exist() -> None:
    assert ACTION["runs"]["using"] == "composite"
    install, run = ACTION["runs"]["steps"]
    assert (ROOT / "action" / "install.sh").is_file()
    assert "action/install.sh" in install["run"]
    assert run["id"] == "run" and "-m crafter.cli.action" in run["run"]


def test_no_input_is_interpolated_into_shell_code() -> None:
    # ${{ inputs.x }} inside `run:` would be script injection; inputs must reach scripts through `env:`.
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step["run"], step["name"]


def test_every_input_is_used_and_every_output_is_set() -> None:
    text = (ROOT / "action.yml").read_text()
    for name in ACTION["inputs"]:
        assert f"inputs.{name} }}}}" in text, name
    source = (ROOT / "crafter" / "cli" / "action.py").read_text()
    for name, spec in ACTION["outputs"].items():
        assert spec["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
        assert f'"{name}"' in source, name


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
    assert not outputs.exists()


def test_push_outputs_from_table_and_json() -> None:
    table = "Attestation 1b2c signed\nStatement digest: sha256:ab\nBundle: /tmp/b.json\n"
    assert push_outputs(table) == {"attestation-id": "1b2c", "digest": "sha256:ab", "bundle": "/tmp/b.json"}
    data = {"attestationID": "1b2c", "digest": "sha256:ab", "bundle": "/tmp/b.json"}
    assert push_outputs(json.dumps(data)) == push_outputs(table)


# -- a workflow job, step by step ----------------------------------------------------------------------------
@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment GitHub gives a job's steps: runner variables, output and summary files, a workspace."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    monkeypatch.chdir(workspace)  # steps run in the workspace
    (tmp_path / "runner-temp").mkdir()
    generate_key_pair(tmp_path / "release", b"pw")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "CRAFTER_", "RUNNER_"))
    }
    env.update(
        CI="true",
        GITHUB_ACTIONS="true",
        GITHUB_REPOSITORY="acme/hello",
        GITHUB_REPOSITORY_OWNER="acme",
        GITHUB_RUN_ID="4242",
        GITHUB_ACTOR="release-bot",
        GITHUB_REF="refs/tags/v1.0.0",
        GITHUB_SHA="0" * 40,
        GITHUB_SERVER_URL="https://github.example",
        RUNNER_NAME="hosted-1",
        RUNNER_TEMP=str(tmp_path / "runner-temp"),
        RUNNER_OS="Linux",
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
        GIT_CEILING_DIRECTORIES=str(tmp_path),
        CRAFTER_KEY_PASSWORD="pw",
        CRAFTER_STATE_DIR=str(workspace / ".crafter"),
    )
    return env


def step(job: dict[str, str], tmp_path: Path, command: str, args: str) -> tuple[int, dict[str, str]]:
    output_file = tmp_path / f"output-{len(list(tmp_path.glob('output-*')))}"
    env = {**job, "INPUT_COMMAND": command, "INPUT_ARGS": args, "GITHUB_OUTPUT": str(output_file)}
    code = main(env)
    return code, read_outputs(output_file)


def test_a_job_attests_a_release(
    job: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert step(job, tmp_path, "init", f"--contract {DEMO / 'contract.yaml'} --project hello")[0] == 0
    for name, file in (("sbom", "sbom.cdx.json"), ("tests", "junit.xml"), ("release-file", "hello-1.0.0.py")):
        code, outputs = step(job, tmp_path, "add", f"--name {name} --value {DEMO / file}")
        assert (code, outputs["exit-code"]) == (0, "0")
    bundle = tmp_path / "hello.sigstore.json"
    code, outputs = step(job, tmp_path, "push", f"--key {tmp_path / 'release.key'} --bundle {bundle}")
    assert code == 0, capsys.readouterr().err
    assert outputs["bundle"] == str(bundle)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", outputs["digest"])
    assert outputs["attestation-id"] and f"Bundle: {bundle}" in outputs["stdout"]
    payload = verify_envelope(
        envelope_from_bundle(read_bundle(bundle)), public_key_from_pem(tmp_path / "release.pub")
    )
    statement = json.loads(payload)
    assert statement["predicate"]["runnerType"] == "GITHUB_ACTION"
    assert statement["predicate"]["runnerURL"] == "https://github.example/acme/hello/actions/runs/4242"
    summary = Path(job["GITHUB_STEP_SUMMARY"]).read_text()
    assert "### crafter push succeeded" in summary and outputs["digest"] in summary

    code, outputs = step(job, tmp_path, "verify", f"{bundle} --key {tmp_path / 'release.pub'} -o json")
    assert code == 0
    assert json.loads(outputs["stdout"])["payloadDigest"] == "sha256:" + hashlib.sha256(payload).hexdigest()
    assert "### crafter verify succeeded" in Path(job["GITHUB_STEP_SUMMARY"]).read_text()


def test_a_failing_step_reports_its_exit_code(job: dict[str, str], tmp_path: Path) -> None:
    code, outputs = step(job, tmp_path, "push", f"--key {tmp_path / 'release.key'}")
    assert code == ExitCode.STATE
    assert outputs["exit-code"] == str(int(ExitCode.STATE))
    assert "failed (exit code 3)" in Path(job["GITHUB_STEP_SUMMARY"]).read_text()


# -- install.sh ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CRAFTER_ACTION_VERSION", "1.0; rm -rf /", "input 'version' is not a version"),
        ("CRAFTER_ACTION_EXTRAS", "aws] @ https://evil", "input 'extras' must be comma-separated names"),
    ],
)
def test_install_refuses_malformed_inputs(tmp_path: Path, variable: str, value: str, message: str) -> None:
    env = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path), variable: value}
    proc = subprocess.run(
        ["bash", str(ROOT / "action" / "install.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not (tmp_path / "crafter-venv").exists()


def test_install_reuses_an_installed_venv(tmp_path: Path) -> None:
    # A second step of the same job finds the venv stamped with the same spec and does not reinstall.
    venv = tmp_path / "crafter-venv"
    (venv / "bin").mkdir(parents=True)
    crafter = venv / "bin" / "crafter"
    crafter.write_text(f"#!{sys.executable}\nprint('crafter 9.9')\n")
    crafter.chmod(0o755)
    (venv / ".crafter-action-spec").write_text(str(ROOT))
    github_env, github_path = tmp_path / "env", tmp_path / "path"
    env = {
        "PATH": os.environ["PATH"],
        "RUNNER_TEMP": str(tmp_path),
        "CRAFTER_ACTION_PATH": str(ROOT),
        "CRAFTER_ACTION_PYTHON": "/nonexistent/python",  # would fail if it tried to install
        "GITHUB_ENV": str(github_env),
        "GITHUB_PATH": str(github_path),
    }
    proc = subprocess.run(
        ["bash", str(ROOT / "action" / "install.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "already installed" in proc.stdout and "crafter 9.9" in proc.stdout
    assert github_env.read_text() == f"CRAFTER_VENV={venv}\n"
    assert github_path.read_text() == f"{venv / 'bin'}\n"


def test_install_refuses_an_old_or_missing_python(tmp_path: Path) -> None:
    old = tmp_path / "python-old"
    old.write_text("#!/bin/sh\nexit 1\n")  # what the version probe of an older Python amounts to
    old.chmod(0o755)
    for python in (str(old), "/nonexistent/python3"):
        env = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path), "CRAFTER_ACTION_PYTHON": python}
        proc = subprocess.run(
            ["bash", str(ROOT / "action" / "install.sh")],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 2
        assert "crafter needs Python 3.11 or newer" in proc.stderr
    assert not (tmp_path / "crafter-venv").exists()


def test_a_large_output_goes_to_the_file_only(
    job: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("crafter.cli.action.MAX_OUTPUT_BYTES", 10)
    code, outputs = step(job, tmp_path, "init", f"--contract {DEMO / 'contract.yaml'} --project hello")
    assert code == 0 and outputs["stdout"] == ""
    whole = Path(outputs["stdout-file"]).read_text()
    assert Path(outputs["stdout-file"]).parent == tmp_path / "runner-temp"
    out, err = capsys.readouterr()
    assert "Missing required materials" in whole and whole == out
    assert "::warning title=crafter action::the output of crafter init is over 10 bytes" in err
