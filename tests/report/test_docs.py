"""docs/report.md runs as written: each ```sh block (bash, ``-eo pipefail``) and each ```python block in a
scratch directory holding the demo files, release.key/release.pub (CRAFTER_KEY_PASSWORD=demo-password) and
hello-1.0.0.sigstore.json, the demo attestation signed with release.key. A block preceded by
``<!-- not run: REASON -->`` is skipped; ``<!-- exit: N -->`` expects that exit code. The screenshot the page
shows is there and small."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.report.conftest import PASSWORD, ROOT, make_release

DOC = ROOT / "docs" / "report.md"
BLOCK = re.compile(r"(?:<!-- (?P<marker>[^>]*) -->\n)?```(?P<lang>sh|python)\n(?P<code>.*?)```", re.S)


def blocks() -> list[tuple[str, str, str]]:
    return [(m["lang"], m["code"], m["marker"] or "") for m in BLOCK.finditer(DOC.read_text())]


def test_the_document_has_runnable_blocks() -> None:
    langs = [lang for lang, _, marker in blocks() if not marker.startswith("not run:")]
    assert langs.count("sh") >= 2 and langs.count("python") == 1


@pytest.mark.parametrize("index", range(len(blocks())))
def test_block_runs(index: int, tmp_path: Path) -> None:
    lang, code, marker = blocks()[index]
    if marker.startswith("not run:"):
        pytest.skip(marker)
    expected = int(marker.removeprefix("exit:").strip()) if marker.startswith("exit:") else 0
    work = make_release(tmp_path / "scratch")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CRAFTER_KEY_PASSWORD": PASSWORD,
    }
    cmd = ["bash", "-eo", "pipefail", "-c", code] if lang == "sh" else [sys.executable, "-c", code]
    done = subprocess.run(cmd, cwd=work.work, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == expected, done.stdout + done.stderr
    if expected:
        assert "Report written to" in done.stderr  # written although verification failed


def test_screenshot() -> None:
    png = ROOT / "docs" / "report.png"
    assert "](report.png)" in DOC.read_text()
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) < 300_000
