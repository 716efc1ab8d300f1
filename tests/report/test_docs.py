"""docs/report.md: its Python example runs as written, in a scratch directory holding the demo files,
release.key/release.pub and hello-1.0.0.sigstore.json (the page's shell blocks run in
tests/docs/test_doc_blocks.py, from the same kind of directory); the screenshot it shows is there and small."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.report.conftest import ROOT, make_release

DOC = ROOT / "docs" / "report.md"


def test_python_example_runs(tmp_path: Path) -> None:
    [code] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    work = make_release(tmp_path / "scratch")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTHONPATH")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=work.work, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("True 0 [('signature', 'passed'), ('statement', 'passed'), ")
    assert (work.work / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_screenshot() -> None:
    assert "](report.png)" in DOC.read_text()
    data = (ROOT / "docs" / "report.png").read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) < 300_000
