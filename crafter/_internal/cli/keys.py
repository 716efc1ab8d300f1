"""``crafter keys``: signing key management."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from crafter._internal.cli import exit_codes


@click.group(epilog=exit_codes.epilog("keys"))
def keys() -> None:
    """Manage signing keys."""


@keys.command(epilog=exit_codes.epilog("keys generate"))
@click.option(
    "--output-prefix",
    default="crafter",
    show_default=True,
    help="Write PREFIX.key (encrypted private key, mode 0600) and PREFIX.pub.",
)
def generate(output_prefix: str) -> None:
    """Generate an ECDSA P-256 key pair; the password comes from CRAFTER_KEY_PASSWORD or a prompt."""
    from crafter._internal.signing.keys import generate_key_pair
    from crafter.errors import UsageError

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


@keys.command("public-key", epilog=exit_codes.epilog("keys public-key"))
@click.option(
    "-k",
    "--key",
    required=True,
    help="The signing key: a PEM or cosign key file, env://VAR, awskms://, gcpkms://, azurekms:// or "
    "hashivault://.",
)
@click.option(
    "-o",
    "--output",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write it here [default: standard output].",
)
def public_key(key: str, output_file: Path | None) -> None:
    """Print the public key (PEM) of a signing key, e.g. a KMS key, for crafter verify --key.

    An encrypted key file's password comes from CRAFTER_KEY_PASSWORD or COSIGN_PASSWORD, else a prompt.
    """
    from crafter._internal.cli import render
    from crafter._internal.signing.keys import load_signer
    from crafter.errors import CrafterError, UsageError

    if key.lower().startswith("keyless://"):
        raise UsageError("a keyless signature has no lasting key: verify it with its certificate identity")
    pem = load_signer(key, render.password_provider(key)).public_key_pem()
    if output_file is None:
        click.echo(pem.decode("ascii"), nl=False)
        return
    try:
        output_file.write_bytes(pem)
    except OSError as exc:
        raise CrafterError(f"cannot write {output_file}: {exc.strerror or exc}") from exc
    click.echo(f"Public key written to {output_file}", err=True)
