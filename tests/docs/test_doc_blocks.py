"""Every shell block of docs/ runs, as a reader would copy it (the convention: tests/docs/blocks.py).

One test per page: its ``sh``/``bash`` blocks run in page order with ``bash -euo pipefail``, each in its own
shell (files carry over from block to block, shell variables do not), in one scratch directory holding a copy
of the kit (tests/docs/conftest.py). A block must exit 0, or the code its ``<!-- exit: N -->`` marker gives;
``<!-- not run: REASON -->`` blocks are skipped and listed at the end of the session ("docs blocks not run").
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.docs.blocks import FORBIDDEN, Block, MarkerError, parse
from tests.docs.conftest import NOT_RUN, page_env

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
OPA_INSTALL = "pip install --ignore-requires-python -r tests/requirements-opa.txt"
BLOCK_TIMEOUT = 90  # seconds; a block that hangs fails instead of stalling the suite


def _show(block: Block, text: str) -> str:
    numbered = "\n".join(f"{block.line + 1 + i:5d}  {line}" for i, line in enumerate(block.text.splitlines()))
    return f"{block.where(ROOT)}: {text}\n{numbered}"


def test_pages_found() -> None:
    assert len(PAGES) >= 20, PAGES
    runnable = [b for page in PAGES for b in parse(page) if b.runnable]
    assert len(runnable) >= 30, "fewer shell blocks than the docs had when this test was written"


def test_blocks_run_in_the_kit_and_a_wrong_exit_code_fails(
    kit: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The kit holds the demo files, the key pair and the bundle, with no attestation in progress (status: 3);
    files carry over from block to block; an exit code other than the marker's fails, showing the block."""
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\n"
        "ls contract.yaml sbom.cdx.json junit.xml hello-1.0.0.py release.key release.pub\n"
        "crafter verify hello-1.0.0.sigstore.json --key release.pub --material hello-1.0.0.py > /dev/null\n"
        'test "$HOME" = "$PWD/.home" && test "$CRAFTER_KEY_PASSWORD" = demo-password\n'
        "echo written > carried.txt\n"
        "```\n"
        "<!-- exit: 3 -->\n"
        "```sh\n"
        "test -f carried.txt && crafter status\n"
        "```\n"
        "<!-- exit: 3 -->\n"
        "```sh\n"
        "echo to-stdout; echo to-stderr >&2; exit 4\n"
        "```\n"
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        _run_blocks(parse(page), kit, tmp_path / "run", request)
    message = str(failed.value)
    assert f"{page}:12: exited 4, expected 3" in message
    assert "to-stdout" in message and "to-stderr" in message
    assert "   13  echo to-stdout; echo to-stderr >&2; exit 4" in message


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_blocks(page: Path, kit: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    try:
        blocks = parse(page)
    except MarkerError as exc:
        pytest.fail(str(exc))
    untagged = [b for b in blocks if b.language in FORBIDDEN]
    _run_blocks([b for b in blocks if b.runnable], kit, tmp_path, request)
    assert not untagged, (
        "every fence in docs/ names its language (sh for commands, text for output): "
        + ", ".join(f"{b.where(ROOT)} ({b.language or 'untagged'})" for b in untagged)
    )


def _run_blocks(runnable: list[Block], kit: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Run a page's shell blocks in order in a copy of the kit; fail at the first unexpected exit code."""
    if not runnable:
        return
    work = tmp_path / "page"
    shutil.copytree(kit, work)
    extra: dict[str, str] = {}
    no_registry = ""
    if any("registry" in b.needs and b.not_run is None for b in runnable):
        try:
            extra["REGISTRY"] = request.getfixturevalue("docs_registry")
        except pytest.skip.Exception as exc:  # no docker-registry here (in CI the fixture fails instead)
            no_registry = str(exc)
    env = page_env(work, extra)
    skipped: list[str] = []
    for block in runnable:
        if block.not_run is not None:
            skipped.append(f"{block.where(ROOT)}: not run: {block.not_run}")
            continue
        if "registry" in block.needs and no_registry:
            skipped.append(f"{block.where(ROOT)}: not run: {no_registry}")
            continue
        if "opa" in block.needs and importlib.util.find_spec("opa_bindings") is None:
            reason = f"{block.where(ROOT)}: not run: OPA's Python bindings are not installed ({OPA_INSTALL})"
            if os.environ.get("CI"):
                pytest.fail(reason)
            skipped.append(reason)
            continue
        started = time.monotonic()
        try:
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block.text],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(
                _show(
                    block,
                    f"still running after {BLOCK_TIMEOUT} s\nstdout:\n{exc.stdout}\nstderr:\n{exc.stderr}",
                )
            )
        took = time.monotonic() - started
        if done.returncode != block.expected_exit:
            pytest.fail(
                _show(
                    block,
                    f"exited {done.returncode}, expected {block.expected_exit} ({took:.1f} s)"
                    f"\n--- stdout:\n{done.stdout}--- stderr:\n{done.stderr}--- block:",
                ),
                pytrace=False,
            )
    NOT_RUN.extend(skipped)
    for line in skipped:
        print(line)
