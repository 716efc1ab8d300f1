"""The CLI end to end, in-process: one-line errors, exit codes, and the whole init/add/push flow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crafter._internal.signing.bundle import envelope_from_bundle, read_bundle, verify_envelope
from crafter.errors import ExitCode
from crafter.signing.keys import public_key_from_pem
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"


def test_demo_flow_signs_a_verifiable_bundle(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "init", "--contract", str(DEMO / "contract.yaml"), "--project", "hello")[0] == 0
    assert run_cli(capsys, "add", "--name", "sbom", "--value", str(DEMO / "sbom.cdx.json"))[0] == 0
    assert run_cli(capsys, "add", "--name", "tests", "--value", str(DEMO / "junit.xml"))[0] == 0
    assert run_cli(capsys, "add", "--name", "release-file", "--value", str(DEMO / "hello-1.0.0.py"))[0] == 0
    code, out, _ = run_cli(capsys, "status", "-o", "json")
    status = json.loads(out)
    assert code == 0 and status["complete"] is True
    bundle_path = cli_env / "out" / "b.sigstore.json"
    code, out, err = run_cli(
        capsys, "push", "--key", str(cli_env / "k.key"), "--bundle", str(bundle_path), "-o", "json"
    )
    assert code == 0, err
    result = json.loads(out)
    payload = verify_envelope(
        envelope_from_bundle(read_bundle(bundle_path)), public_key_from_pem(cli_env / "k.pub")
    )
    statement = json.loads(payload)
    assert statement == result["statement"]
    import jsonschema

    from crafter._internal.resources import load_schema

    jsonschema.validate(statement, load_schema("statement.schema.json"))
    names = [s["name"] for s in statement["subject"]]
    assert names == ["chainloop.workflow.hello-release", "hello-1.0.0.py"]
    kinds = {
        m["annotations"]["chainloop.material.name"]: m["annotations"]["chainloop.material.type"]
        for m in statement["predicate"]["materials"]
    }
    assert kinds == {"sbom": "SBOM_CYCLONEDX_JSON", "tests": "JUNIT_XML", "release-file": "ARTIFACT"}
    assert statement["predicate"]["annotations"] == {"release_channel": "stable"}
    # The attestation is gone once the bundle is written.
    assert run_cli(capsys, "status")[0] == ExitCode.STATE


def test_missing_required_materials_at_push(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "init", "--contract", str(DEMO / "contract.yaml"))
    run_cli(capsys, "add", "--name", "tests", "--value", str(DEMO / "junit.xml"))
    bundle = cli_env / "b.json"
    code, _, err = run_cli(capsys, "push", "--key", str(cli_env / "k.key"), "--bundle", str(bundle))
    assert code == ExitCode.INCOMPLETE
    assert "some materials have not been crafted yet: sbom, release-file" in err
    assert not bundle.exists()
    assert run_cli(capsys, "status")[0] == 0  # kept for a retry


def test_contract_kind_mismatch_names_both_kinds(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "init", "--contract", str(DEMO / "contract.yaml"))
    code, _, err = run_cli(capsys, "add", "--name", "sbom", "--value", str(DEMO / "junit.xml"))
    assert code == ExitCode.MATERIAL
    assert "SBOM_CYCLONEDX_JSON" in err and "JUNIT_XML" in err
    code, _, err = run_cli(
        capsys, "add", "--name", "sbom", "--kind", "JUNIT_XML", "--value", str(DEMO / "junit.xml")
    )
    assert code == ExitCode.MATERIAL and "declared as SBOM_CYCLONEDX_JSON" in err


def test_several_values_and_globs_are_one_change(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "init")
    for i in range(3):
        (cli_env / "work" / f"f{i}.bin").write_bytes(b"x" * (i + 1))
    code, out, err = run_cli(capsys, "add", "f*.bin", str(DEMO / "junit.xml"), "-o", "json")
    assert code == 0, err
    assert [m["material"] for m in json.loads(out)] == ["f0-bin", "f1-bin", "f2-bin", "junit-xml"]
    (cli_env / "work" / "empty.bin").write_bytes(b"")
    code, _, err = run_cli(
        capsys, "add", "--value", "f0.bin", "--value", "empty.bin", "--value", "new-string"
    )
    assert code == ExitCode.MATERIAL and "empty.bin" in err
    _, out, _ = run_cli(capsys, "status", "-o", "json")
    assert len(json.loads(out)["materials"]) == 4  # nothing of the failed call was recorded
    code, _, err = run_cli(capsys, "add", "--name", "x", "f0.bin", "f1.bin")
    assert code == ExitCode.USAGE and "--name names one material" in err
    code, _, err = run_cli(capsys, "add", "nothing-*.bin")
    assert code == ExitCode.MATERIAL and "no file matches" in err


def test_runner_enforcement_and_dry_run(
    cli_env: Path, capsys: pytest.CaptureFixture[str], contracts_dir: Path
) -> None:
    contract = str(contracts_dir / "empty_github.yaml")
    code, _, err = run_cli(capsys, "init", "--contract", contract)
    assert code == ExitCode.RUNNER and "GITHUB_ACTION" in err and "--dry-run" in err
    assert run_cli(capsys, "init", "--contract", contract, "--dry-run")[0] == 0
    code, out, _ = run_cli(
        capsys, "push", "--key", str(cli_env / "k.key"), "--bundle", str(cli_env / "b.json"), "-o", "json"
    )
    assert code == 0 and json.loads(out)["statement"]["predicate"]["dryRun"] is True


def test_env_allow_list_missing(
    cli_env: Path, capsys: pytest.CaptureFixture[str], contracts_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract = str(contracts_dir / "jenkins_with_env_vars.yaml")
    monkeypatch.setenv("CUSTOM_VAR_1", "one")
    code, _, err = run_cli(capsys, "init", "--contract", contract, "--dry-run")
    assert code == ExitCode.RUNNER and "CUSTOM_VAR_2" in err
    monkeypatch.setenv("CUSTOM_VAR_2", "two")
    assert run_cli(capsys, "init", "--contract", contract, "--dry-run")[0] == 0
    _, out, _ = run_cli(capsys, "status", "-o", "json")
    assert json.loads(out)["envVars"] == {"CUSTOM_VAR_1": "one", "CUSTOM_VAR_2": "two"}


def test_annotations_required_by_contract(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    contract = cli_env / "c.yaml"
    contract.write_text(
        "schemaVersion: v1\nannotations: [{name: channel}]\n"
        "materials:\n  - {name: ref, type: STRING, annotations: [{name: owner}, {name: fixed, value: v}]}\n"
    )
    run_cli(capsys, "init", "--contract", str(contract))
    code, _, err = run_cli(capsys, "add", "--name", "ref", "--value", "abc")
    assert code == ExitCode.MATERIAL and "annotations ['owner'] required for material \"ref\"" in err
    assert (
        run_cli(
            capsys,
            "add",
            "--name",
            "ref",
            "--value",
            "abc",
            "--annotation",
            "owner=me",
            "--annotation",
            "fixed=other",
        )[0]
        == 0
    )
    code, _, err = run_cli(
        capsys, "push", "--key", str(cli_env / "k.key"), "--bundle", str(cli_env / "b.json")
    )
    assert code == ExitCode.INCOMPLETE and "annotations ['channel'] required" in err
    code, out, _ = run_cli(
        capsys,
        "push",
        "--key",
        str(cli_env / "k.key"),
        "--bundle",
        str(cli_env / "b.json"),
        "--annotation",
        "channel=beta",
        "-o",
        "json",
    )
    predicate = json.loads(out)["statement"]["predicate"]
    assert predicate["annotations"] == {"channel": "beta"}
    (material,) = predicate["materials"]
    assert material["annotations"]["owner"] == "me"
    assert material["annotations"]["fixed"] == "v"  # a contract value is never overridden
    assert material["content"] == "YWJj"


def test_groups_require_one_member(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    contract = cli_env / "c.yaml"
    contract.write_text(
        "schemaVersion: v1\nmaterials:\n  - {name: a, type: STRING, group: g}\n  - {name: b, type: STRING, group: g}\n"
    )
    run_cli(capsys, "init", "--contract", str(contract))
    code, _, err = run_cli(
        capsys, "push", "--key", str(cli_env / "k.key"), "--bundle", str(cli_env / "b.json")
    )
    assert code == ExitCode.INCOMPLETE and 'at least one material from group "g" is required: a, b' in err
    run_cli(capsys, "add", "--name", "b", "--value", "x")
    assert (
        run_cli(capsys, "push", "--key", str(cli_env / "k.key"), "--bundle", str(cli_env / "b.json"))[0] == 0
    )


def test_several_attestations_status_all_and_reset(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "init", "--workflow", "one")
    _, out, _ = run_cli(capsys, "status", "-o", "json")
    first = json.loads(out)["attestationID"]
    run_cli(capsys, "init", "--workflow", "two")
    code, out, _ = run_cli(capsys, "status", "--all", "-o", "json")
    listed = json.loads(out)
    assert code == 0 and [e["workflow"] for e in listed] == ["one", "two"]
    assert [e["current"] for e in listed] == [False, True]
    assert run_cli(capsys, "add", "--attestation-id", first, "--name", "s", "--value", "v")[0] == 0
    code, out, _ = run_cli(capsys, "reset", "--attestation-id", first)
    assert code == 0 and first in out
    _, out, _ = run_cli(capsys, "status", "--all", "-o", "json")
    assert [e["workflow"] for e in json.loads(out)] == ["two"]


def test_corrupted_state_is_a_one_line_error(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "init")
    state_file = next((cli_env / "state" / "attestations").glob("*.json"))
    state_file.write_text("{garbage")
    code, _, err = run_cli(capsys, "add", "--name", "s", "--value", "v")
    assert code == ExitCode.STATE
    assert err.startswith(f"Error: {state_file}: state file is corrupted")
    assert state_file.read_text() == "{garbage"


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["status"], ExitCode.STATE, "no attestation in progress"),
        (
            ["init", "--contract", "/nonexistent/c.yaml"],
            ExitCode.CONTRACT,
            "/nonexistent/c.yaml: file not found",
        ),
        (["add", "--name", "x", "--value", "v"], ExitCode.STATE, "no attestation in progress"),
        (["init", "--bogus"], ExitCode.USAGE, "No such option"),
        (["keys", "generate", "--output-prefix", "a-file/k"], ExitCode.SIGNING, "a-file"),
    ],
)
def test_errors_are_one_line_with_exit_code(
    cli_env: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, text: str
) -> None:
    (cli_env / "work" / "a-file").write_text("not a directory")
    got, _, err = run_cli(capsys, *args)
    assert got == code
    assert text in err


def test_bad_key_and_unknown_kind(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "init")
    code, _, err = run_cli(capsys, "add", "--kind", "NOPE", "--value", "v")
    assert code == ExitCode.MATERIAL and '"NOPE" kind not found' in err and "Hint: available kinds" in err
    garbage = cli_env / "garbage.key"
    garbage.write_text("not a key")
    code, _, err = run_cli(capsys, "push", "--key", str(garbage), "--bundle", str(cli_env / "b.json"))
    assert code == ExitCode.SIGNING and str(garbage) in err
    assert run_cli(capsys, "status")[0] == 0  # nothing lost


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    from crafter import __version__

    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.strip() == f"crafter {__version__}"
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "init" in out and "push" in out


def test_git_head_becomes_a_subject(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = cli_env / "work"
    monkeypatch.delenv("GIT_CEILING_DIRECTORIES")
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "a.txt").write_text("a")
    subprocess.run([*git, "-C", str(repo), "add", "a.txt"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "first"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "remote", "add", "origin", "https://user:tok3n@example.com/o/r.git"],
        check=True,
    )
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    run_cli(capsys, "init")
    code, out, _ = run_cli(
        capsys, "push", "--key", str(cli_env / "k.key"), "--bundle", str(cli_env / "b.json"), "-o", "json"
    )
    assert code == 0
    subject = json.loads(out)["statement"]["subject"][1]
    assert subject["name"] == "git.head" and subject["digest"] == {"sha1": head}
    assert subject["annotations"]["remotes"] == [{"name": "origin", "url": "https://example.com/o/r.git"}]
    assert "tok3n" not in out


def test_python_m_crafter_is_the_command() -> None:
    import crafter

    done = subprocess.run(
        [sys.executable, "-m", "crafter", "nope"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2 and "No such command 'nope'" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "crafter", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == f"crafter {crafter.__version__}"
