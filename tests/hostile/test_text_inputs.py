"""Bytes that are not UTF-8 where crafter records text, and a material too large for the memory there is:
a file with a legal but non-UTF-8 name is recorded in a lossless escaped form (the statement stays valid
UTF-8 JSON); a non-UTF-8 string value or annotation is refused; a MemoryError while crafting is exit 6."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from crafter._internal.crafter import escape_name
from crafter.errors import ExitCode
from tests.conftest import run_cli

RAW_NAME = os.fsdecode(b"f\xffa\\b.txt")  # a legal Linux file name: a byte that is not UTF-8, a backslash


@pytest.fixture
def attesting(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _, err = run_cli(capsys, "init", "--workflow", "release", "--project", "hello")
    assert code == 0, err
    return cli_env


def test_escape_form_is_lossless_and_leaves_utf8_alone() -> None:
    assert escape_name("sbom.cdx.json") == "sbom.cdx.json"
    assert escape_name("a\\b") == "a\\\\b"  # a backslash is doubled, so escapes read back unambiguously
    assert escape_name(RAW_NAME) == "f\\xffa\\\\b.txt"
    assert escape_name(os.fsdecode(b"\xff")) != escape_name(os.fsdecode(b"\\xff"))


def test_non_utf8_file_name_is_recorded_escaped_and_pushed(
    attesting: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = Path.cwd() / RAW_NAME
    path.write_bytes(b"release bytes\n")
    code, out, err = run_cli(capsys, "add", RAW_NAME, "-o", "json")
    assert code == 0, err
    (material,) = json.loads(out)
    assert material["name"] == "f\\xffa\\\\b.txt"
    bundle = attesting / "out.sigstore.json"
    code, _, err = run_cli(capsys, "push", "--key", str(attesting / "k.key"), "--bundle", str(bundle))
    assert code == 0, err
    code, out, err = run_cli(capsys, "verify", str(bundle), "--key", str(attesting / "k.pub"), "-o", "json")
    assert code == 0, err
    assert any(m["value"] == "f\\xffa\\\\b.txt" for m in json.loads(out)["materials"])


def test_non_utf8_value_and_annotation_are_refused(
    attesting: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    value = os.fsdecode(b"a\xffb")
    code, _, err = run_cli(capsys, "add", "--name", "s", "--value", value)
    assert code == ExitCode.MATERIAL and "is not UTF-8 text and names no file" in err
    code, _, err = run_cli(capsys, "add", "--name", "t", "--value", "x", "--annotation", f"k={value}")
    assert code == ExitCode.USAGE and "annotation 'k': its value is not UTF-8 text" in err
    code, out, _ = run_cli(capsys, "status", "-o", "json")
    assert code == 0 and json.loads(out)["materials"] == []


def test_memory_error_while_crafting_is_exit_6(attesting: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("RLIMIT_AS: Linux")
    sbom = attesting / "big.cdx.json"
    components = [{"type": "library", "name": f"c{i}", "version": "1.0"} for i in range(400_000)]
    # components before specVersion: they cannot be checked one at a time as they are read, so the whole
    # document is parsed into Python objects
    sbom.write_text(
        json.dumps({"bomFormat": "CycloneDX", "components": components, "specVersion": "1.5", "version": 1})
    )

    def cap() -> None:  # enough to start crafter (about 35 MB), not to parse a 22 MB SBOM (about 290 MB)
        resource.setrlimit(resource.RLIMIT_AS, (192 << 20, 192 << 20))

    code = "import sys; from crafter._internal.cli.main import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "add", "--name", "big", "--kind", "SBOM_CYCLONEDX_JSON", str(sbom)],
        preexec_fn=cap,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == ExitCode.MATERIAL, done.stderr
    assert f"Error: {sbom}: too large to process in the memory available" in done.stderr
    assert "Traceback" not in done.stderr
