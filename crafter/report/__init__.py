"""Human-readable reports of a bundle, after verifying it (docs/report.md)."""

from crafter._internal.report.api import report_bundle, write_report
from crafter._internal.report.build import build_report, failure_report
from crafter._internal.report.html import render_html
from crafter._internal.report.markdown import render_markdown
from crafter._internal.report.model import Report

__all__ = [
    "Report",
    "build_report",
    "failure_report",
    "render_html",
    "render_markdown",
    "report_bundle",
    "write_report",
]
