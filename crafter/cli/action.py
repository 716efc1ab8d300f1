"""The GitHub Action's run step (``action.yml``): one crafter command from the action's inputs.

GitHub hands inputs over as environment variables (``INPUT_COMMAND``, ``INPUT_ARGS``). The arguments are split
with :func:`shlex.split` and passed to crafter directly, never through a shell, so an input holding ``$(...)``
or a quote stays an argument (workflow inputs often carry untrusted text such as branch names).

The command's standard output is shown in the log and returned as the ``stdout`` output (when under GitHub's
size limit for an output) and in the file named by ``stdout-file``; ``exit-code`` is set whatever happens; ``push`` also sets ``bundle``, ``digest`` and ``attestation-id`` and writes a job summary.
See docs/github-action.md.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["build_argv", "main", "push_outputs"]

_COMMANDS = frozenset({"init", "add", "status", "push", "pull", "reset", "verify", "policy", "keys"})
_TABLE_LINES = {
    "Bundle: ": "bundle",
    "Statement digest: ": "digest",
}
_SIGNED = re.compile(r"^Attestation (\S+) signed$")
#: Below GitHub's limit of 1 MB for one step output, leaving room for the other outputs.
MAX_OUTPUT_BYTES = 900_000


class ActionInputError(ValueError):
    """An input the action cannot run with; reported as a workflow error annotation."""


def build_argv(command: str, args: str) -> list[str]:
    """The crafter arguments for ``command`` and the ``args`` input (shell-like quoting, no expansion)."""
    command = command.strip()
    if command not in _COMMANDS:
        raise ActionInputError(
            f"input 'command' is {command!r}; expected one of: {', '.join(sorted(_COMMANDS))}"
        )
    try:
        return [command, *shlex.split(args, comments=True)]
    except ValueError as exc:  # an unclosed quote
        raise ActionInputError(f"input 'args' cannot be split: {exc}") from exc


def push_outputs(stdout: str) -> dict[str, str]:
    """``bundle``, ``digest`` and ``attestation-id`` from ``crafter push`` output, JSON or table."""
    text = stdout.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return {
            "bundle": str(data.get("bundle", "")),
            "digest": str(data.get("digest", "")),
            "attestation-id": str(data.get("attestationID", "")),
        }
    found: dict[str, str] = {}
    for line in text.splitlines():
        for prefix, name in _TABLE_LINES.items():
            if line.startswith(prefix):
                found[name] = line[len(prefix) :].strip()
        signed = _SIGNED.match(line)
        if signed:
            found["attestation-id"] = signed.group(1)
    return found


def _write_outputs(path: str, outputs: Mapping[str, str]) -> None:
    # The heredoc form with a random delimiter keeps multi-line values (and hostile ones) intact.
    with open(path, "a", encoding="utf-8") as fh:
        for name, value in outputs.items():
            delimiter = f"crafter_{secrets.token_hex(8)}"
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def _stdout_outputs(stdout: str, command: str, env: Mapping[str, str]) -> dict[str, str]:
    """``stdout`` (when small enough for a step output) and ``stdout-file``, a file holding all of it."""
    outputs: dict[str, str] = {}
    if env.get("RUNNER_TEMP"):
        fd, name = tempfile.mkstemp(prefix=f"crafter-{command}-", suffix=".out", dir=env["RUNNER_TEMP"])
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(stdout)
        outputs["stdout-file"] = name
    if len(stdout.encode("utf-8")) <= MAX_OUTPUT_BYTES:
        outputs["stdout"] = stdout.rstrip("\n")
    else:  # GitHub fails a step whose output value is over 1 MB
        print(
            f"::warning title=crafter action::the output of crafter {command} is over {MAX_OUTPUT_BYTES} bytes: "
            "read it from the stdout-file output",
            file=sys.stderr,
        )
        outputs["stdout"] = ""
    return outputs


def _summary(command: str, exit_code: int, outputs: Mapping[str, str]) -> str:
    status = "succeeded" if exit_code == 0 else f"failed (exit code {exit_code})"
    lines = [f"### crafter {command} {status}", ""]
    for name in ("attestation-id", "digest", "bundle"):
        if outputs.get(name):
            lines.append(f"- **{name}**: `{outputs[name]}`")
    return "\n".join(lines) + "\n"


def _crafter_executable() -> list[str]:
    # The crafter installed beside this interpreter (the action's venv), not whatever is first on PATH.
    candidate = Path(sys.executable).with_name("crafter")
    return [str(candidate)] if candidate.exists() else [sys.executable, "-m", "crafter.cli.main"]


def main(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    try:
        argv = build_argv(env.get("INPUT_COMMAND", ""), env.get("INPUT_ARGS", ""))
    except ActionInputError as exc:
        print(f"::error title=crafter action::{exc}", file=sys.stderr)
        return 2
    proc = subprocess.run(  # argv from split inputs, never a shell
        [*_crafter_executable(), *argv],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(env),
        check=False,
    )
    sys.stdout.write(proc.stdout)
    sys.stdout.flush()
    outputs = {"exit-code": str(proc.returncode), **_stdout_outputs(proc.stdout, argv[0], env)}
    if argv[0] == "push":
        outputs.update(push_outputs(proc.stdout))
    if env.get("GITHUB_OUTPUT"):
        _write_outputs(env["GITHUB_OUTPUT"], outputs)
    if env.get("GITHUB_STEP_SUMMARY") and argv[0] in {"push", "verify"}:
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
            fh.write(_summary(argv[0], proc.returncode, outputs))
    return proc.returncode


if __name__ == "__main__":  # pragma: no cover - ``python -m crafter.cli.action``
    sys.exit(main())
