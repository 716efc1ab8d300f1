"""``crafter completion SHELL``: print the shell completion script."""

from __future__ import annotations

import click

__all__ = ["completion"]


@click.command()
def completion() -> None:
    """Print the shell completion script (not implemented yet)."""
    raise click.UsageError("crafter completion is not implemented yet")
