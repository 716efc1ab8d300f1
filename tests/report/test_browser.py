"""The HTML report in a real browser (headless Chromium through chromedriver): what it shows, that it sends
no request, axe-core finds no accessibility violation (light and dark), no horizontal scroll at 375 px, dark
mode follows the system, it prints on A4 with its text, the filter works, and hostile values stay text."""

from __future__ import annotations

import base64
import io
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crafter.report import render_html, report_bundle
from crafter.signing.keys import public_key_from_pem
from tests.report import browser
from tests.report.conftest import Release


@pytest.fixture(scope="module")
def pages(release: Release, hostile: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """HTML reports: the demo verified, with a material that does not match, and the hostile bundle."""
    out = tmp_path_factory.mktemp("pages")
    key = public_key_from_pem(release.pub)
    wrong = out / "hello-1.0.0.py"
    wrong.write_text("print('another build')\n")
    many = release.resign("many.sigstore.json", with_materials(450))
    reports = {
        "many": report_bundle(str(many), public_key=key),
        "verified": report_bundle(str(release.bundle), public_key=key),
        "failed": report_bundle(str(release.bundle), public_key=key, materials=[wrong]),
        "hostile": report_bundle(str(hostile), public_key=key),
    }
    paths = {}
    for name, report in reports.items():
        paths[name] = out / f"{name}.html"
        paths[name].write_text(render_html(report))
    return paths


def with_materials(count: int) -> Callable[[dict[str, Any]], None]:
    """An edit giving the statement ``count`` materials: ``material-00000``, ... (team ``team-<i % 7>``)."""

    def edit(statement: dict[str, Any]) -> None:
        statement["predicate"]["materials"] = [
            {
                "name": f"component-{i:05d}.tar.gz",
                "digest": {"sha256": f"{i:064x}"},
                "annotations": {
                    "chainloop.material.name": f"material-{i:05d}",
                    "chainloop.material.type": "ARTIFACT",
                    "team": f"team-{i % 7}",
                },
            }
            for i in range(count)
        ]

    return edit


@pytest.fixture
def page(chrome: Any, pages: dict[str, Path]) -> Iterator[Any]:
    """``page(name)`` opens that report; the media and viewport emulations are reset afterwards."""

    def open_page(name: str) -> Any:
        browser.requests(chrome)  # drain what came before
        chrome.get(pages[name].as_uri())
        return chrome

    yield open_page
    chrome.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})
    chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def js(driver: Any, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def shown(driver: Any, selector: str) -> list[str]:
    """The rendered text (``innerText``) of the elements ``selector`` matches, each scrolled into view first
    as a reader would (long tables are rendered only near the viewport)."""
    return driver.execute_async_script(  # type: ignore[no-any-return]
        "const [selector, done] = arguments; const out = [];"
        "const next = (els, i) => { if (i === els.length) { done(out); return; }"
        "  els[i].scrollIntoView(); requestAnimationFrame(() => requestAnimationFrame(() => {"
        "    out.push(els[i].innerText); next(els, i + 1); })); };"
        "next([...document.querySelectorAll(selector)], 0);",
        selector,
    )


def test_shows_status_checks_and_materials(page: Any, pages: dict[str, Path], tmp_path: Path) -> None:
    d = page("verified")
    assert js(d, "return document.querySelector('h1').innerText") == "Attestation report: verified"
    assert js(d, "return document.querySelector('.banner').innerText").startswith("Verified")
    checks = shown(d, "#checks-rows tbody tr")
    assert [c.split("\t")[:2] for c in checks] == [
        ["signature", "passed"],
        ["statement", "passed"],
        ["materials", "not run"],
        ["contract", "not run"],
        ["replay", "not run"],
    ]
    names = shown(d, "#materials-rows tbody tr td:first-child")
    assert names == ["build-ref", "release-file", "sbom", "tests"]
    assert "cyclonedx-banned-licenses" in shown(d, "#policies")[0]
    assert browser.requests(d) == [pages["verified"].as_uri()]  # the page itself, nothing else
    d.save_screenshot(str(tmp_path / "verified.png"))
    assert (tmp_path / "verified.png").stat().st_size > 10_000


def test_failure_comes_first(page: Any) -> None:
    d = page("failed")
    first = js(d, "return document.querySelector('main').firstElementChild")
    assert first.get_attribute("role") == "alert"
    assert first.text.startswith("Verification FAILED (exit 12)")
    assert "hello-1.0.0.py" in first.text
    assert d.title.startswith("FAILED: ")


def test_filter(page: Any) -> None:
    d = page("verified")
    box = d.find_element("id", "materials-filter")
    assert box.is_displayed()  # the script ran: the CSP admits it by its hash
    box.send_keys("sbom")
    visible = js(
        d,
        "return new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done("
        "[...document.querySelectorAll('#materials-rows tbody tr')].filter(r => !r.hidden)"
        ".map(r => r.cells[0].textContent)))))",
    )
    assert visible == ["sbom"]
    assert d.find_element("id", "materials-count").text == "1 of 4 shown"
    assert browser.requests(d) == [d.current_url]  # loading the page, then nothing


def test_filter_across_a_long_list(page: Any) -> None:
    d = page("many")
    chunks = js(d, "return document.querySelectorAll('#materials-rows .chunk').length")
    assert chunks == 3  # 200 rows each
    assert d.find_element("id", "materials-count").text == "450 in all"
    d.find_element("id", "materials-filter").send_keys("material-004 team-3")
    state = js(
        d,
        "return new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(["
        "[...document.querySelectorAll('#materials-rows tbody tr')].filter(r => !r.hidden).map(r => r.cells[0].textContent),"
        "[...document.querySelectorAll('#materials-rows .chunk')].map(c => c.hidden)]))))",
    )
    expected = [f"material-{i:05d}" for i in range(400, 450) if i % 7 == 3]
    assert state == [expected, [True, True, False]]
    assert d.find_element("id", "materials-count").text == f"{len(expected)} of 450 shown"
    assert shown(d, "#materials-rows tbody tr:not([hidden]) td:first-child") == expected


def test_hostile_values_stay_text(page: Any) -> None:
    d = page("hostile")
    assert js(d, "return document.scripts.length") == 1
    assert js(d, "return document.images.length") == 0
    assert js(d, "return document.querySelectorAll('a:not([href^=\"#\"])').length") == 0
    [cell] = shown(d, "#materials-rows tbody tr:nth-child(2) td:nth-child(3)")
    assert cell == "<script>alert(1)</script>a | b || c"
    assert browser.requests(d) == [d.current_url]


@pytest.mark.parametrize("name", ["verified", "failed", "hostile", "many"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation(page: Any, axe_source: str, name: str, scheme: str) -> None:
    d = page(name)
    d.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
    )
    d.execute_script(axe_source)
    result = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map("
        "v => v.id + ': ' + v.help + ' ' + v.nodes.map(n => n.target.join(' ')).join(', '))));"
    )
    assert result == []


@pytest.mark.parametrize("name", ["verified", "failed", "hostile", "many"])
def test_no_horizontal_scroll_at_375px(page: Any, name: str) -> None:
    d = page(name)
    browser.set_viewport(d, 375, 800)
    d.refresh()
    width = js(d, "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[1] == 375
    assert width[0] <= width[1], width


def test_dark_mode_follows_the_system(page: Any) -> None:
    d = page("verified")
    colours = {}
    for scheme in ("light", "dark"):
        d.execute_cdp_cmd(
            "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
        )
        colours[scheme] = js(
            d, "const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]"
        )
    assert colours["light"] == ["rgb(255, 255, 255)", "rgb(27, 31, 36)"]
    assert colours["dark"] == ["rgb(13, 17, 23)", "rgb(230, 237, 243)"]


def test_prints_on_a4(page: Any, release: Release, tmp_path: Path) -> None:
    from pypdf import PdfReader

    release_texts = [m["digest"]["sha256"] for m in release.statement()["predicate"]["materials"]]
    d = page("failed")
    pdf = base64.b64decode(
        d.execute_cdp_cmd(
            "Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True}
        )["data"]
    )
    (tmp_path / "report.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)
    text = unicodedata.normalize("NFKC", " ".join(p.extract_text() for p in reader.pages))  # ligatures
    assert "Verification FAILED (exit 12)" in text
    assert "Filter materials" not in text  # the search box is not printed
    for words in ("Runner and CI", "Policies", "Subjects", "Materials (4)"):
        assert words in text, words
    joined = "".join(text.split())  # long values wrap inside their cells
    for value in (
        *release_texts,
        "cyclonedx-banned-licenses",
        "demo-build-42",
        "SBOM_CYCLONEDX_JSON",
        "JUNIT_XML",
    ):
        assert value in joined, value
