"""Tables of attestations with many materials: the first rows, then a count of the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crafter._internal.cli.render import MAX_ROWS
from tests.conftest import run_cli

COUNT = MAX_ROWS + 25


def _add_files(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = cli_env / "work" / "f"
    files.mkdir()
    for i in range(COUNT):
        (files / f"file-{i:04d}.txt").write_text(f"line {i}\n")
    assert run_cli(capsys, "init", "--workflow", "many")[0] == 0
    code, _, err = run_cli(capsys, "add", "--kind", "ARTIFACT", "f/*.txt")
    assert code == 0, err


def test_status_table_is_cut_with_a_count(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _add_files(cli_env, capsys)
    code, out, _ = run_cli(capsys, "status")
    assert code == 0
    assert f"Materials: {COUNT} set; complete" in out
    assert out.index("Materials:") < out.index("file-0000-txt")  # the summary comes before the rows
    assert f"file-{MAX_ROWS - 1:04d}-txt" in out
    assert f"file-{MAX_ROWS:04d}-txt" not in out
    assert "... and 25 more (use -o json or --full to list them all)" in out


def test_status_full_and_json_list_every_material(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _add_files(cli_env, capsys)
    code, out, _ = run_cli(capsys, "status", "--full")
    assert code == 0
    assert all(f"file-{i:04d}-txt" in out for i in range(COUNT))
    assert "more (use" not in out
    code, out, _ = run_cli(capsys, "status", "-o", "json")
    assert code == 0 and len(json.loads(out)["materials"]) == COUNT


def test_a_short_table_has_no_count(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "init", "--workflow", "few")[0] == 0
    assert run_cli(capsys, "add", "--kind", "STRING", "--name", "one", "--value", "x")[0] == 0
    code, out, _ = run_cli(capsys, "status")
    assert code == 0 and "Materials: 1 set; complete" in out and "more (use" not in out


def test_verify_table_is_cut_with_a_count(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _add_files(cli_env, capsys)
    bundle = cli_env / "b.sigstore.json"
    code, _, err = run_cli(capsys, "push", "--key", str(cli_env / "k.key"), "--bundle", str(bundle))
    assert code == 0, err
    code, out, err = run_cli(capsys, "verify", "--key", str(cli_env / "k.pub"), str(bundle))
    assert code == 0, err
    assert "... and 25 more (use -o json to list them all)" in out
    code, out, _ = run_cli(capsys, "verify", "--key", str(cli_env / "k.pub"), "-o", "json", str(bundle))
    assert code == 0 and len(json.loads(out)["materials"]) == COUNT
