"""``crafter report``: a human-readable report (HTML or Markdown) of a bundle, after verifying it."""

from __future__ import annotations

import click

__all__ = ["report"]


@click.command()
def report() -> None:
    """Write a report of a bundle (not implemented yet)."""
    raise click.UsageError("crafter report is not implemented yet")
