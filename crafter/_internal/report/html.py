"""The report as one self-contained HTML page: inline style and script, a strict Content-Security-Policy, no
request of any kind (:mod:`crafter._internal.report.assets`). Readable on a phone (tables become cards under 40rem),
printable on A4, light or dark as the reader's system prefers.

Every value from the bundle goes through :func:`crafter._internal.report.text.html_text`; attribute values and ids are
this module's own words only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crafter._internal.report.assets import CSP, SCRIPT, STYLE
from crafter._internal.report.model import Evaluation, Field, Material, Report
from crafter._internal.report.text import html_text as t

#: The tables: their columns, and which columns show values in monospace (cells stay plain text: a
#: 10,000-material table opens faster without an element per value). Narrow screens show each row as a card
#: whose cells are labelled with these column names (:func:`_table_style`).
_TABLES: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "checks": (("check", "result", "detail"), ()),
    "subjects": (("name", "digest"), (1, 2)),
    "replay": (("policy", "material", "result", "detail"), (1, 2)),
    "env": (("variable", "value"), (1, 2)),
    "policies": (("policy", "material", "result", "gate", "violations, skip reasons"), (2,)),
    "materials": (("name", "kind", "value", "digest", "size", "annotations"), (1, 3, 4, 6)),
}
#: Rows per table of a long list (see :func:`_table`).
CHUNK_ROWS = 200
#: Column widths of the materials table (fixed layout: the browser need not measure 10,000 rows first).
_MATERIAL_WIDTHS = ("14%", "13%", "14%", "27%", "7%", "25%")

_SECTIONS = (
    ("summary", "Summary"),
    ("checks", "Verification"),
    ("signer", "Signer"),
    ("subjects", "Subjects"),
    ("policies", "Policies"),
    ("materials", "Materials"),
    ("replay", "Replay"),
    ("workflow", "Workflow"),
    ("runner", "Runner and CI"),
    ("git", "Git"),
    ("annotations", "Annotations"),
)


def render_html(report: Report) -> str:
    """``report`` as a complete HTML document."""
    r = report
    body: list[str] = []
    body += _banners(r)
    sections: dict[str, list[str]] = {
        "summary": _summary(r),
        "checks": _checks(r),
        "signer": _dl(r.signer) + (["<h3>Times</h3>", *_dl(r.times)] if r.times else []),
        "subjects": _table("subjects", ([t(s.name), t(s.digest)] for s in r.subjects)),
        "replay": _table(
            "replay",
            (
                [t(x.policy), t(x.material or "(attestation)"), _status(x.status), t(x.detail)]
                for x in r.replay
            ),
        ),
    }
    cl = r.chainloop
    if cl is not None:
        sections["policies"] = _policies(r)
        sections["materials"] = _materials(cl.materials)
        sections["workflow"] = _dl(cl.workflow)
        sections["runner"] = _dl(cl.runner) + (
            [
                "<h3>Environment</h3>",
                *_table("env", ([t(k), t(v)] for k, v in cl.env)),
            ]
            if cl.env
            else []
        )
        sections["git"] = _dl(cl.git)
        sections["annotations"] = _dl(cl.annotations)
    present = [(key, title) for key, title in _SECTIONS if sections.get(key)]
    body.append('<nav aria-label="Sections"><ul>')
    body += [f'<li><a href="#{key}">{title}</a></li>' for key, title in present]
    body.append("</ul></nav>")
    for key, title in present:
        heading = f"Materials ({len(cl.materials)})" if key == "materials" and cl is not None else title
        body.append(f'<section id="{key}" aria-labelledby="{key}-h"><h2 id="{key}-h">{heading}</h2>')
        body += sections[key]
        body.append("</section>")
    headline = "verified" if r.verified else "FAILED"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="color-scheme" content="light dark">',
            f"<title>{headline}: attestation report of {t(_basename(r.bundle), 200)}</title>",
            f"<style>{STYLE}{_table_style()}</style>",
            "</head>",
            "<body>",
            "<header>",
            f"<h1>Attestation report: {headline}</h1>",
            f'<p class="muted">Bundle <code>{t(r.bundle)}</code></p>',
            "</header>",
            "<main>",
            *body,
            "</main>",
            f"<footer><p>Generated {t(r.generated_at)} by {t(r.tool)}: the verification status above is as of "
            "then. Every value from the bundle is shown as text, never interpreted.</p></footer>",
            f"<script>{SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _banners(r: Report) -> list[str]:
    out = []
    if r.verified:
        out.append(
            '<section class="banner ok" aria-labelledby="status-h"><h2 id="status-h">Verified</h2>'
            f"<p>Every check below passed{' (checks not run are listed)' if _not_run(r) else ''}.</p></section>"
        )
    else:
        hint = f"<p>Hint: {t(r.hint)}</p>" if r.hint else ""
        out.append(
            '<section class="banner failed" role="alert" aria-labelledby="status-h">'
            f'<h2 id="status-h">Verification FAILED (exit {r.exit_code})</h2><p>{t(r.failure)}</p>{hint}</section>'
        )
    if not r.attested:
        out.append(
            '<section class="banner claim" aria-label="Not attested"><p><strong>Not attested.</strong> '
            "Verification stopped before the signature was accepted: what follows is what the bundle claims, "
            "with no proof of who wrote it."
            "</p></section>"
        )
    return out


def _not_run(r: Report) -> bool:
    return any(c.status == "not run" for c in r.checks)


def _summary(r: Report) -> list[str]:
    fields: list[Field] = [
        ("bundle", r.bundle),
        ("format", r.kind),
        ("predicate type", r.predicate_type),
        ("statement digest", r.payload_digest),
        ("report generated", f"{r.generated_at} by {r.tool}"),
    ]
    return _dl([f for f in fields if f[1]])


def _checks(r: Report) -> list[str]:
    out = _table("checks", ([t(c.name), _status(c.status), t(c.detail)] for c in r.checks))
    if r.notes:
        out.append('<h3>Warnings</h3><ul class="notes">')
        out += [f"<li>{t(n)}</li>" for n in r.notes]
        out.append("</ul>")
    return out


def _policies(r: Report) -> list[str]:
    assert r.chainloop is not None
    p = r.chainloop.policy
    blocked = "; the attestation was <strong>blocked</strong>" if p.blocked else ""
    out = [
        f'<p><span class="st">{t(p.status)}</span> ({t(p.strategy)}): {p.evaluations} evaluations, '
        f"{p.violations} with violations, {p.skipped} skipped, {p.passed} passed{blocked}.</p>"
    ]
    evaluations = r.chainloop.evaluations
    if len(evaluations) > 20:
        out += _filter("policies-rows", "policies", "Filter policy evaluations")
    out += _table("policies", (_evaluation(e) for e in evaluations))
    return out


def _evaluation(e: Evaluation) -> list[str]:
    items = [
        f"<li>{_code(v.subject)} {t(v.message)}</li>" if v.subject else f"<li>{t(v.message)}</li>"
        for v in e.violations
    ]
    items += [f"<li>skipped: {t(s)}</li>" for s in e.skip_reasons]
    policy = _code(e.policy) + (f'<br><span class="muted">{t(e.description)}</span>' if e.description else "")
    if e.reference:
        policy += f'<br><span class="muted">{_code(e.reference)}</span>'
    return [
        policy,
        t(e.material or "(attestation)"),
        _status(e.status),
        _status(e.gate) if e.gate else _status("advisory"),
        f"<ul>{''.join(items)}</ul>" if items else "",
    ]


def _materials(materials: Sequence[Material]) -> list[str]:
    out = _filter("materials-rows", "materials", "Filter materials") if len(materials) > 1 else []
    return out + _table("materials", (_material(m) for m in materials))


def _material(m: Material) -> list[str]:
    notes = "<br>".join(f"{t(k)} = {t(v)}" for k, v in m.annotations)
    return [t(m.name), t(m.kind), t(m.value), t(m.digest), t(m.size), notes]


def _filter(table_id: str, key: str, label: str) -> list[str]:
    """A search box for a table: hidden until the script shows it (without the script, every row shows)."""
    return [
        f'<div class="filter" hidden><label for="{key}-filter">{label}</label>'
        f'<input id="{key}-filter" type="search" data-filter="{table_id}" data-count="{key}-count" '
        f'autocomplete="off"><output id="{key}-count" aria-live="polite"></output></div>'
    ]


def _table(key: str, rows: Iterable[Sequence[str]]) -> list[str]:
    """Table ``key`` of :data:`_TABLES`, of safe cells (already escaped), in a ``<div id="KEY-rows">``.

    A long table is cut into tables of :data:`CHUNK_ROWS` rows with the same fixed column widths, each
    rendered only when scrolled near (``content-visibility: auto``): a browser then lays out a screenful, not
    10,000 rows, while the page loads. Only the first shows its header row; the others keep theirs for
    screen readers (visually hidden)."""
    columns, _ = _TABLES[key]
    body = ["<tr><td>" + "</td><td>".join(row) + "</td></tr>" for row in rows]
    if not body:
        return []
    head = "".join(f'<th scope="col">{col}</th>' for col in columns)
    out = [f'<div class="rows" id="{key}-rows">']
    for start in range(0, len(body), CHUNK_ROWS):
        part = body[start : start + CHUNK_ROWS]
        label = f' aria-label="{key} {start + 1} to {start + len(part)}"' if len(body) > CHUNK_ROWS else ""
        out.append(f'<div class="chunk"><table class="t-{key}"{label}><thead><tr>{head}</tr></thead><tbody>')
        out += part
        out.append("</tbody></table></div>")
    out.append("</div>")
    return out


def _table_style() -> str:
    """Monospace value columns, the materials' column widths, and the column names that label each cell
    when rows become cards on narrow screens."""
    mono = ",".join(f".t-{key} td:nth-child({i})" for key, (_, cols) in _TABLES.items() for i in cols)
    widths = "".join(
        f".t-materials th:nth-child({i}){{width:{w}}}" for i, w in enumerate(_MATERIAL_WIDTHS, start=1)
    )
    labels = "".join(
        f'.t-{key} td:nth-child({i})::before{{content:"{col}: "}}'
        for key, (columns, _) in _TABLES.items()
        for i, col in enumerate(columns, start=1)
    )
    return (
        f"{mono}{{font:.85em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}}"
        f".t-materials{{table-layout:fixed}}{widths}"
        f"@media (max-width:40rem){{{labels}}}"
    )


def _dl(fields: Sequence[Field]) -> list[str]:
    if not fields:
        return []
    return ["<dl>", *(f"<dt>{t(label)}</dt><dd>{_code(value)}</dd>" for label, value in fields), "</dl>"]


def _code(value: str) -> str:
    return f"<code>{t(value)}</code>" if value else ""


def _status(status: str) -> str:
    css = "".join(ch if ch.isalnum() else "-" for ch in status.lower())
    return f'<span class="st st-{css}">{t(status)}</span>'


def _basename(bundle: str) -> str:
    return bundle.rstrip("/").rsplit("/", 1)[-1] or bundle
