"""``crafter completion SHELL``: the scripts click's completion protocol answers, checked in a real bash."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crafter._internal.cli.main import main

BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("_CRAFTER")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _bash_complete(*words: str, cwd: Path) -> list[str]:
    """What Tab offers after ``words`` (the last one being completed) in bash with the sourced script."""
    if shutil.which("bash") is None:
        pytest.skip("bash not found")
    script = (
        'source <(crafter completion bash)\nCOMP_WORDS=("$@")\nCOMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n'
        'COMPREPLY=()\n_crafter_completion crafter\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script, "bash", *words],
        env=_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_a_command(tmp_path: Path) -> None:
    assert _bash_complete("crafter", "ver", cwd=tmp_path) == ["verify"]


def test_bash_completes_subcommands_options_and_choices(tmp_path: Path) -> None:
    assert _bash_complete("crafter", "keys", "", cwd=tmp_path) == ["generate", "public-key"]
    assert "--output-prefix" in _bash_complete("crafter", "keys", "generate", "--", cwd=tmp_path)
    assert _bash_complete("crafter", "policy", "init", "x", "--engine", "w", cwd=tmp_path) == ["wasm"]
    assert _bash_complete("crafter", "completion", "", cwd=tmp_path) == ["bash", "zsh", "fish"]


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _crafter_completion crafter"),
        ("zsh", "#compdef crafter"),
        ("fish", "complete --no-files --command crafter"),
    ],
)
def test_scripts_name_crafter_and_its_variable(
    shell: str, marker: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert marker in script
    assert "_CRAFTER_COMPLETE" in script


def test_zsh_protocol_answers_through_the_installed_command(tmp_path: Path) -> None:
    """The zsh and fish scripts call ``crafter`` back the same way; its answer for ``crafter ver``."""
    env = _env() | {"_CRAFTER_COMPLETE": "zsh_complete", "COMP_WORDS": "crafter ver", "COMP_CWORD": "1"}
    done = subprocess.run(
        [str(BIN / "crafter")], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == ["plain", "verify"]
    env |= {"_CRAFTER_COMPLETE": "fish_complete", "COMP_CWORD": "ver"}  # fish passes the word being completed
    done = subprocess.run(
        [str(BIN / "crafter")], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.splitlines()[0].startswith("plain,verify"), done.stdout


@pytest.mark.parametrize("args", [["completion", "powershell"], ["completion", "tcsh"], ["completion"]])
def test_unknown_or_missing_shell_is_a_usage_error(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    assert "SHELL" in capsys.readouterr().err
