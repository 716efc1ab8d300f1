"""``crafter keys``: signing key management."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.group()
def keys() -> None:
    """Manage signing keys."""


@keys.command()
@click.option(
    "--output-prefix",
    default="crafter",
    show_default=True,
    help="Write PREFIX.key (encrypted private key, mode 0600) and PREFIX.pub.",
)
def generate(output_prefix: str) -> None:
    """Generate an ECDSA P-256 key pair; the password comes from CRAFTER_KEY_PASSWORD or a prompt."""
    from crafter.errors import UsageError
    from crafter.signing.keys import generate_key_pair

    password = os.environ.get("CRAFTER_KEY_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise UsageError(
                "no password for the private key",
                hint="set CRAFTER_KEY_PASSWORD, or run on a terminal to be prompted",
            )
        password = click.prompt("Password for the private key", hide_input=True, confirmation_prompt=True)
    if not password:
        raise UsageError("the private key password must not be empty")
    key_path, pub_path = generate_key_pair(Path(output_prefix), password.encode())
    click.echo(f"Private key written to {key_path}")
    click.echo(f"Public key written to {pub_path}")
