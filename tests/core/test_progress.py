"""Large files are hashed with progress reports: through the library callback and as a bar on a terminal."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from crafter import Crafter
from crafter._internal.cli import render
from crafter._internal.materials.fileio import CHUNK


def test_library_progress_callback_sees_every_chunk(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * CHUNK + 5))
    seen: list[tuple[str, int, int]] = []

    def progress(value: str) -> Callable[[int, int], None]:
        return lambda done, total: seen.append((value, done, total))

    c = Crafter(state_dir=tmp_path / "st", cwd=tmp_path, environ={})
    c.init(workflow="w", project="p")
    c.add([str(big)], kind="ARTIFACT", progress=progress)
    size = 3 * CHUNK + 5
    assert [done for _, done, _ in seen] == [CHUNK, 2 * CHUNK, 3 * CHUNK, size]
    assert {(v, t) for v, _, t in seen} == {(str(big), size)}


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal_and_only_for_large_files(monkeypatch: pytest.MonkeyPatch) -> None:
    term = FakeTerminal()
    monkeypatch.setattr(render.sys, "stderr", term)
    factory = render.progress_factory()
    assert factory is not None
    update = factory("dist/app.bin")
    update(10, 100)  # a small file: no bar
    assert term.getvalue() == ""
    total = render.PROGRESS_MIN_BYTES * 2
    update(total, total)
    assert "hashing app.bin" in term.getvalue() and "100%" in term.getvalue()
    assert term.getvalue().endswith("\n")
    monkeypatch.setattr(render.sys, "stderr", io.StringIO())  # not a terminal
    assert render.progress_factory() is None
