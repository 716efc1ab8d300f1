"""The exit-code table of docs/cli.md is the reference; every command's ``--help`` agrees with it, and so does
crafter/_internal/cli/exit_codes.py, the data behind the help epilogs."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crafter._internal.cli import exit_codes
from crafter._internal.cli.main import cli, main
from crafter.errors import ExitCode
from tests.conftest import ROOT

CLI_MD = ROOT / "docs" / "cli.md"


def _table() -> dict[int, tuple[str, str]]:
    """code -> (meaning, returned by) of the "Errors and exit codes" table."""
    text = CLI_MD.read_text(encoding="utf-8")
    section = text[text.index("## Errors and exit codes") :]
    rows: dict[int, tuple[str, str]] = {}
    for line in section.splitlines():
        m = re.match(r"^\| (\d+) \| (.*) \| ([^|]*) \|$", line)
        if m:
            rows[int(m.group(1))] = (m.group(2), m.group(3))
    return rows


def _commands(group: click.Group = cli, prefix: str = "") -> list[str]:
    """Every command and group as typed after ``crafter`` (``""`` is crafter itself)."""
    names = [prefix]
    for name, command in sorted(group.commands.items()):
        full = f"{prefix} {name}".strip()
        if isinstance(command, click.Group):
            names.extend(_commands(command, full))
        else:
            names.append(full)
    return names


def _leaves() -> list[str]:
    return [c for c in _commands() if c and not isinstance(_resolve(c), click.Group)]


def _resolve(command: str) -> click.Command:
    current: click.Command = cli
    for word in command.split():
        assert isinstance(current, click.Group)
        current = current.commands[word]
    return current


def _documented(command: str) -> set[int]:
    """The codes the table says ``command`` returns (a group: its commands')."""
    found: set[int] = set()
    for code, (_, returned_by) in _table().items():
        named = set(re.findall(r"`([^`]+)`", returned_by))
        if (
            returned_by.strip() == "every command"
            or command in named
            or (command == "" and named)
            or any(n.startswith(f"{command} ") for n in named)
        ):
            found.add(code)
    return found


def _help_codes(command: str) -> dict[int, str]:
    """The codes (and their meanings) of the "Exit codes:" epilog at the end of ``crafter COMMAND --help``."""
    result = CliRunner().invoke(cli, [*command.split(), "--help"], prog_name="crafter")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == "Exit codes:"]
    assert starts, f"crafter {command} --help has no 'Exit codes:' epilog:\n{result.output}"
    codes: dict[int, str] = {}
    for line in lines[starts[-1] + 1 :]:
        m = re.match(r"^\s+(\d+)\s+(\S.*)$", line)
        if m is None:
            if line.strip():
                break
            continue
        codes[int(m.group(1))] = m.group(2)
    return codes


def test_table_lists_every_exit_code() -> None:
    table = _table()
    assert set(table) == {int(c) for c in ExitCode} | {exit_codes.INTERRUPTED}
    for code, (meaning, returned_by) in table.items():
        assert meaning.strip(), code
        assert returned_by.strip() == "every command" or re.fullmatch(r"`[^`]+`(, `[^`]+`)*", returned_by), (
            f"code {code}: 'returned by' is 'every command' or a list of `commands`: {returned_by!r}"
        )


def test_table_names_only_real_commands() -> None:
    real = set(_commands())
    for code, (_, returned_by) in _table().items():
        for name in re.findall(r"`([^`]+)`", returned_by):
            assert name in real, f"code {code}: no command {name!r}"


def test_every_command_is_in_the_exit_code_data() -> None:
    assert set(_leaves()) == set(exit_codes.COMMANDS)


@pytest.mark.parametrize("command", _commands(), ids=lambda c: c or "crafter")
def test_help_lists_exactly_the_documented_codes(command: str) -> None:
    documented = _documented(command)
    shown = _help_codes(command)
    assert set(shown) == documented, (
        f"crafter {command} --help lists {sorted(shown)}; docs/cli.md says {sorted(documented)}"
    )
    table = _table()
    for code, meaning in shown.items():
        category = meaning.split(":")[0].strip().lower()
        assert category in table[code][0].lower(), (
            f"crafter {command} --help: code {code} means {meaning!r}, docs/cli.md: {table[code][0]!r}"
        )


@pytest.mark.parametrize("command", ["verify", "report"])
def test_verify_and_report_data_match_the_table(command: str) -> None:
    """Their commands live elsewhere; the epilog they take (``exit_codes.epilog(name)``) is checked here too."""
    assert set(exit_codes.codes(command)) == _documented(command)
    assert exit_codes.codes("report") == exit_codes.codes("verify")


def test_policy_test_missing_directory_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing to test is exit 1, whether the directory is missing or holds no cases (not 10: no policy failed)."""
    (tmp_path / "empty").mkdir()
    assert main(["policy", "test", str(tmp_path / "missing")]) == ExitCode.ERROR
    assert "missing: no such directory" in capsys.readouterr().err
    assert main(["policy", "test", str(tmp_path / "empty")]) == ExitCode.ERROR
    assert "no test cases found" in capsys.readouterr().err


def test_verify_page_lists_the_codes_of_verify() -> None:
    """docs/verify.md details verify's codes; they are the ones of the reference table (Ctrl-C aside)."""
    text = (ROOT / "docs" / "verify.md").read_text(encoding="utf-8")
    section = text[text.index("## Exit codes") :]
    section = section[: section.index("\n## ")]
    listed = {int(m) for m in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}
    assert listed == set(exit_codes.codes("verify")) - {exit_codes.INTERRUPTED}
