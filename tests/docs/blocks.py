"""Fenced code blocks of the markdown pages under docs/, and the markers that say how the docs test runs them.

The convention (docs/design.md, "Documentation examples run"):

- every fence carries a language; command examples are ``sh`` (or ``bash``), their output ``text``;
  ``console`` (prompt and output mixed) is not used, nor are untagged fences;
- every ``sh``/``bash`` block runs, in page order, in one scratch directory per page, and must exit 0 unless
  HTML comments on the lines right before its fence say otherwise:
  ``<!-- exit: N -->`` (it must exit with N), ``<!-- not run: REASON -->`` (skipped, the reason reported),
  ``<!-- needs: registry -->`` (a local OCI registry is started; ``$REGISTRY`` is its ``127.0.0.1:PORT``),
  ``<!-- needs: opa -->`` (OPA's Python bindings, tests/requirements-opa.txt: without them the block is skipped
  and reported, except in CI, where it fails).
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

RUNNABLE = frozenset({"sh", "bash"})
#: Languages a fence may not carry: ``console`` mixes commands and output, which no test can run.
FORBIDDEN = frozenset({"", "console", "shell-session"})

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<key>[a-z][a-z ]*[a-z])\s*:\s*(?P<value>.*?)\s*-->\s*$")
_KNOWN_MARKERS = frozenset({"exit", "not run", "needs"})
_NEEDS = frozenset({"registry", "opa"})


class MarkerError(ValueError):
    """A marker comment that is malformed, unknown, or has no value."""


@attrs.frozen
class Block:
    path: Path  # the page
    line: int  # 1-based line of the opening fence
    language: str
    text: str  # the block's content, the fence's indentation removed
    expected_exit: int = 0
    not_run: str | None = None  # the reason, when the block is not run
    needs: frozenset[str] = frozenset()

    @property
    def runnable(self) -> bool:
        return self.language in RUNNABLE

    def where(self, root: Path | None = None) -> str:
        path = (
            self.path.relative_to(root) if root is not None and self.path.is_relative_to(root) else self.path
        )
        return f"{path}:{self.line}"


def _markers(lines: list[str], fence_index: int, where: str) -> dict[str, str]:
    """The ``<!-- key: value -->`` comments on the lines right before line ``fence_index`` (no blank between)."""
    found: dict[str, str] = {}
    i = fence_index - 1
    while i >= 0:
        m = _MARKER.match(lines[i])
        if m is None:
            break
        key, value = m.group("key"), m.group("value")
        if key not in _KNOWN_MARKERS:
            raise MarkerError(f"{where}: unknown marker {key!r} (known: {', '.join(sorted(_KNOWN_MARKERS))})")
        if not value:
            raise MarkerError(f"{where}: marker {key!r} needs a value")
        if key in found:
            raise MarkerError(f"{where}: marker {key!r} given twice")
        found[key] = value
        i -= 1
    return found


def parse(path: Path, text: str | None = None) -> list[Block]:
    """Every fenced block of the markdown page ``path`` (its text read unless given), in page order."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        indent, fence = m.group("indent"), m.group("fence")
        language = m.group("info").strip().split(" ")[0].lower() if m.group("info").strip() else ""
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            close = lines[i].strip()
            if close.startswith(fence[0] * len(fence)) and set(close) == {fence[0]}:
                break
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            i += 1
        else:
            raise MarkerError(f"{path}:{start + 1}: fence never closed")
        i += 1
        where = f"{path}:{start + 1}"
        markers = _markers(lines, start, where)
        expected = 0
        if "exit" in markers:
            if not markers["exit"].isdigit():
                raise MarkerError(f"{where}: exit marker wants a number, not {markers['exit']!r}")
            expected = int(markers["exit"])
        needs = frozenset(n.strip() for n in markers.get("needs", "").split(",") if n.strip())
        if needs - _NEEDS:
            raise MarkerError(f"{where}: unknown need(s) {sorted(needs - _NEEDS)} (known: {sorted(_NEEDS)})")
        if markers and language not in RUNNABLE:
            raise MarkerError(f"{where}: run markers on a {language or 'untagged'} block, which is never run")
        blocks.append(
            Block(
                path=path,
                line=start + 1,
                language=language,
                text="\n".join(body) + "\n",
                expected_exit=expected,
                not_run=markers.get("not run"),
                needs=needs,
            )
        )
    return blocks
