"""Files that change while crafter reads them are refused, never recorded with a digest of no version of them.

A writer changes the file after crafter has read its first block and before it reads the rest: the read waits
for the writer (a hook on :class:`crafter._internal.files.RegularFile`'s reads, and a small block size), so each case
fails the same way every time. Appends, same-size overwrites and a file renamed over the path are all seen;
the error names the file in one line, exit code 6 for a material, and the state keeps what it held.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from crafter._internal.files import RegularFile
from crafter._internal.materials import fileio
from crafter.errors import ExitCode
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
SBOM = ROOT / "policies" / "sbom-min-components" / "tests" / "sbom-3.cdx.json"
BLOCK = 64 << 10  # the block size the hashing loop uses in these tests (many blocks per file)
PAST = (1_000_000_000, 1_000_000_000)  # atime, mtime in s: a same-size overwrite always moves the mtime

Change = Callable[[Path], None]
Arrange = Callable[[Path, Change], threading.Event]


def append(path: Path) -> None:
    with path.open("ab") as fh:
        fh.write(b"\n" * 4096)


def overwrite_same_size(path: Path) -> None:
    """Rewrite the first bytes in place: same size, same inode, only the content (and mtime) differ."""
    with path.open("r+b") as fh:
        first = fh.read(1)
        fh.seek(0)
        fh.write(b" " if first != b" " else b"\t")


def replace_by_rename(path: Path) -> None:
    """What atomic writers do: a new file with the same bytes renamed over the path (another inode)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(path.read_bytes())
    os.utime(tmp, PAST)
    os.replace(tmp, path)


@pytest.fixture
def during_read(monkeypatch: pytest.MonkeyPatch) -> Arrange:
    """``arrange(path, change)``: once crafter has read the first block of ``path``, ``change(path)`` runs in
    a writer thread and the read waits for it to finish. Returns an event set when the change has run."""
    monkeypatch.setattr(fileio, "CHUNK", BLOCK)
    targets: dict[str, tuple[Change, threading.Event]] = {}
    real_read, real_readinto = RegularFile.read, RegularFile.readinto

    def after_block(fh: RegularFile) -> None:
        found = targets.get(os.fspath(fh.path))
        if found is None or found[1].is_set():
            return
        change, done = found
        writer = threading.Thread(target=change, args=(Path(fh.path),))
        writer.start()
        writer.join(timeout=30)
        done.set()

    def read(self: RegularFile, size: int) -> bytes:
        data = real_read(self, min(size, BLOCK))
        after_block(self)
        return data

    def readinto(self: RegularFile, buffer: bytearray | memoryview) -> int:
        n = real_readinto(self, buffer)
        after_block(self)
        return n

    monkeypatch.setattr(RegularFile, "read", read)
    monkeypatch.setattr(RegularFile, "readinto", readinto)

    def arrange(path: Path, change: Change) -> threading.Event:
        done = threading.Event()
        targets[str(path)] = (change, done)
        return done

    return arrange


def big_file(path: Path, size: int = 1 << 20) -> Path:
    path.write_bytes(os.urandom(size))
    os.utime(path, PAST)
    return path


def junit_file(path: Path, cases: int = 5000) -> Path:
    body = "".join(f'<testcase name="t{i}" classname="c"/>' for i in range(cases))
    path.write_text(f'<testsuites><testsuite name="s">{body}</testsuite></testsuites>\n')
    os.utime(path, PAST)
    return path


def sbom_file(path: Path) -> Path:
    # The shipped SBOM, padded with whitespace so that it spans many blocks.
    path.write_bytes(SBOM.read_bytes().rstrip() + b" " * (4 * BLOCK) + b"\n")
    os.utime(path, PAST)
    return path


def start(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "init", "--workflow", "w", "--project", "p")[0] == 0
    assert run_cli(capsys, "add", "--kind", "STRING", "--name", "before", "--value", "kept")[0] == 0


def recorded(capsys: pytest.CaptureFixture[str]) -> set[str]:
    code, out, err = run_cli(capsys, "status", "-o", "json")
    assert code == 0, err
    return {m["name"] for m in json.loads(out)["materials"] if m["set"]}


def assert_refused(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> None:
    code, _, err = run_cli(capsys, "add", *args, "--name", "changing", "--value", str(path))
    assert code == ExitCode.MATERIAL, err
    assert err.splitlines()[0] == f"Error: {path} changed while it was read; add it again"
    assert recorded(capsys) == {"before"}  # the state is valid and holds what it held


# --- refused ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change", [append, overwrite_same_size, replace_by_rename], ids=["append", "overwrite", "rename"]
)
def test_artifact_changed_while_hashed(
    cli_env: Path, capsys: pytest.CaptureFixture[str], during_read: Arrange, change: Change
) -> None:
    path = big_file(cli_env / "app.bin")
    start(capsys)
    changed = during_read(path, change)
    assert_refused(capsys, path, "--kind", "ARTIFACT")
    assert changed.is_set()


@pytest.mark.parametrize("change", [append, overwrite_same_size], ids=["append", "overwrite"])
@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (sbom_file, "SBOM_CYCLONEDX_JSON"),  # read into memory, then parsed
        (junit_file, "JUNIT_XML"),  # parsed as it is read
        (sbom_file, "EVIDENCE"),
        (sbom_file, None),  # auto-detected: the change stops detection, nothing falls back to ARTIFACT
        (junit_file, None),
    ],
    ids=["cyclonedx", "junit", "evidence", "detected-json", "detected-xml"],
)
def test_structured_material_changed_while_read(
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    during_read: Arrange,
    make: Callable[[Path], Path],
    kind: str | None,
    change: Change,
) -> None:
    path = make(cli_env / ("report.xml" if make is junit_file else "sbom.cdx.json"))
    start(capsys)
    changed = during_read(path, change)
    assert_refused(capsys, path, *(["--kind", kind] if kind else []))
    assert changed.is_set()


def test_contract_and_key_changed_while_read(
    cli_env: Path, capsys: pytest.CaptureFixture[str], during_read: Arrange
) -> None:
    contract = cli_env / "contract.yaml"
    contract.write_text("schemaVersion: v1\n" + "# padding\n" * (2 * BLOCK // 10))
    os.utime(contract, PAST)
    during_read(contract, append)
    code, _, err = run_cli(capsys, "init", "--contract", str(contract))
    assert code == ExitCode.CONTRACT
    assert err.splitlines()[0] == f"Error: {contract} changed while it was read"

    start(capsys)
    key = cli_env / "k.key"
    key.write_bytes(key.read_bytes() + b"\n" * (2 * BLOCK))  # trailing blank lines: still a valid PEM file
    os.utime(key, PAST)
    during_read(key, append)
    code, _, err = run_cli(capsys, "push", "--key", str(key))
    assert code == ExitCode.SIGNING
    assert err.splitlines()[0] == f"Error: key file {key} changed while it was read"
    assert recorded(capsys) == {"before"}  # not pushed: still in progress


def test_writer_process_appending_while_crafter_add_hashes(cli_env: Path) -> None:
    """crafter add in its own process; another process appends to the file once crafter has hashed the first
    block (the child's read waits on a pipe until the writer is done)."""
    path = big_file(cli_env / "big.bin", 8 << 20)
    child = f"""
import os, sys
from crafter._internal.files import RegularFile
from crafter._internal.materials import fileio
fileio.CHUNK = {BLOCK}
real = RegularFile.readinto
state = {{"waited": False}}
def readinto(self, buffer):
    n = real(self, buffer)
    if not state["waited"] and os.fspath(self.path) == {str(path)!r}:
        state["waited"] = True
        os.write(int(sys.argv[1]), b"r")  # first block read: the writer may go
        os.read(int(sys.argv[2]), 1)  # ...and has written
    return n
RegularFile.readinto = readinto
from crafter._internal.cli.main import main
sys.exit(main(sys.argv[3:]))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from crafter._internal.cli.main import main; sys.exit(main(sys.argv[1:]))",
            "init",
            "--workflow",
            "w",
            "--project",
            "p",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            child,
            str(ready_w),
            str(go_r),
            "add",
            "--kind",
            "ARTIFACT",
            "--value",
            str(path),
        ],
        env=env,
        pass_fds=(ready_w, go_r),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(ready_w)
    os.close(go_r)
    try:
        assert os.read(ready_r, 1) == b"r"
        writer = [sys.executable, "-c", f"open({str(path)!r}, 'ab').write(b'appended' * 1024)"]
        subprocess.run(writer, check=True, timeout=60)
        os.write(go_w, b"g")
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(ready_r)
        os.close(go_w)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == ExitCode.MATERIAL, err
    assert err.splitlines()[0] == f"Error: {path} changed while it was read; add it again"


# --- and not refused when nothing changes -------------------------------------------------------------------


def test_unchanged_files_are_recorded_through_the_same_hook(
    cli_env: Path, capsys: pytest.CaptureFixture[str], during_read: Arrange
) -> None:
    """The same reads, the writer doing nothing: recorded, with the digest of the file's bytes."""
    import hashlib

    start(capsys)
    paths = [
        big_file(cli_env / "app.bin"),
        junit_file(cli_env / "report.xml"),
        sbom_file(cli_env / "s.cdx.json"),
    ]
    ran = [during_read(p, lambda _p: None) for p in paths]
    for path in paths:
        code, _, err = run_cli(capsys, "add", "--name", path.stem.replace(".", "-"), "--value", str(path))
        assert code == 0, err
    assert all(event.is_set() for event in ran)
    code, out, _ = run_cli(capsys, "status", "-o", "json")
    digests = {m["name"]: m.get("digest") for m in json.loads(out)["materials"]}
    assert digests["app"] == "sha256:" + hashlib.sha256(paths[0].read_bytes()).hexdigest()
