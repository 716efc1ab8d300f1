"""A hostile producer's strings stay text: rendered by GitHub's own Markdown renderer (cmark-gfm) and parsed
as HTML, no element, link, mention or table cell comes from a value, and every value is shown."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from crafter._internal.report.assets import SCRIPT
from crafter._internal.report.model import Report
from crafter._internal.report.text import md_code, visible
from crafter.report import render_html, render_markdown, report_bundle
from crafter.signing.keys import public_key_from_pem
from tests.report.conftest import HOSTILE, Release


def gfm(markdown: str) -> str:
    """Markdown as GitHub renders it (tables, autolinks, strikethrough, tag filter), raw HTML kept."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


class Elements(HTMLParser):
    """Every element, its attributes, the text inside ``<code>`` and all text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self.code: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            while self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in and self._in[-1] == "code":
            self.code.append(data)
        if self._in and self._in[-1] == "script":
            self.scripts.append(data)


def parse(document: str) -> Elements:
    parser = Elements()
    parser.feed(document)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def hostile_report(release: Release, hostile: Path) -> Report:
    report = report_bundle(str(hostile), public_key=public_key_from_pem(release.pub))
    assert report.verified, report.failure  # a validly signed statement: every value is attested
    return report


def test_markdown_of_hostile_values_is_inert(hostile_report: Report) -> None:
    markdown = render_markdown(hostile_report)
    rendered = parse(gfm(markdown))
    tags = {tag for tag, _ in rendered.tags}
    assert tags <= {
        "h1",
        "h2",
        "h3",
        "p",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "code",
        "br",
        "strong",
        "em",
        "ul",
        "li",
        "blockquote",
    }, tags
    assert not [a for _, attrs in rendered.tags for a in attrs if a[0] not in ("align",)]  # no href, src, on*
    code = "".join(rendered.code)
    for value in HOSTILE:
        assert visible(value, 10_000).replace("\\|", "\\\\|") in code or visible(value, 10_000) in code, value
    # every table row has as many cells as its header: no value split a cell or a row
    for table in gfm(markdown).split("<table>")[1:]:
        body = table.split("</table>")[0]
        header = len(re.findall(r"<th[ >]", body.split("</thead>")[0]))
        for row in body.split("</thead>")[1].split("<tr>")[1:]:
            assert len(re.findall(r"<td[ >]", row)) == header, row


def test_html_of_hostile_values_is_inert(hostile_report: Report) -> None:
    document = render_html(hostile_report)
    parsed = parse(document)
    tags = {tag for tag, _ in parsed.tags}
    assert tags <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "h2",
        "h3",
        "p",
        "code",
        "main",
        "section",
        "nav",
        "ul",
        "li",
        "a",
        "dl",
        "dt",
        "dd",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "span",
        "br",
        "div",
        "label",
        "input",
        "output",
        "footer",
        "script",
        "strong",
    }, tags
    assert [tag for tag, _ in parsed.tags].count("script") == 1 and parsed.scripts == [SCRIPT]
    assert not [
        a for _, attrs in parsed.tags for a in attrs if a[0].startswith("on") or a[0] in ("src", "style")
    ]
    assert {v for tag, attrs in parsed.tags if tag == "a" for k, v in attrs if k == "href"} <= {
        f"#{key}"
        for key in (
            "summary",
            "checks",
            "signer",
            "subjects",
            "policies",
            "materials",
            "replay",
            "workflow",
            "runner",
            "git",
            "annotations",
        )
    }
    text = "".join(parsed.text)
    for value in HOSTILE:
        assert visible(value, 10_000) in text, value
    assert "[U+202E]" in text and "[U+200B]" in text  # the bidi override and the zero-width space shown


def test_hidden_characters_are_shown() -> None:
    assert visible("a\u202eb\u200bc\x00d\ne", 100) == "a[U+202E]b[U+200B]c[U+0000]d↵e"
    assert visible("x" * 10, 4) == "xxxx … (6 more characters)"


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_text_is_one_table_cell_showing_itself(value: str) -> None:
    shown = visible(value, 1000)
    if not shown.strip() or "\\|" in shown:  # empty cells; a backslash before a pipe shows doubled
        return
    cell = md_code(value)
    rendered = gfm(f"| a | b |\n| --- | --- |\n| {cell} | x |\n")
    row = rendered.split("<tbody>")[1]
    assert len(re.findall(r"<td[ >]", row)) == 2
    code = row.split("<code>")[1].split("</code>")[0]
    assert html.unescape(code).strip() == shown.strip()
