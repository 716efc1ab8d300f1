"""Which exit codes each command returns, and what they mean: the data behind every ``--help``'s "Exit codes:"
epilog and the table in docs/cli.md ("Errors and exit codes"), which a test keeps in agreement with it.

A command is named as typed after ``crafter`` (``"push"``, ``"keys generate"``); ``""`` is ``crafter`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from crafter.errors import ExitCode

__all__ = ["COMMANDS", "EVERY_COMMAND", "INTERRUPTED", "MEANINGS", "codes", "epilog", "meaning"]

INTERRUPTED = 130  # Ctrl-C: not an ExitCode (the shell's 128 + SIGINT)

#: The short meaning of each code, as the epilogs print it; the word before the colon names the row of the
#: docs/cli.md table it stands for.
MEANINGS: Mapping[int, str] = {
    ExitCode.OK: "success",
    ExitCode.ERROR: "error: any error not listed here, internal errors included",
    ExitCode.USAGE: "usage: unknown option, missing or malformed value",
    ExitCode.STATE: "state: no attestation in progress, or a bad state file",
    ExitCode.POLICY_GATE: "gate: a gated policy has violations (the bundle is written)",
    ExitCode.CONTRACT: "contract: cannot be read, or invalid",
    ExitCode.MATERIAL: "material: a value does not match its kind, or is missing",
    ExitCode.INCOMPLETE: "incomplete: required materials, groups or annotations missing",
    ExitCode.SIGNING: "signing: the key cannot be read, or signing failed",
    ExitCode.RUNNER: "runner: another CI runner, or required variables missing",
    ExitCode.POLICY: "policy: a policy cannot be loaded, or its evaluation failed",
    ExitCode.BAD_SIGNATURE: "not genuine: bad signature, malformed or untrusted bundle",
    ExitCode.DIGEST_MISMATCH: "digest: a --material file or --cas content does not match the recorded digest",
    ExitCode.REPLAY_DIFFERENCE: "replay: a policy evaluated again gives another result",
    ExitCode.MERGE_CONFLICT: "conflict: a material recorded with different digests (nothing merged or signed)",
    ExitCode.STORE: "store: a registry cannot be reached, refuses, or lacks the bundle",
    INTERRUPTED: "interrupted",
}

#: Codes every command can return.
EVERY_COMMAND: tuple[int, ...] = (ExitCode.OK, ExitCode.ERROR, ExitCode.USAGE, INTERRUPTED)

_VERIFY = (
    ExitCode.CONTRACT,
    ExitCode.INCOMPLETE,
    ExitCode.SIGNING,
    ExitCode.BAD_SIGNATURE,
    ExitCode.DIGEST_MISMATCH,
    ExitCode.REPLAY_DIFFERENCE,
    ExitCode.STORE,
)

#: The codes each command returns beyond :data:`EVERY_COMMAND`.
COMMANDS: Mapping[str, tuple[int, ...]] = {
    "init": (ExitCode.STATE, ExitCode.CONTRACT, ExitCode.RUNNER, ExitCode.POLICY, ExitCode.STORE),
    "add": (ExitCode.STATE, ExitCode.MATERIAL, ExitCode.POLICY, ExitCode.STORE),
    "status": (ExitCode.STATE, ExitCode.MERGE_CONFLICT, ExitCode.STORE),
    "push": (
        ExitCode.STATE,
        ExitCode.MERGE_CONFLICT,
        ExitCode.POLICY_GATE,
        ExitCode.INCOMPLETE,
        ExitCode.SIGNING,
        ExitCode.POLICY,
        ExitCode.STORE,
    ),
    "pull": (ExitCode.STORE,),
    "reset": (ExitCode.STATE, ExitCode.STORE),
    "export": (ExitCode.STATE, ExitCode.MERGE_CONFLICT, ExitCode.STORE),
    "merge": (ExitCode.STATE, ExitCode.CONTRACT, ExitCode.MERGE_CONFLICT),
    "keys generate": (ExitCode.SIGNING,),
    "keys public-key": (ExitCode.SIGNING,),
    "policy eval": (ExitCode.MATERIAL, ExitCode.POLICY),
    "policy test": (),
    "policy init": (ExitCode.POLICY,),
    "verify": _VERIFY,
    "report": _VERIFY,  # report verifies the bundle first, with verify's options and codes
    "completion": (),
}

_VERIFY_WORDING = {
    ExitCode.INCOMPLETE: "incomplete: the --contract's required materials are not recorded",
    ExitCode.SIGNING: "signing: the --key or --certificate cannot be read, or its key type is unsupported",
}

#: Per-command wording where the general meaning would mislead (same category word before the colon).
_SPECIFIC: Mapping[tuple[str, int], str] = {
    ("keys generate", ExitCode.SIGNING): "signing: a key file already exists, or cannot be written",
    ("policy init", ExitCode.POLICY): "policy: the directory already exists, or the name is invalid",
    ("policy test", ExitCode.ERROR): "error: a case failed, or a directory is missing or holds no cases",
    ("merge", ExitCode.CONTRACT): "contract: a part was recorded against another contract (without --force)",
    **{(name, code): text for name in ("verify", "report") for code, text in _VERIFY_WORDING.items()},
}


def codes(command: str) -> tuple[int, ...]:
    """Every code ``command`` returns, sorted; a group (``""``, ``"keys"``, ``"policy"``) returns its commands'."""
    if command in COMMANDS:
        found = set(COMMANDS[command])
    else:
        prefix = f"{command} " if command else ""
        members = [c for c in COMMANDS if c.startswith(prefix)]
        if not members:
            raise KeyError(f"no such command: {command!r}")
        found = {code for c in members for code in COMMANDS[c]}
    return tuple(sorted(found | set(EVERY_COMMAND)))


def meaning(command: str, code: int) -> str:
    return _SPECIFIC.get((command, code), MEANINGS[code])


def epilog(command: str) -> str:
    """The "Exit codes:" epilog of ``command``'s ``--help`` (``\\b`` keeps click from rewrapping it)."""
    lines = [f"  {code:<3}  {meaning(command, code)}" for code in codes(command)]
    see = "docs/cli.md, Errors and exit codes" if command else "each command's --help and docs/cli.md"
    return "\b\nExit codes:\n" + "\n".join(lines) + f"\n\nSee {see}."
