"""A GitHub job's environment, and the action's run step (action/run.sh) run as the runner runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import attrs
import pytest

from crafter.signing.keys import generate_key_pair

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
#: The venv running the tests stands for the one install.sh makes: run.sh finds bin/python in it.
VENV = Path(sys.executable).parent.parent


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file written in the ``name<<DELIMITER`` form (a later value wins, as on GitHub)."""
    outputs: dict[str, str] = {}
    if not path.exists():
        return outputs
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        name, delimiter = lines[i].split("<<", 1)
        end = lines.index(delimiter, i + 1)
        outputs[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return outputs


@attrs.frozen
class Job:
    """One job: its workspace, runner temp, summary file and environment (as GitHub sets it)."""

    root: Path
    env: Mapping[str, str]

    @property
    def workspace(self) -> Path:
        return Path(self.env["GITHUB_WORKSPACE"])

    @property
    def summary(self) -> str:
        path = Path(self.env["GITHUB_STEP_SUMMARY"])
        return path.read_text() if path.exists() else ""


@attrs.frozen
class Step:
    code: int
    outputs: dict[str, str]
    stdout: str
    stderr: str


def github_env(tmp_path: Path, workspace: Path) -> dict[str, str]:
    """The variables GitHub gives a job's steps (runner, repository, output and summary files), over this
    process's environment without any GITHUB_/INPUT_/CRAFTER_/RUNNER_ variable of its own."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "CRAFTER_", "RUNNER_"))
    }
    env.update(
        CI="true",
        GITHUB_ACTIONS="true",
        GITHUB_REPOSITORY="acme/hello",
        GITHUB_REPOSITORY_OWNER="acme",
        GITHUB_RUN_ID="4242",
        GITHUB_WORKFLOW="release",
        GITHUB_ACTOR="release-bot",
        GITHUB_REF="refs/tags/v1.0.0",
        GITHUB_SHA="0" * 40,
        GITHUB_SERVER_URL="https://github.example",
        RUNNER_NAME="hosted-1",
        RUNNER_TEMP=str(tmp_path / "runner-temp"),
        RUNNER_OS="Linux",
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
        GITHUB_PATH=str(tmp_path / "path"),
        GITHUB_ENV=str(tmp_path / "env"),
        GIT_CEILING_DIRECTORIES=str(tmp_path),
        CRAFTER_KEY_PASSWORD="pw",
    )
    return env


@pytest.fixture
def job(tmp_path: Path) -> Job:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (tmp_path / "runner-temp").mkdir()
    generate_key_pair(tmp_path / "release", b"pw")
    env = github_env(tmp_path, workspace)
    env.update(CRAFTER_VENV=str(VENV), CRAFTER_ACTION_PATH=str(ROOT))
    return Job(tmp_path, env)


def run_step(job: Job, inputs: Mapping[str, str], *, venv: Path | None = None) -> Step:
    """The action's run step: ``bash action/run.sh`` in the workspace, inputs as action.yml passes them
    (``INPUT_<NAME>``, dashes as underscores), a fresh GITHUB_OUTPUT file."""
    output_file = job.root / f"output-{len(list(job.root.glob('output-*')))}"
    env = {**job.env, "GITHUB_OUTPUT": str(output_file)}
    if venv is not None:
        env["CRAFTER_VENV"] = str(venv)
    env.update({"INPUT_" + k.upper().replace("-", "_"): v for k, v in inputs.items()})
    proc = subprocess.run(
        ["bash", str(ROOT / "action" / "run.sh")],
        env=env,
        cwd=job.workspace,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return Step(proc.returncode, read_outputs(output_file), proc.stdout, proc.stderr)
