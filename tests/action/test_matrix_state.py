"""The action with remote state: the jobs of a matrix, each in its own workspace, record into one attestation in
a real registry (docker-registry on 127.0.0.1), addressed by the init job's ``attestation-id`` output."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from crafter._internal.cli.action import main
from crafter.signing.keys import generate_key_pair
from crafter.verify import VerifyRequest, verify
from tests.action.conftest import DEMO, github_env, read_outputs
from tests.storage.conftest import Registry, _start


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    yield from _start(tmp_path_factory.mktemp("action-registry"))


class Job:
    """One job of the workflow run, on a runner of its own (its workspace, temp and state directories)."""

    def __init__(self, root: Path, name: str, files: tuple[str, ...] = ()) -> None:
        self.root = root / name
        workspace = self.root / "workspace"
        workspace.mkdir(parents=True)
        (self.root / "runner-temp").mkdir()
        for file in files:
            shutil.copy(DEMO / file, workspace)
        self.env = github_env(self.root, workspace)
        self.env.update(
            RUNNER_NAME=f"runner-{name}",
            CRAFTER_STATE_DIR=str(self.root / "state"),
            DOCKER_CONFIG=str(self.root / "docker"),
        )
        self.steps = 0

    def step(self, monkeypatch: pytest.MonkeyPatch, **inputs: str) -> tuple[int, dict[str, str]]:
        output = self.root / f"output-{self.steps}"
        self.steps += 1
        env = {**self.env, "GITHUB_OUTPUT": str(output)}
        env.update({"INPUT_" + k.upper(): v for k, v in inputs.items()})
        monkeypatch.chdir(self.env["GITHUB_WORKSPACE"])  # steps run in the job's workspace
        return main(env), read_outputs(output)


def test_matrix_jobs_record_into_one_attestation(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = f"oci://{registry.host}/acme/release-state"
    init = Job(tmp_path, "init", ("contract.yaml",))
    code, outputs = init.step(
        monkeypatch, command="init", args="--contract contract.yaml --project hello --insecure", state=state
    )
    assert code == 0
    aid = outputs["attestation-id"]
    assert aid and json.loads(outputs["stdout"])["attestationID"] == aid

    # Build jobs have neither the contract nor its policies: only the state and the id.
    linux = Job(tmp_path, "linux", ("sbom.cdx.json", "junit.xml"))
    for args in ("--name sbom --value sbom.cdx.json --insecure", "--name tests --value junit.xml --insecure"):
        code, _ = linux.step(monkeypatch, command="add", args=args, state=state, attestation_id=aid)
        assert code == 0
    macos = Job(tmp_path, "macos", ("hello-1.0.0.py",))
    code, outputs = macos.step(
        monkeypatch,
        command="add",
        args="--name release-file --value hello-1.0.0.py --insecure",
        state=state,
        attestation_id=aid,
    )
    assert code == 0
    (added,) = json.loads(outputs["stdout"])
    assert added["material"] == "release-file"

    final = Job(tmp_path, "attest")
    generate_key_pair(final.root / "release", b"pw")
    bundle = final.root / "hello.sigstore.json"
    code, outputs = final.step(
        monkeypatch,
        command="push",
        args=f"--key {final.root / 'release.key'} --bundle {bundle} --insecure",
        state=state,
        attestation_id=aid,
    )
    assert code == 0, outputs
    assert outputs["attestation-id"] == aid and outputs["policy-status"] == "passed"
    result = verify(VerifyRequest(bundle=str(bundle), key=final.root / "release.pub"))
    recorded = {
        m["annotations"]["chainloop.material.name"] for m in result.statement["predicate"]["materials"]
    }
    assert recorded == {"sbom", "tests", "release-file"}


def test_job_level_state_does_not_reach_the_one_step_attest(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = Job(tmp_path, "attest", ("hello-1.0.0.py",))
    generate_key_pair(job.root / "release", b"pw")
    job.env.update(CRAFTER_STATE=f"oci://{registry.host}/acme/elsewhere", CRAFTER_ATTESTATION_ID="nope")
    code, outputs = job.step(monkeypatch, subject_path="hello-1.0.0.py", key=str(job.root / "release.key"))
    assert code == 0 and outputs["bundle-path"]
    code, outputs = job.step(
        monkeypatch, subject_path="hello-1.0.0.py", key=str(job.root / "release.key"), state="oci://x/y"
    )
    assert code == 2 and outputs["exit-code"] == "2"
