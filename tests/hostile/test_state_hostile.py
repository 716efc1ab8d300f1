"""The state survives what a runner can throw at it: a full disk during ``add`` (a real tmpfs filled up,
in a private mount namespace), a ``current`` pointer that is not UTF-8; each is its documented exit code
with one line, and the attestation is intact afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crafter.errors import ExitCode
from tests.conftest import run_cli

FULL_DISK = textwrap.dedent(
    """
    set -u
    mount -t tmpfs -o size=256k tmpfs "$STATE" || exit 97
    crafter() { "$PYTHON" -c 'import sys; from crafter._internal.cli.main import main; sys.exit(main(sys.argv[1:]))' "$@"; }
    crafter init --workflow release --project hello >/dev/null || exit 98
    crafter add --name first --value one >/dev/null || exit 99
    dd if=/dev/zero of="$STATE/filler" bs=4k 2>/dev/null  # fills the disk, then fails: that is the point
    crafter add --name second --value two 2>"$WORK/add.err"
    echo $? >"$WORK/add.code"
    rm "$STATE/filler"
    crafter status -o json >"$WORK/status.json"
    """
)


def test_disk_full_during_add_keeps_the_state(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        if os.environ.get("CI"):
            pytest.fail("the full-disk test needs root and unshare in CI")
        pytest.skip("needs root and unshare to mount a small tmpfs in a private mount namespace")
    state, work = tmp_path / "state", tmp_path / "work"
    state.mkdir()
    work.mkdir()
    env = {**os.environ, "STATE": str(state), "WORK": str(work), "PYTHON": sys.executable}
    env["CRAFTER_STATE_DIR"] = str(state)
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", FULL_DISK],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == 97:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs in CI: {done.stderr}")
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    err = (work / "add.err").read_text()
    assert int((work / "add.code").read_text()) == ExitCode.STATE
    (line,) = [x for x in err.splitlines() if x.startswith("Error: ")]
    assert "cannot write the state: No space left on device" in line and "Traceback" not in err
    assert "the previous state is intact" in err
    status = json.loads((work / "status.json").read_text())
    assert [m["name"] for m in status["materials"]] == ["first"]  # nothing lost, nothing half-written


def test_current_pointer_not_utf8(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "init", "--workflow", "release", "--project", "hello")
    assert code == 0, err
    pointer = cli_env / "state" / "current"
    good = pointer.read_bytes()
    pointer.write_bytes(b"\xff\xfe not an id")
    code, _, err = run_cli(capsys, "add", "--name", "x", "--value", "y")
    assert code == ExitCode.STATE
    assert f"Error: {pointer}: not an attestation id (not UTF-8 text)" in err
    pointer.write_bytes(good)
    code, _, err = run_cli(capsys, "add", "--name", "x", "--value", "y")
    assert code == 0, err
