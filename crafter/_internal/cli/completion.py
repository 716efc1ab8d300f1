"""``crafter completion SHELL``: print the shell completion script (click's completion protocol).

The script calls ``crafter`` back with ``_CRAFTER_COMPLETE=<shell>_complete`` set; :func:`click.Command.main`
answers with the candidates for the words typed so far (commands, options, choices, files).
"""

from __future__ import annotations

import click

from crafter._internal.cli import exit_codes

__all__ = ["COMPLETE_VAR", "PROG_NAME", "SHELLS", "completion", "completion_script"]

PROG_NAME = "crafter"
COMPLETE_VAR = "_CRAFTER_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def completion_script(cli: click.Command, shell: str) -> str:
    """The completion script of ``cli`` (installed as ``crafter``) for ``shell`` (one of :data:`SHELLS`)."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None or shell not in SHELLS:
        raise click.BadParameter(f"unsupported shell {shell!r}", param_hint="SHELL")
    return cls(cli, {}, PROG_NAME, COMPLETE_VAR).source()


@click.command(epilog=exit_codes.epilog("completion"))
@click.argument("shell", type=click.Choice(SHELLS), metavar="SHELL")
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish); see docs/cli.md to install it.

    \b
    bash:  eval "$(crafter completion bash)"     # in ~/.bashrc
    zsh:   eval "$(crafter completion zsh)"      # in ~/.zshrc, after compinit
    fish:  crafter completion fish > ~/.config/fish/completions/crafter.fish
    """
    click.echo(completion_script(ctx.find_root().command, shell))
