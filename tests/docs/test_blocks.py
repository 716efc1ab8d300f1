"""The extractor of docs blocks (tests/docs/blocks.py): languages, indentation and run markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.blocks import MarkerError, parse

PAGE = Path("page.md")


def test_blocks_languages_lines_and_markers() -> None:
    text = (
        "# Title\n"
        "\n"
        "```sh\n"
        "crafter status\n"
        "```\n"
        "\n"
        "```text\n"
        "output\n"
        "```\n"
        "<!-- exit: 3 -->\n"
        "```bash\n"
        "crafter reset\n"
        "```\n"
        "<!-- not run: needs the internet -->\n"
        "<!-- needs: registry -->\n"
        "```sh\n"
        "crafter pull oci://x\n"
        "```\n"
        "1. a list\n"
        "\n"
        "   ```sh\n"
        "   echo indented\n"
        "     deeper\n"
        "   ```\n"
        "````\n"
        "```sh\n"
        "````\n"
    )
    blocks = parse(PAGE, text)
    assert [(b.line, b.language) for b in blocks] == [
        (3, "sh"),
        (7, "text"),
        (11, "bash"),
        (16, "sh"),
        (21, "sh"),
        (25, ""),
    ]
    first, output, reset, pull, indented, untagged = blocks
    assert first.text == "crafter status\n" and first.expected_exit == 0 and first.not_run is None
    assert not output.runnable
    assert reset.expected_exit == 3
    assert pull.not_run == "needs the internet" and pull.needs == frozenset({"registry"})
    assert indented.text == "echo indented\n  deeper\n"
    assert untagged.text == "```sh\n"


@pytest.mark.parametrize(
    ("markers", "message"),
    [
        ("<!-- not run: -->\n", "needs a value"),
        ("<!-- exit: two -->\n", "wants a number"),
        ("<!-- skip: because -->\n", "unknown marker"),
        ("<!-- needs: kubernetes -->\n", "unknown need"),
        ("<!-- exit: 1 -->\n<!-- exit: 2 -->\n", "given twice"),
    ],
)
def test_bad_markers_are_errors(markers: str, message: str) -> None:
    with pytest.raises(MarkerError, match=message):
        parse(PAGE, markers + "```sh\ntrue\n```\n")


def test_markers_on_a_block_never_run_are_errors() -> None:
    with pytest.raises(MarkerError, match="never run"):
        parse(PAGE, "<!-- exit: 1 -->\n```text\nError\n```\n")


def test_a_blank_line_detaches_a_marker() -> None:
    (block,) = parse(PAGE, "<!-- not run: reason -->\n\n```sh\ntrue\n```\n")
    assert block.not_run is None


def test_unclosed_fence_is_an_error() -> None:
    with pytest.raises(MarkerError, match="never closed"):
        parse(PAGE, "```sh\ntrue\n")
