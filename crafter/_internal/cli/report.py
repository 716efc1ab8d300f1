"""``crafter report``: a human-readable report (HTML or Markdown) of a bundle, after verifying it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from crafter._internal.cli import exit_codes
from crafter._internal.cli.verify import run_verify, verify_options
from crafter.errors import CrafterError

__all__ = ["report"]


@click.command(epilog=exit_codes.epilog("report"))
@click.argument("bundle")
@verify_options
@click.option(
    "-o",
    "--output",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the report to FILE, as HTML (.html) or Markdown (.md) [default: Markdown on stdout].",
)
def report(bundle: str, output_file: Path | None, **options: Any) -> None:
    """Verify BUNDLE as `crafter verify` does (same options), then write a report of it: the verification
    status and each check, the signer and verified times, the statement's subjects and, for a Chainloop
    attestation, its materials, policy evaluations, workflow, runner, git and annotations.

    The report is written also when verification fails (the failure first), and the command then exits with
    verify's code. Everything the bundle's producer wrote is escaped: it shows as text, never as markup.
    """
    from crafter._internal.report import (
        VERIFICATION_FAILURES,
        build_report,
        failure_report,
        render,
        report_format,
        write_report,
    )

    fmt = report_format(output_file) if output_file is not None else "markdown"  # before verifying
    error: CrafterError | None = None
    try:
        result = run_verify(bundle, **options)
    except VERIFICATION_FAILURES as exc:  # anything else: nothing was verified, no report
        error = exc
        made = failure_report(bundle, exc)
    else:
        made = build_report(result, contract_checked=options.get("contract") is not None)
        error = result.failure()
        if error is not None:
            error.result = result
    if output_file is None:
        click.echo(render(made, fmt), nl=False)
    else:
        write_report(made, output_file)
        status = "verified" if made.verified else f"verification FAILED (exit {made.exit_code})"
        click.echo(f"Report written to {output_file}: {status}", err=True)
    if error is not None:
        raise error
