"""The report as GitHub-flavoured Markdown: for job summaries (``$GITHUB_STEP_SUMMARY``) and PR comments.

Every value from the bundle is a code span (:func:`crafter._internal.report.text.md_code`), so nothing it contains is
read as Markdown, HTML, a mention or a link. Long lists are cut with a count of what was left out, and the
whole document is kept under GitHub's 1 MiB summary limit (:data:`MAX_BYTES`).
"""

from __future__ import annotations

from collections.abc import Sequence

from crafter._internal.report.model import Evaluation, Field, Material, Report
from crafter._internal.report.text import md_code

#: GitHub refuses a job summary over 1 MiB; stay clearly below it.
MAX_BYTES = 1_000_000
#: Rows shown per list before it is cut (halved until the document fits in MAX_BYTES).
MAX_ROWS = 250
_MIN_ROWS = 5
_MAX_ANNOTATIONS = 12
_STATUS = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "not run": "➖ not run",
    "warning": "⚠️ warning",
    "violated": "❌ violated",
    "skipped": "➖ skipped",
    "same": "✅ same",
    "differs": "❌ differs",
    "not-replayed": "⚠️ not replayed",
    "held": "✅ held",
}


def render_markdown(report: Report, *, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES) -> str:
    """``report`` as Markdown, at most ``max_bytes`` bytes of UTF-8 (lists are cut shorter until it fits)."""
    rows = max_rows
    while True:
        doc = _document(report, rows)
        if len(doc.encode()) <= max_bytes or rows <= _MIN_ROWS:
            return doc
        rows = max(_MIN_ROWS, rows // 2)


def _document(r: Report, rows: int) -> str:
    out: list[str] = []
    icon = "✅" if r.verified else "❌"
    out.append(f"# {icon} Attestation report: {'verified' if r.verified else 'verification FAILED'}\n")
    if not r.verified:
        out.append("> [!CAUTION]")
        out.append(f"> **Verification FAILED (exit {r.exit_code}):** {md_code(r.failure, table=False)}")
        if r.hint:
            out.append(f"> <br>Hint: {md_code(r.hint, table=False)}")
        out.append("")
    if not r.attested:
        out.append("> [!WARNING]")
        out.append(
            "> **Not attested.** Verification stopped before the signature was accepted: what follows is "
            "what the bundle claims, with no proof of who wrote it.\n"
        )
    summary: list[Field] = [("bundle", r.bundle), ("format", r.kind), ("predicate type", r.predicate_type)]
    summary.append(("statement digest", r.payload_digest))
    out += _fields("Summary", [(label, value) for label, value in summary if value], rows)
    out.append(f"Report generated {r.generated_at} by {r.tool}; verification status as of then.\n")
    out += _table(
        "Verification",
        ["check", "result", "detail"],
        [[c.name, _status(c.status), md_code(c.detail)] for c in r.checks],
        rows,
    )
    if r.notes:
        out.append("**Warnings**\n")
        out += [f"- {md_code(n, table=False)}" for n in r.notes[:rows]]
        out.append(_more(len(r.notes), rows, "warnings") + "\n" if len(r.notes) > rows else "")
    out += _fields("Signer", r.signer, rows)
    out += _fields("Times", r.times, rows)
    out += _table(
        "Subjects", ["name", "digest"], [[md_code(s.name), md_code(s.digest)] for s in r.subjects], rows
    )
    cl = r.chainloop
    if cl is not None:
        p = cl.policy
        gate = "; the attestation was **blocked**" if p.blocked else ""
        out.append("## Policies\n")
        out.append(
            f"**{md_code(p.status, table=False)}** ({md_code(p.strategy, table=False)}): {p.evaluations} "
            f"evaluations, {p.violations} with violations, {p.skipped} skipped, {p.passed} passed{gate}.\n"
        )
        out += _table(
            "",
            ["policy", "material", "result", "gate", "violations, skip reasons"],
            [_evaluation(e) for e in cl.evaluations],
            rows,
            what="evaluations",
        )
        out += _table(
            f"Materials ({len(cl.materials)})",
            ["name", "kind", "value", "digest", "size", "annotations"],
            [_material(m) for m in cl.materials],
            rows,
            what="materials",
        )
    out += _table(
        "Replay",
        ["policy", "material", "result", "detail"],
        [
            [md_code(x.policy), md_code(x.material or "(attestation)"), _status(x.status), md_code(x.detail)]
            for x in r.replay
        ],
        rows,
    )
    if cl is not None:
        out += _fields("Workflow", cl.workflow, rows)
        out += _fields("Runner and CI", cl.runner, rows)
        out += _fields("Environment", cl.env, rows, level=3, producer_keys=True)
        out += _fields("Git", cl.git, rows, producer_keys=True)
        out += _fields("Annotations", cl.annotations, rows, producer_keys=True)
    return "\n".join(out).rstrip() + "\n"


def _evaluation(e: Evaluation) -> list[str]:
    details = [md_code(f"{v.subject}: {v.message}" if v.subject else v.message) for v in e.violations]
    details += [md_code(f"skipped: {s}") for s in e.skip_reasons]
    return [
        md_code(e.policy),
        md_code(e.material or "(attestation)"),
        _status(e.status),
        _status(e.gate) if e.gate else "advisory",
        "<br>".join(details[:_MAX_ANNOTATIONS]) + _cut(len(details)),
    ]


def _material(m: Material) -> list[str]:
    notes = [md_code(f"{k}={v}") for k, v in m.annotations[:_MAX_ANNOTATIONS]]
    return [
        md_code(m.name),
        md_code(m.kind),
        md_code(m.value),
        md_code(m.digest),
        m.size if m.size.isdigit() else md_code(m.size),
        "<br>".join(notes) + _cut(len(m.annotations)),
    ]


def _fields(
    title: str, fields: Sequence[Field], rows: int, level: int = 2, *, producer_keys: bool = False
) -> list[str]:
    """A field-value table; ``producer_keys``: the labels come from the bundle too (annotations, variables)."""
    return _table(
        title,
        ["field", "value"],
        [[md_code(label) if producer_keys else label, md_code(value)] for label, value in fields],
        rows,
        level=level,
    )


def _table(
    title: str,
    columns: Sequence[str],
    cells: Sequence[Sequence[str]],
    rows: int,
    *,
    level: int = 2,
    what: str = "rows",
) -> list[str]:
    """A GFM table; the cells are already safe (code spans, or our own words)."""
    if not cells:
        return []
    out = [f"{'#' * level} {title}\n"] if title else []
    out.append("| " + " | ".join(columns) + " |")
    out.append("|" + " --- |" * len(columns))
    out += ["| " + " | ".join(row) + " |" for row in cells[:rows]]
    if len(cells) > rows:
        out.append("")
        out.append(_more(len(cells), rows, what))
    out.append("")
    return out


def _more(total: int, shown: int, what: str) -> str:
    return f"*… {total - shown:,} more {what} not shown here ({total:,} in all; the HTML report lists every one).*"


def _cut(total: int) -> str:
    return f"<br>… {total - _MAX_ANNOTATIONS} more" if total > _MAX_ANNOTATIONS else ""


def _status(status: str) -> str:
    return _STATUS.get(status, md_code(status))
