"""The GitHub Action's one-step mode (``command`` empty or ``attest``): init, add and push in one step.

Inputs: ``subject-path`` (files or globs, one a line: the statement's subjects), ``materials`` (more files,
one a line, ``NAME=PATH`` to name one), ``contract``, ``key`` or ``keyless``, ``oci``, and ``args`` (more
``push`` options). The attestation in progress lives in a fresh state directory under ``RUNNER_TEMP``, so a
one-step attestation never touches the workspace nor an attestation other steps are building.

Without a contract, the action writes one declaring each subject file as an ``ARTIFACT`` output material
(a subject of the statement, as ``crafter add`` alone would not make it); other materials are recorded with
their detected kind. With a contract, the contract decides: subject files are added under their base names
(``dist/shop-1.0.tar.gz`` as ``shop-1-0-tar-gz``) and are subjects when the contract declares them ``output``.
"""

from __future__ import annotations

import glob
import json
import os
import re
import secrets
import sys
from collections.abc import Mapping, Sequence

from crafter._internal.cli.action import (
    ENV_INPUTS,
    ActionInputError,
    CrafterRun,
    Signing,
    has_output_option,
    human_lines,
    remember_material_files,
    report_push,
    run_crafter,
    split_args,
    stdout_outputs,
    truthy,
)
from crafter._internal.cli.action_github import GitHub, workspace_path

__all__ = ["attest", "expand_lines", "generated_contract", "material_lines"]

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def expand_lines(patterns: Sequence[str], what: str) -> list[str]:
    """Files named by paths or globs (``**`` recursive), in order, each once; a line matching no file is an
    input error."""
    found: list[str] = []
    for pattern in patterns:
        if any(c in pattern for c in "*?[") and not os.path.exists(pattern):
            matches = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
        else:
            matches = [pattern] if os.path.isfile(pattern) else []
        if not matches:
            raise ActionInputError(f"input '{what}': no file matches {pattern!r}")
        found.extend(m for m in matches if m not in found)
    return found


def material_lines(text: str) -> list[tuple[str | None, str]]:
    """The ``materials`` input: ``NAME=PATH`` (one file, named) or a path or glob (named after each file)."""
    out: list[tuple[str | None, str]] = []
    for line in _lines(text):
        name, sep, value = line.partition("=")
        if sep and _NAME.match(name.strip()):
            out.append((name.strip(), value.strip()))
        else:
            out.extend((None, path) for path in expand_lines([line], "materials"))
    return out


def generated_contract(subjects: Sequence[str]) -> dict[str, object]:
    """The contract used when none is given: every subject file an ``ARTIFACT`` output material."""
    from crafter._internal.material_record import name_from_value

    names = [name_from_value(s) for s in subjects]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ActionInputError(
            f"input 'subject-path': several files would be the subject {twice[0]!r} (same base name); "
            "attest them in separate steps or with a contract"
        )
    return {
        "schemaVersion": "v1",
        "materials": [{"type": "ARTIFACT", "name": n, "output": True} for n in names],
    }


def attest(gh: GitHub, env: Mapping[str, str], *, show_summary: bool) -> int:
    """init, add, push; outputs, annotations and the summary as for ``command: push``."""
    from crafter._internal.material_record import name_from_value

    subjects = expand_lines(_lines(env.get("INPUT_SUBJECT_PATH", "")), "subject-path")
    others = material_lines(env.get("INPUT_MATERIALS", ""))
    if not subjects and not others:
        raise ActionInputError("attest needs files: give 'subject-path' (and 'materials'), or set 'command'")
    key = env.get("INPUT_KEY", "").strip()
    keyless = truthy(env.get("INPUT_KEYLESS"), "keyless")
    if bool(key) == keyless:
        raise ActionInputError(
            "attest signs with 'key' (a key reference such as env://RELEASE_KEY) or 'keyless: true', one of them"
        )
    if any(env.get(name, "").strip() for name in ENV_INPUTS):
        raise ActionInputError(
            "attest keeps an attestation of its own: 'state' and 'attestation-id' are for one command per step "
            "(command: init, add, push)"
        )
    push_args = split_args(env.get("INPUT_ARGS", ""))
    if has_output_option(push_args):
        raise ActionInputError("input 'args': the attest mode reads push's JSON output; drop -o/--output")

    state_dir = gh.temp_dir(f"attest-{secrets.token_hex(6)}")
    contract = env.get("INPUT_CONTRACT", "").strip()
    if not contract:
        contract_file = state_dir / "subjects.json"
        contract_file.write_text(json.dumps(generated_contract(subjects), indent=2), encoding="utf-8")
        contract = str(contract_file)
    base = ["--state-dir", str(state_dir / "state")]
    remember_material_files(gh, {}, reset=True)

    init = ["init", "--contract", contract]
    if not env.get("INPUT_CONTRACT", "").strip() and env.get("GITHUB_WORKFLOW"):
        init += ["--workflow", env["GITHUB_WORKFLOW"]]  # the workflow's name, as a contract would name it
    steps: list[list[str]] = [init]
    added: list[tuple[str, str]] = [(name_from_value(s), s) for s in subjects]
    added += [(name or name_from_value(path), path) for name, path in others]
    steps += [["add", "--name", name, "--value", path] for name, path in added]
    push = ["push", *(["--key", key] if key else ["--keyless"])]
    if env.get("INPUT_OCI", "").strip():
        push += ["--oci", env["INPUT_OCI"].strip()]
    if not any(a == "--bundle" or a.startswith("--bundle=") for a in push_args):
        push += ["--bundle", str(gh.temp_dir("bundles"))]
    steps.append([*push, *push_args])

    # One step, one attestation of its own: a job-level CRAFTER_STATE or CRAFTER_ATTESTATION_ID (for the
    # job's other steps) must not send this one's init, adds and push elsewhere.
    own = {k: v for k, v in env.items() if k not in ENV_INPUTS.values()}
    run: CrafterRun | None = None
    for argv in steps:
        run = run_crafter([*base, *argv, "-o", "json"], own, json_output=True)
        if run.data is not None:
            print(
                "\n".join(human_lines(run))
                if run.command in {"add", "push"}
                else f"crafter {run.command}: ok"
            )
        else:
            sys.stdout.write(run.stdout)
        sys.stdout.flush()
        if run.command != "push" and run.code != 0:
            gh.error(f"crafter {run.command} failed (exit code {run.code}); nothing was signed")
            break
    assert run is not None
    files = {name: workspace_path(path, gh.workspace) for name, path in added}
    remember_material_files(gh, files)
    outputs = {"exit-code": str(run.code), **stdout_outputs(run.stdout, run.command, gh)}
    if run.command == "push":
        signing = Signing(key=key, keyless=keyless, staging="--staging" in push_args)
        outputs.update(report_push(gh, env, run, signing, show_summary=show_summary))
    elif show_summary:
        gh.summary(
            f"### crafter attest failed at {run.command} (exit code {run.code})\n\nNothing was signed."
        )
    gh.set_outputs(outputs)
    return run.code
