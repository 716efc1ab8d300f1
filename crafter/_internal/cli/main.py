"""``crafter``: the command line. Parse, call one library function, render; nothing else lives here.

Every :class:`crafter.errors.CrafterError` is caught once, in :func:`main`, and printed as one line (plus a
hint); ``--debug`` adds the traceback. Exit codes are published in docs/cli.md.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import click

from crafter._internal.cli import attestation, completion, exit_codes, keys, parts, policy, report, verify
from crafter._internal.http import DEFAULT_TIMEOUT, TIMEOUT_ENV, TIMEOUT_OPTION
from crafter._version import __version__
from crafter.errors import CrafterError, ExitCode


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=exit_codes.epilog(""),
)
@click.version_option(__version__, "--version", prog_name="crafter", message="%(prog)s %(version)s")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    envvar="CRAFTER_STATE_DIR",
    help="Where attestations in progress are kept [env CRAFTER_STATE_DIR; default ./.crafter].",
)
@click.option(
    TIMEOUT_OPTION,
    "http_timeout",
    type=click.FloatRange(min=0, min_open=True),
    envvar=TIMEOUT_ENV,
    metavar="SECONDS",
    help=f"Deadline of each request to a registry, timestamp server or remote policy, connection to last "
    f"byte [env {TIMEOUT_ENV}; default: {DEFAULT_TIMEOUT:g}].",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, state_dir: str | None, http_timeout: float | None, debug: bool) -> None:
    """Make signed, policy-checked supply-chain attestations.

    \b
    crafter init --contract contract.yaml     start an attestation
    crafter add --name sbom --value bom.json  record a material
    crafter status                            see what is recorded and missing
    crafter push --key release.key            sign it into a Sigstore bundle
    """
    ctx.obj = attestation.Settings(
        state_dir=state_dir, debug=debug, http_timeout=http_timeout or DEFAULT_TIMEOUT
    )


cli.add_command(attestation.init)
cli.add_command(attestation.add)
cli.add_command(attestation.status)
cli.add_command(attestation.push)
cli.add_command(attestation.pull)
cli.add_command(attestation.reset)
cli.add_command(parts.export)
cli.add_command(parts.merge)
cli.add_command(keys.keys)
cli.add_command(policy.policy)
cli.add_command(verify.verify)
cli.add_command(report.report)
cli.add_command(completion.completion)


def _configure_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(levelname).1s %(message)s" if debug else "crafter: %(message)s")
    )
    logger = logging.getLogger("crafter")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (``sys.exit(main())``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("CRAFTER_DEBUG") == "1"
    _configure_logging(debug)
    try:
        cli.main(args=args, prog_name="crafter", standalone_mode=False)
    except CrafterError as exc:
        if debug:
            logging.getLogger("crafter").exception("error")
        click.echo(f"Error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"Hint: {exc.hint}", err=True)
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return ExitCode.USAGE if isinstance(exc, click.UsageError) else ExitCode.ERROR
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # a bug: still one line, with the way to see more
        if debug:
            raise
        click.echo(f"Error: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("Hint: run again with --debug for the traceback, and report it", err=True)
        return int(ExitCode.ERROR)
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
