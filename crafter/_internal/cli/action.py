"""The GitHub Action's run step (``action.yml``): one-step attest, or one crafter command per step.

GitHub hands inputs over as environment variables (``INPUT_COMMAND``, ``INPUT_ARGS``, ...). With ``command``
empty or ``attest`` the step runs init, add and push itself (:mod:`crafter._internal.cli.action_attest`); any other
command runs once, its ``args`` split with :func:`shlex.split` and passed to crafter directly, never through a
shell, so an input holding ``$(...)`` or a quote stays an argument (workflow inputs often carry untrusted text
such as branch names).

``init``, ``add`` and ``push`` run with ``-o json`` unless ``args`` chose an output format: the action reads their JSON
(outputs, annotations, the job summary) and prints a short human version to the log. The command's standard
output is also returned as the ``stdout`` output (under GitHub's size limit) and in ``stdout-file``;
``exit-code`` is set whatever happens. See docs/github-action.md.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from crafter._internal.cli.action_github import GitHub, policy_annotations, workspace_path

__all__ = [
    "ActionInputError",
    "CrafterRun",
    "Signing",
    "build_argv",
    "crafter_executable",
    "main",
    "push_outputs",
    "push_summary",
]

_COMMANDS = frozenset(
    {
        "init",
        "add",
        "status",
        "push",
        "pull",
        "reset",
        "verify",
        "report",
        "export",
        "merge",
        "policy",
        "keys",
    }
)
#: Commands whose JSON output the action reads (``-o json`` is added unless ``args`` picks a format).
_JSON_COMMANDS = frozenset({"init", "add", "push"})
#: Inputs the action hands to crafter as its environment variables (set only when the input is not empty, so a
#: job-level ``env:`` still applies when the input is left out).
ENV_INPUTS = {"INPUT_STATE": "CRAFTER_STATE", "INPUT_ATTESTATION_ID": "CRAFTER_ATTESTATION_ID"}
#: Below GitHub's limit of 1 MB for one step output, leaving room for the other outputs.
MAX_OUTPUT_BYTES = 900_000
#: Where the action remembers, across the steps of a job, which file each material came from.
MATERIAL_FILES = "material-files.json"


class ActionInputError(ValueError):
    """An input the action cannot run with; reported as a workflow error annotation."""


def build_argv(command: str, args: str) -> list[str]:
    """The crafter arguments for ``command`` and the ``args`` input (shell-like quoting, no expansion)."""
    command = command.strip()
    if command not in _COMMANDS:
        raise ActionInputError(
            f"input 'command' is {command!r}; expected attest (or empty) or one of: "
            + ", ".join(sorted(_COMMANDS))
        )
    return [command, *split_args(args)]


def split_args(args: str, name: str = "args") -> list[str]:
    try:
        return shlex.split(args, comments=True)
    except ValueError as exc:  # an unclosed quote
        raise ActionInputError(f"input '{name}' cannot be split: {exc}") from exc


def has_output_option(argv: Sequence[str]) -> bool:
    """Whether the arguments choose an output format (``-o X``, ``-oX``, ``--output X``, ``--output=X``)."""
    for arg in argv:
        if arg == "--":
            return False
        if arg in {"-o", "--output"} or arg.startswith(("--output=", "-o")):
            return True
    return False


def crafter_executable(python: Path | None = None) -> list[str]:
    """The crafter installed beside ``python`` (the action's venv), not whatever is first on PATH.

    A POSIX venv has ``bin/python`` and ``bin/crafter``; a Windows one ``Scripts\\python.exe`` and
    ``Scripts\\crafter.exe``. Without either, crafter runs as a module of that interpreter."""
    python = python or Path(sys.executable)
    for name in ("crafter", "crafter.exe"):
        candidate = python.with_name(name)
        if candidate.is_file():
            return [str(candidate)]
    return [str(python), "-m", "crafter"]


@attrs.frozen
class CrafterRun:
    """One crafter command the action ran: its arguments, exit code, standard output and parsed JSON."""

    argv: tuple[str, ...]
    code: int
    stdout: str
    data: Any = None  # the JSON output, when asked for and readable

    @property
    def command(self) -> str:
        """The crafter command (``push``), after the global options such as ``--state-dir DIR``."""
        return next((a for a in self.argv if a in _COMMANDS), "")


def run_crafter(
    argv: Sequence[str], env: Mapping[str, str], *, json_output: bool, cwd: str | None = None
) -> CrafterRun:
    """Run crafter (argument list, no shell); standard error goes to the log as it comes."""
    proc = subprocess.run(
        [*crafter_executable(), *argv],
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=dict(env),
        cwd=cwd,
        check=False,
    )
    data = None
    if json_output and proc.stdout.strip():
        try:
            data = json.loads(proc.stdout)
        except ValueError:
            data = None
    return CrafterRun(tuple(argv), proc.returncode, proc.stdout, data)


# -- what the log shows for the JSON the action asked for ---------------------------------------------------
def human_lines(run: CrafterRun) -> list[str]:
    """A short human rendering of ``add`` and ``push`` JSON, for the log (the JSON is in ``stdout``)."""
    from crafter._internal.cli.render import policy_lines
    from crafter._internal.policy_record import PolicyEvaluation

    def evaluations(d: Mapping[str, Any]) -> list[PolicyEvaluation]:  # the JSON the command printed
        return [PolicyEvaluation.from_dict(e) for e in d.get("policyEvaluations", [])]

    if run.command == "init" and isinstance(run.data, dict):
        return [f"Attestation initialized: {run.data.get('attestationID')}"]
    if run.command == "add" and isinstance(run.data, list):
        lines = []
        for m in run.data:
            digest = ":".join(next(iter((m.get("digest") or {"": ""}).items())))
            lines.append(f"added {m.get('material')} ({m.get('kind')}) {m.get('name', '')} {digest}".rstrip())
            lines.extend(policy_lines(evaluations(m)))
        return lines
    if run.command == "push" and isinstance(run.data, dict):
        d = run.data
        lines = policy_lines(evaluations(d))
        lines.append(f"Attestation {d.get('attestationID')} signed")
        lines.append(f"Statement digest: {d.get('digest')}")
        lines.append(f"Bundle: {d.get('bundle')}")
        lines.extend(f"Stored: {s}" for s in d.get("stored", []))
        return lines
    return []


# -- outputs ------------------------------------------------------------------------------------------------
def stdout_outputs(stdout: str, command: str, gh: GitHub) -> dict[str, str]:
    """``stdout`` (when small enough for a step output) and ``stdout-file``, a file holding all of it."""
    outputs: dict[str, str] = {}
    if gh.runner_temp:
        fd, name = tempfile.mkstemp(prefix=f"crafter-{command}-", suffix=".out", dir=gh.runner_temp)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(stdout)
        outputs["stdout-file"] = name
    if len(stdout.encode("utf-8")) <= MAX_OUTPUT_BYTES:
        outputs["stdout"] = stdout.rstrip("\n")
    else:  # GitHub fails a step whose output value is over 1 MB
        gh.warning(
            f"the output of crafter {command} is over {MAX_OUTPUT_BYTES} bytes: read it from the stdout-file output"
        )
        outputs["stdout"] = ""
    return outputs


def push_outputs(data: Mapping[str, Any]) -> dict[str, str]:
    """The push outputs from ``crafter push -o json``'s document: ``bundle-path`` (and its alias ``bundle``),
    ``digest``, ``attestation-id`` and the policy outcome (``policy-status`` and counts)."""
    status = data.get("policyStatus") or {}
    bundle = str(data.get("bundle", ""))
    return {
        "bundle-path": bundle,
        "bundle": bundle,
        "digest": str(data.get("digest", "")),
        "attestation-id": str(data.get("attestationID", "")),
        "policy-status": str(status.get("status", "")),
        "policy-evaluations": str(status.get("evaluations", 0)),
        "policy-violations": str(status.get("violations", 0)),
        "policy-gate-failures": ",".join(status.get("gateFailures", [])),
    }


# -- material files: which file each material came from (annotations link to it) --------------------------
def _material_files_path(gh: GitHub) -> Path:
    return gh.temp_dir("state") / MATERIAL_FILES


def load_material_files(gh: GitHub) -> dict[str, str]:
    try:
        data = json.loads(_material_files_path(gh).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def remember_material_files(gh: GitHub, files: Mapping[str, str], *, reset: bool = False) -> None:
    known = {} if reset else load_material_files(gh)
    known.update({k: v for k, v in files.items() if v})
    path = _material_files_path(gh)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(known, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def added_values(argv: Sequence[str]) -> list[str]:
    """The values an ``add`` command line names, globs expanded as crafter expands them, in crafter's order."""
    import click

    from crafter._internal.cli.attestation import add
    from crafter._internal.crafter import expand_values
    from crafter.errors import CrafterError

    try:
        ctx = add.make_context("add", list(argv[1:]), resilient_parsing=True)
        values = [*(ctx.params.get("option_values") or ()), *(ctx.params.get("values") or ())]
        return expand_values(values)
    except (click.ClickException, CrafterError):
        return []


def material_files(
    materials: Sequence[Mapping[str, Any]], values: Sequence[str], gh: GitHub
) -> dict[str, str]:
    """Material name to its file relative to the workspace, for ``add`` output read beside the values added
    (crafter records materials in the order of their values)."""
    if len(materials) != len(values):
        return {}
    found = {}
    for m, value in zip(materials, values, strict=True):
        relative = workspace_path(value, gh.workspace)
        if relative and m.get("material"):
            found[str(m["material"])] = relative
    return found


# -- the job summary ----------------------------------------------------------------------------------------
def _cell(text: Any) -> str:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def _code(text: Any) -> str:
    return "`" + _cell(text).replace("`", "'") + "`" if str(text) else ""


def push_summary(data: Mapping[str, Any], code: int, report: str | None = None) -> str:
    """Markdown for the job summary from ``crafter push -o json``: the verdict, the attestation's id, digest
    and bundle; then ``report`` (``crafter report``'s Markdown of the bundle) when there is one, else the
    subjects and every policy evaluation with its violations, from the JSON."""
    status = data.get("policyStatus") or {}
    verdict = {
        "gated": "signed, **blocked by a policy gate**",
        "violations": "signed, with policy violations",
        "passed": "signed, policies passed",
    }.get(str(status.get("status")), "signed")
    if code not in (0, 4):
        verdict += f" (exit code {code})"
    statement = data.get("statement") or {}
    predicate = statement.get("predicate") or {}
    lines = [f"### crafter attestation {verdict}", "", "| | |", "| --- | --- |"]
    rows = [
        ("Attestation", _code(data.get("attestationID", ""))),
        ("Statement digest", _code(data.get("digest", ""))),
        ("Bundle", _code(data.get("bundle", ""))),
        *(("Stored", _code(s)) for s in data.get("stored", [])),
        ("Workflow", _cell((predicate.get("metadata") or {}).get("name", ""))),
        ("Runner", _cell(predicate.get("runnerURL", "") or predicate.get("runnerType", ""))),
    ]
    lines.extend(f"| {k} | {v} |" for k, v in rows if v)
    if report is not None:
        return "\n".join(lines) + "\n\n" + report.strip() + "\n"
    subjects = statement.get("subject") or []
    if subjects:
        lines += ["", "**Subjects**", "", "| name | digest |", "| --- | --- |"]
        for s in subjects:
            digest = ", ".join(f"{k}:{v}" for k, v in (s.get("digest") or {}).items())
            lines.append(f"| {_cell(s.get('name', ''))} | {_code(digest)} |")
    evaluations = data.get("policyEvaluations") or []
    if evaluations:
        counts = f"{status.get('evaluations', 0)} evaluation(s), {status.get('violations', 0)} violation(s)"
        lines += ["", f"**Policies**: {status.get('status', '')} ({counts})", ""]
        lines += ["| policy | material | result |", "| --- | --- | --- |"]
        for e in evaluations:
            active = [v for v in e.get("violations", []) if not v.get("suppress")]
            if active:
                result = f"{len(active)} violation(s)" + (" (gate)" if e.get("gate") else "")
                result += "".join(f"<br>• {_cell(v.get('message', ''))}" for v in active)
            elif e.get("skipped"):
                result = "skipped: " + _cell("; ".join(e.get("skipReasons", [])))
            else:
                result = "passed"
            lines.append(
                f"| {_cell(e.get('name', ''))} | {_cell(e.get('materialName') or '(attestation)')} | {result} |"
            )
    return "\n".join(lines) + "\n"


@attrs.frozen
class Signing:
    """How push signed: what ``crafter report`` needs to verify the bundle again for the summary."""

    key: str = ""
    keyless: bool = False
    staging: bool = False
    trust_config: str = ""

    @classmethod
    def from_push_argv(cls, argv: Sequence[str]) -> Signing:
        import click

        from crafter._internal.cli.attestation import push

        try:
            params = push.make_context("push", list(argv[1:]), resilient_parsing=True).params
        except click.ClickException:
            return cls()
        return cls(
            key=params.get("key") or "",
            keyless=bool(params.get("keyless")),
            staging=bool(params.get("staging")),
            trust_config=str(params.get("trust_config") or ""),
        )


#: The OIDC issuer of GitHub Actions' tokens, which a keyless signature made in a workflow names.
GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"


def bundle_report(gh: GitHub, env: Mapping[str, str], bundle: str, signing: Signing) -> str | None:
    """``crafter report``'s Markdown of the bundle just written, verified with the signer's public key (a
    key) or this workflow's identity (keyless); None when it cannot be made (the summary then comes from
    push's JSON)."""
    out = gh.temp_dir("reports") / f"report-{secrets.token_hex(6)}.md"
    args = ["report", bundle, "-o", str(out)]
    if signing.key:
        from crafter._internal.signing.keys import load_signer
        from crafter.errors import CrafterError

        def password() -> bytes | None:  # as push found it: CRAFTER_KEY_PASSWORD, else COSIGN_PASSWORD
            found = next((env[v] for v in ("CRAFTER_KEY_PASSWORD", "COSIGN_PASSWORD") if v in env), None)
            return None if found is None else found.encode()

        try:
            pem = load_signer(signing.key, password, environ=env).public_key_pem()
        except (CrafterError, OSError, ValueError):
            return None
        public = out.with_suffix(".pub")
        public.write_bytes(pem)
        args += ["--key", str(public)]
    elif signing.keyless and not signing.trust_config:
        if env.get("GITHUB_WORKFLOW_REF"):
            server = env.get("GITHUB_SERVER_URL", "https://github.com")
            args += ["--certificate-identity", f"{server}/{env['GITHUB_WORKFLOW_REF']}"]
            args += ["--certificate-oidc-issuer", GITHUB_OIDC_ISSUER]
        if signing.staging:
            args.append("--staging")
    else:
        return None
    run_crafter(args, env, json_output=False)
    return out.read_text(encoding="utf-8") if out.is_file() else None


def report_push(
    gh: GitHub, env: Mapping[str, str], run: CrafterRun, signing: Signing, *, show_summary: bool
) -> dict[str, str]:
    """After ``push``: outputs, one annotation per policy violation, and the job summary."""
    if not isinstance(run.data, dict):
        chosen = has_output_option(run.argv[1:])
        if chosen:  # args chose another output format: nothing to read the outputs from
            gh.warning("push ran with -o from args: bundle-path, digest and the policy outputs are not set")
        if show_summary:
            gh.summary(
                "### crafter push succeeded"
                if run.code == 0
                else f"### crafter push failed (exit code {run.code})"
                + ("" if chosen else "\n\nNothing was signed.")
            )
        return {}
    data = run.data
    status = data.get("policyStatus") or {}
    for annotation in policy_annotations(
        data.get("policyEvaluations") or [],
        gate_failures=status.get("gateFailures") or data.get("gateFailures") or [],
        bypassed=bool(status.get("bypassed")),
        files=load_material_files(gh),
    ):
        gh.annotate(annotation)
    if show_summary:
        report = bundle_report(gh, env, str(data.get("bundle", "")), signing) if data.get("bundle") else None
        gh.summary(push_summary(data, run.code, report))
    return push_outputs(data)


def truthy(value: str | None, name: str, default: bool = False) -> bool:
    """A boolean input (``true``/``false``, as GitHub's YAML booleans arrive); ``name`` for the error."""
    if value is None or not value.strip():
        return default
    v = value.strip().lower()
    if v in {"true", "yes", "1", "on"}:
        return True
    if v in {"false", "no", "0", "off"}:
        return False
    raise ActionInputError(f"input '{name}': expected true or false, got {value!r}")


def run_command(gh: GitHub, env: Mapping[str, str], argv: list[str], *, show_summary: bool) -> int:
    """One crafter command from the ``command`` and ``args`` inputs."""
    command = argv[0]
    inject = command in _JSON_COMMANDS and not has_output_option(argv[1:])
    run = run_crafter([*argv, "-o", "json"] if inject else argv, env, json_output=command in _JSON_COMMANDS)
    if inject and run.data is not None:
        print("\n".join(human_lines(run)))
    else:
        sys.stdout.write(run.stdout)
    sys.stdout.flush()
    outputs = {"exit-code": str(run.code), **stdout_outputs(run.stdout, command, gh)}
    if command == "init" and run.code == 0:
        remember_material_files(gh, {}, reset=True)
        if isinstance(run.data, dict):  # the id other jobs add to, with remote state
            outputs["attestation-id"] = str(run.data.get("attestationID", ""))
    elif command == "add" and run.code == 0 and isinstance(run.data, list):
        remember_material_files(gh, material_files(run.data, added_values(argv), gh))
    elif command == "push":
        outputs.update(report_push(gh, env, run, Signing.from_push_argv(argv), show_summary=show_summary))
    elif command == "verify" and show_summary:
        status = "succeeded" if run.code == 0 else f"failed (exit code {run.code})"
        gh.summary(f"### crafter verify {status}")
    gh.set_outputs(outputs)
    return run.code


def with_env_inputs(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the ``state`` and ``attestation-id`` inputs as CRAFTER_STATE and CRAFTER_ATTESTATION_ID."""
    out = dict(env)
    for name, variable in ENV_INPUTS.items():
        value = env.get(name, "").strip()
        if value:
            out[variable] = value
    return out


def main(environ: Mapping[str, str] | None = None) -> int:
    env = with_env_inputs(os.environ if environ is None else environ)
    gh = GitHub.from_env(env)
    command = env.get("INPUT_COMMAND", "").strip()
    try:
        show_summary = truthy(env.get("INPUT_SHOW_SUMMARY"), "show-summary", default=True)
        if command in {"", "attest"}:
            from crafter._internal.cli.action_attest import attest

            return attest(gh, env, show_summary=show_summary)
        argv = build_argv(command, env.get("INPUT_ARGS", ""))
    except ActionInputError as exc:
        gh.error(str(exc))
        gh.set_outputs({"exit-code": "2"})
        return 2
    return run_command(gh, env, argv, show_summary=show_summary)


if __name__ == "__main__":  # pragma: no cover - ``python -m crafter._internal.cli.action``
    # Run the imported module's main, not this ``__main__`` copy: action_attest imports crafter._internal.cli.action,
    # and its ActionInputError must be the one main catches.
    from crafter._internal.cli import action

    sys.exit(action.main())
