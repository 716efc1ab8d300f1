"""Special files named where crafter expects a regular file: ``/dev/zero``, FIFOs, sockets, as a material, a
contract, a bundle, a key, the GitHub event file, inside an OCI layout directory or an archive being read.

Each is refused quickly (no hang on a FIFO without a writer, no endless read of ``/dev/zero``) with one line
naming the file and what it is, and the exit code of what the file was for; the state stays valid. Every CLI
call that could hang runs in a subprocess with a timeout, so a regression fails the test instead of blocking
the suite.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crafter.errors import ExitCode
from crafter.signing.keys import generate_key_pair
from tests.conftest import RUNNER_MARKERS

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs need a POSIX system")

MAX_SECONDS = 10.0  # generous: each call takes well under a second
HANG_TIMEOUT = 60.0  # a call still running by then has hung: the test fails instead of blocking the suite
ROOT = Path(__file__).resolve().parents[2]
SBOM = ROOT / "policies" / "sbom-min-components" / "tests" / "sbom-3.cdx.json"
_RUN_CLI = "import sys; from crafter._internal.cli.main import main; sys.exit(main(sys.argv[1:]))"


class Cli:
    """``crafter`` in a subprocess, in a clean generic environment under ``tmp_path`` (as ``cli_env`` sets
    up in-process): no CI runner, state in ``tmp_path/state``, key pair ``tmp_path/k.key`` / ``k.pub``."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.work = tmp_path / "work"
        self.work.mkdir()
        self.env = {
            k: v for k, v in os.environ.items() if k not in RUNNER_MARKERS and not k.startswith("GITHUB_")
        }
        self.env.update(
            CRAFTER_STATE_DIR=str(tmp_path / "state"),
            CRAFTER_KEY_PASSWORD="pw",
            GIT_CEILING_DIRECTORIES=str(tmp_path),
            PYTHONPATH=str(ROOT),
        )
        generate_key_pair(tmp_path / "k", b"pw")

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Exit code, stdout, stderr; asserts the time bound and that no traceback was printed."""
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", _RUN_CLI, *args],
            cwd=self.work,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=HANG_TIMEOUT,
        )
        elapsed = time.monotonic() - start
        assert elapsed < MAX_SECONDS, f"crafter {' '.join(args)} took {elapsed:.1f} s"
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc.returncode, proc.stdout, proc.stderr


def error_line(err: str) -> str:
    """The one ``Error:`` line of stderr (asserted to be one line)."""
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, err
    return errors[0]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
        yield path


def started(cli: Cli) -> None:
    """An attestation with one material, ``before``, that every failure must leave in place."""
    assert cli("init", "--workflow", "w", "--project", "p")[0] == 0
    assert cli("add", "--kind", "STRING", "--name", "before", "--value", "kept")[0] == 0


def materials(cli: Cli) -> dict[str, dict[str, object]]:
    """The materials ``crafter status -o json`` lists, by name (the state file is read and valid)."""
    code, out, err = cli("status", "-o", "json")
    assert code == 0, err
    return {m["name"]: m for m in json.loads(out)["materials"]}


def assert_state_kept(cli: Cli) -> None:
    assert materials(cli)["before"]["set"] is True


# --- materials ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind_args",
    [
        ("--kind", "ARTIFACT"),
        ("--kind", "EVIDENCE"),
        ("--kind", "SBOM_CYCLONEDX_JSON"),
        ("--kind", "JUNIT_XML"),
        ("--kind", "HELM_CHART"),
        (),  # auto-detection
    ],
    ids=["ARTIFACT", "EVIDENCE", "SBOM_CYCLONEDX_JSON", "JUNIT_XML", "HELM_CHART", "detected"],
)
def test_fifo_material_is_refused(cli: Cli, fifo: Path, kind_args: tuple[str, ...]) -> None:
    started(cli)
    code, _, err = cli("add", *kind_args, "--name", "m", "--value", str(fifo))
    assert code == ExitCode.MATERIAL
    assert error_line(err) == f"Error: {fifo} is not a regular file (a FIFO)"
    assert_state_kept(cli)


@pytest.mark.parametrize("kind_args", [("--kind", "ARTIFACT"), ("--kind", "SBOM_SPDX_JSON"), ()])
def test_dev_zero_material_is_refused(cli: Cli, kind_args: tuple[str, ...]) -> None:
    started(cli)
    code, _, err = cli("add", *kind_args, "--name", "m", "--value", "/dev/zero")
    assert code == ExitCode.MATERIAL
    assert error_line(err) == "Error: /dev/zero is not a regular file (a character device)"
    assert_state_kept(cli)


def test_socket_material_is_refused(cli: Cli, unix_socket: Path) -> None:
    started(cli)
    code, _, err = cli("add", "--kind", "ARTIFACT", "--value", str(unix_socket))
    assert code == ExitCode.MATERIAL
    assert error_line(err) == f"Error: {unix_socket} is not a regular file (a socket)"
    assert_state_kept(cli)


def test_fifo_in_a_glob_is_not_a_match(cli: Cli, tmp_path: Path) -> None:
    # A glob names files: a FIFO beside them is never opened, the regular files are recorded.
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "app.bin").write_bytes(b"binary")
    os.mkfifo(out_dir / "zz-pipe")
    started(cli)
    code, _, err = cli("add", "--kind", "ARTIFACT", "--value", f"{out_dir}/*")
    assert code == 0, err
    assert set(materials(cli)) == {"before", "app-bin"}


def test_fifo_inside_an_oci_layout_is_refused(cli: Cli, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    layout.mkdir()
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    os.mkfifo(layout / "index.json")
    started(cli)
    for kind_args in (("--kind", "CONTAINER_IMAGE"), ()):
        code, _, err = cli("add", *kind_args, "--name", "image", "--value", str(layout))
        assert code == ExitCode.MATERIAL
        assert error_line(err) == f"Error: {layout / 'index.json'} is not a regular file (a FIFO)"
    assert_state_kept(cli)


def test_fifo_oci_layout_marker_is_not_a_layout(cli: Cli, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    layout.mkdir()
    os.mkfifo(layout / "oci-layout")
    started(cli)
    code, _, err = cli("add", "--name", "image", "--value", str(layout))
    assert code == ExitCode.MATERIAL
    assert "is a directory, and not an OCI image layout" in error_line(err)
    assert_state_kept(cli)


def test_fifo_entry_inside_an_archive_is_skipped(cli: Cli, tmp_path: Path) -> None:
    # Archives are read in memory, never extracted: a FIFO member is not a regular entry and is skipped.
    report = b'<testsuite name="s"><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite>'
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("reports/pipe.xml")
        info.type = tarfile.FIFOTYPE
        tf.addfile(info)
        info = tarfile.TarInfo("reports/report.xml")
        info.size = len(report)
        tf.addfile(info, io.BytesIO(report))
    archive = tmp_path / "reports.tgz"
    archive.write_bytes(buf.getvalue())
    started(cli)
    code, _, err = cli("add", "--name", "tests", "--value", str(archive))
    assert code == 0, err
    assert materials(cli)["tests"]["type"] == "JUNIT_XML"


# --- contract, bundle, keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_contract_is_refused(cli: Cli, fifo: Path, special: str) -> None:
    path = str(fifo) if special == "fifo" else special
    what = "a FIFO" if special == "fifo" else "a character device"
    code, _, err = cli("init", "--contract", path)
    assert code == ExitCode.CONTRACT
    assert error_line(err) == f"Error: {path} is not a regular file ({what})"
    code, _, err = cli("status")  # nothing was started
    assert code == ExitCode.STATE


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_bundle_is_refused_by_verify(cli: Cli, fifo: Path, special: str) -> None:
    path = str(fifo) if special == "fifo" else special
    what = "a FIFO" if special == "fifo" else "a character device"
    code, _, err = cli("verify", path, "--key", str(cli.tmp / "k.pub"))
    assert code == ExitCode.BAD_SIGNATURE
    assert error_line(err) == f"Error: bundle {path} is not a regular file ({what})"


def test_special_signing_key_is_refused(cli: Cli, fifo: Path) -> None:
    started(cli)
    for key in (str(fifo), "/dev/zero"):
        code, _, err = cli("push", "--key", key)
        assert code == ExitCode.SIGNING
        assert error_line(err).startswith(f"Error: key file {key} is not a regular file (a ")
    assert_state_kept(cli)  # nothing was pushed: the attestation is still in progress


def test_special_verification_key_is_refused(cli: Cli, fifo: Path) -> None:
    started(cli)
    bundle = cli.tmp / "att.sigstore.json"
    assert cli("push", "--key", str(cli.tmp / "k.key"), "--bundle", str(bundle))[0] == 0
    code, _, err = cli("verify", str(bundle), "--key", str(fifo))
    assert code == ExitCode.SIGNING
    assert error_line(err) == f"Error: key file {fifo} is not a regular file (a FIFO)"
    code, _, err = cli("verify", str(bundle), "--key", str(cli.tmp / "k.pub"), "--material", str(fifo))
    assert code == ExitCode.USAGE
    assert error_line(err) == f"Error: material file {fifo} is not a regular file (a FIFO)"


def test_contract_material_refused_keeps_the_state(cli: Cli, fifo: Path) -> None:
    contract = cli.tmp / "contract.yaml"
    contract.write_text("schemaVersion: v1\nmaterials:\n  - name: sbom\n    type: SBOM_CYCLONEDX_JSON\n")
    assert cli("init", "--contract", str(contract))[0] == 0
    assert cli("add", "--kind", "STRING", "--name", "before", "--value", "kept")[0] == 0
    code, _, err = cli("add", "--name", "sbom", "--value", str(fifo))
    assert code == ExitCode.MATERIAL
    assert f"{fifo} is not a regular file (a FIFO)" in error_line(err)
    assert_state_kept(cli)
    assert cli("add", "--name", "sbom", "--value", str(SBOM))[0] == 0


# --- the GitHub event file ----------------------------------------------------------------------------------


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_github_event_file_is_a_warning(cli: Cli, fifo: Path, special: str) -> None:
    path = str(fifo) if special == "fifo" else special
    what = "a FIFO" if special == "fifo" else "a character device"
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": path}
    code, _, err = cli("init", "--workflow", "w", "--project", "p", env=env)
    assert code == 0, err
    assert f"GitHub event file {path} is not a regular file ({what})" in err
    assert cli("status")[0] == 0


# --- policies -----------------------------------------------------------------------------------------------


def test_special_policy_file_is_refused(cli: Cli, fifo: Path) -> None:
    code, _, err = cli("policy", "eval", "--policy", str(fifo), "--material", str(SBOM))
    assert code == ExitCode.POLICY
    assert error_line(err).endswith(f"{fifo} is not a regular file (a FIFO)")


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_policy_material_is_refused(cli: Cli, fifo: Path, special: str) -> None:
    path = str(fifo) if special == "fifo" else special
    policy = ROOT / "policies" / "sbom-min-components" / "policy.yaml"
    for kind_args in (("--kind", "SBOM_CYCLONEDX_JSON"), ("--kind", "ATTESTATION")):
        code, _, err = cli("policy", "eval", "--policy", str(policy), "--material", path, *kind_args)
        assert code in (ExitCode.MATERIAL, ExitCode.POLICY)
        assert "is not a regular file (a " in error_line(err)
