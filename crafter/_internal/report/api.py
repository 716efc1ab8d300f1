"""Verify a bundle and report on it, in one call; render a report in the format its file name asks for."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from crafter._internal.report.build import build_report, failure_report
from crafter._internal.report.html import render_html
from crafter._internal.report.markdown import render_markdown
from crafter._internal.report.model import Report
from crafter.errors import CrafterError, DigestMismatchError, SignatureError, UsageError

#: What verification raises when the bundle fails a check (not genuine; a message signature over another
#: file): reported. Anything else (a usage error, a key that cannot be read, an unreachable registry) means
#: nothing was verified, and is raised. Material, contract and replay failures come in the result.
VERIFICATION_FAILURES: tuple[type[CrafterError], ...] = (SignatureError, DigestMismatchError)

#: Report formats by file extension.
FORMATS = {".html": "html", ".md": "markdown"}


def report_bundle(reference: str, *, now: datetime | None = None, **verify_kwargs: Any) -> Report:
    """Verify ``reference`` (a bundle file, a bare DSSE envelope or ``oci://...``) with
    :func:`crafter.verify.verify_reference`'s keyword arguments, and report on it. A failed verification
    does not raise: the report leads with the failure and carries verify's exit code
    (:attr:`Report.exit_code`). An error that means nothing was verified (a usage error, a key that cannot
    be read, an unreachable registry) is raised.
    """
    from crafter._internal.verify import verify_reference

    verify_kwargs["raise_on_failure"] = False
    try:
        result = verify_reference(reference, **verify_kwargs)
    except VERIFICATION_FAILURES as exc:
        return failure_report(reference, exc, now=now)
    return build_report(result, contract_checked=verify_kwargs.get("contract") is not None, now=now)


def report_format(path: Path) -> str:
    """``html`` or ``markdown``, from ``path``'s extension (``.html``, ``.md``); anything else is a usage error."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"{path}: a report is written as .html or .md, not {path.suffix or 'a file without extension'!r}",
            hint="name the output file report.html or report.md",
        )
    return fmt


def render(report: Report, fmt: str) -> str:
    """``report`` as ``html`` or ``markdown``."""
    if fmt == "html":
        return render_html(report)
    if fmt == "markdown":
        return render_markdown(report)
    raise UsageError(f"unknown report format {fmt!r}: html or markdown")


def write_report(report: Report, path: Path) -> None:
    """Write ``report`` to ``path`` (replaced atomically), in the format of its extension (:func:`report_format`)."""
    from crafter._internal.state_store import write_atomic

    text = render(report, report_format(path))
    try:
        write_atomic(path, text.encode())
    except OSError as exc:
        raise CrafterError(f"{path}: cannot write the report: {exc.strerror or exc}") from exc
