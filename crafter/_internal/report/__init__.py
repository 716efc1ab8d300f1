"""Human-readable reports of a bundle, after verifying it: ``crafter report`` and the library (docs/report.md).

One job per module: ``model`` (the report as frozen data), ``build`` (a report from a
:class:`~crafter.verify.VerifyResult`, or from the error verification stopped with), ``text`` (making the
producer's strings inert: HTML escaping, Markdown code spans, invisible characters shown), ``markdown`` and
``html`` (the renderers), ``assets`` (the HTML report's inline style and script), ``api`` (verify and report
in one call; formats by file extension).
"""

from crafter._internal.report.api import (
    FORMATS,
    VERIFICATION_FAILURES,
    render,
    report_bundle,
    report_format,
    write_report,
)
from crafter._internal.report.build import build_report, failure_report
from crafter._internal.report.html import render_html
from crafter._internal.report.markdown import render_markdown
from crafter._internal.report.model import Report

__all__ = [
    "FORMATS",
    "VERIFICATION_FAILURES",
    "Report",
    "build_report",
    "failure_report",
    "render",
    "render_html",
    "render_markdown",
    "report_bundle",
    "report_format",
    "write_report",
]
