"""One-step attest through the action's run step: subjects, materials, outputs, annotations, the summary."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from crafter._internal.signing.bundle import envelope_from_bundle, read_bundle, verify_envelope
from crafter.errors import ExitCode
from crafter.signing.keys import public_key_from_pem
from tests.action.conftest import DEMO, Job, run_step

GATED_CONTRACT = """\
schemaVersion: v1
materials:
  - {type: SBOM_CYCLONEDX_JSON, name: sbom}
  - {type: ARTIFACT, name: hello-1-0-0-py, output: true}
policies:
  materials:
    - ref: builtin://cyclonedx-banned-licenses
      with: {licenses: "Apache-2.0"}
      gate: true
"""


def statement_of(bundle: Path, public_key: Path) -> dict[str, object]:
    payload = verify_envelope(envelope_from_bundle(read_bundle(bundle)), public_key_from_pem(public_key))
    statement: dict[str, object] = json.loads(payload)
    return statement


def test_attest_signs_the_subject_files_in_one_step(job: Job) -> None:
    dist = job.workspace / "dist"
    dist.mkdir()
    for name in ("shop-1.0.tar.gz", "shop-1.0-py3-none-any.whl"):
        (dist / name).write_bytes(name.encode() * 100)
    shutil.copy(DEMO / "sbom.cdx.json", job.workspace)
    step = run_step(
        job,
        {
            "subject-path": "dist/*.tar.gz\n  dist/*.whl  \n",
            "materials": "sbom=sbom.cdx.json",
            "key": str(job.root / "release.key"),
        },
    )
    assert step.code == 0, step.stderr
    out = step.outputs
    bundle = Path(out["bundle-path"])
    assert out["bundle"] == out["bundle-path"] and bundle.is_file()
    assert bundle.parent == job.root / "runner-temp" / "crafter-action" / "bundles"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", out["digest"])
    assert bundle.name == out["digest"].removeprefix("sha256:") + ".sigstore.json"
    assert out["exit-code"] == "0" and out["attestation-id"]
    assert (out["policy-status"], out["policy-violations"], out["policy-gate-failures"]) == (
        "passed",
        "0",
        "",
    )

    statement = statement_of(bundle, job.root / "release.pub")
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}  # type: ignore[attr-defined]
    for name in ("shop-1.0.tar.gz", "shop-1.0-py3-none-any.whl"):
        assert subjects[name] == hashlib.sha256((dist / name).read_bytes()).hexdigest()
    assert "sbom.cdx.json" not in subjects  # a material, not a subject
    predicate = statement["predicate"]
    assert predicate["runnerType"] == "GITHUB_ACTION"  # type: ignore[index]
    assert predicate["metadata"]["name"] == "release"  # type: ignore[index]  # GITHUB_WORKFLOW
    assert json.loads(out["stdout"])["digest"] == out["digest"]  # stdout: push's JSON
    assert f"Statement digest: {out['digest']}" in step.stdout  # the log: a human version
    assert "### crafter attestation signed, policies passed" in job.summary
    assert out["digest"] in job.summary and "shop-1.0.tar.gz" in job.summary
    # The workspace stays clean: the attestation in progress lived under RUNNER_TEMP.
    assert sorted(p.name for p in job.workspace.iterdir()) == ["dist", "sbom.cdx.json"]


def test_a_gated_violation_fails_the_step_with_annotations_on_the_file(job: Job) -> None:
    shutil.copy(DEMO / "sbom.cdx.json", job.workspace)
    shutil.copy(DEMO / "hello-1.0.0.py", job.workspace)
    (job.workspace / "contract.yaml").write_text(GATED_CONTRACT)
    step = run_step(
        job,
        {
            "command": "attest",
            "contract": "contract.yaml",
            "subject-path": "hello-1.0.0.py",
            "materials": "sbom=sbom.cdx.json",
            "key": str(job.root / "release.key"),
            "show-summary": "true",
        },
    )
    assert step.code == ExitCode.POLICY_GATE, step.stderr
    out = step.outputs
    assert out["exit-code"] == str(int(ExitCode.POLICY_GATE))
    assert (out["policy-status"], out["policy-violations"]) == ("gated", "1")
    assert out["policy-gate-failures"] == "cyclonedx-banned-licenses"
    assert Path(out["bundle-path"]).is_file()  # signed and written, then the gate fails the step
    errors = [line for line in step.stderr.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1, step.stderr
    assert errors[0].startswith(
        "::error file=sbom.cdx.json,title=crafter policy cyclonedx-banned-licenses (gate)::material sbom: "
    )
    assert "Apache-2.0" in errors[0]
    assert "blocked by a policy gate" in job.summary and "Apache-2.0" in job.summary
    statement = statement_of(Path(out["bundle-path"]), job.root / "release.pub")
    assert [s["name"] for s in statement["subject"]][-1] == "hello-1.0.0.py"  # type: ignore[index]


def test_a_violation_that_is_not_gated_is_a_warning(job: Job) -> None:
    shutil.copy(DEMO / "sbom.cdx.json", job.workspace)
    (job.workspace / "contract.yaml").write_text(
        GATED_CONTRACT.replace("gate: true", "gate: false").replace("output: true", "optional: true")
    )
    step = run_step(
        job,
        {
            "contract": "contract.yaml",
            "materials": "sbom=sbom.cdx.json",
            "key": str(job.root / "release.key"),
            "show-summary": "false",
        },
    )
    assert step.code == 0, step.stderr
    assert (step.outputs["policy-status"], step.outputs["policy-violations"]) == ("violations", "1")
    assert "::warning file=sbom.cdx.json,title=crafter policy cyclonedx-banned-licenses::material sbom" in (
        step.stderr
    )
    assert "::error" not in step.stderr
    assert job.summary == ""  # show-summary: false


def test_attest_refuses_incomplete_inputs_before_running_anything(job: Job) -> None:
    (job.workspace / "a.txt").write_text("a")
    cases = [
        ({"subject-path": "a.txt"}, "attest signs with 'key'"),
        ({"subject-path": "a.txt", "key": "k", "keyless": "true"}, "attest signs with 'key'"),
        ({"subject-path": "dist/*.whl", "key": "k"}, "input 'subject-path': no file matches 'dist/*.whl'"),
        ({"key": "k"}, "attest needs files"),
        (
            {"subject-path": "a.txt", "key": "k", "keyless": "maybe"},
            "input 'keyless': expected true or false, got 'maybe'",
        ),
        ({"subject-path": "a.txt", "key": "k", "args": "-o table"}, "drop -o/--output"),
    ]
    for inputs, message in cases:
        step = run_step(job, inputs)
        assert step.code == 2, inputs
        (error,) = [line for line in step.stderr.splitlines() if line.startswith("::error")]
        assert error.startswith("::error title=crafter action::") and message in error, step.stderr
        assert step.outputs["exit-code"] == "2"
    assert not (job.root / "runner-temp" / "crafter-action" / "bundles").exists()


def test_a_failing_init_stops_the_attestation(job: Job) -> None:
    (job.workspace / "a.txt").write_text("a")
    step = run_step(
        job, {"subject-path": "a.txt", "contract": "missing.yaml", "key": str(job.root / "release.key")}
    )
    assert step.code not in (0, 2)
    assert step.outputs["exit-code"] == str(step.code)
    assert "bundle-path" not in step.outputs
    assert "crafter init failed" in step.stderr
    assert "### crafter attest failed at init" in job.summary
