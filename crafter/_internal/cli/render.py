"""Rendering results for the terminal (tables) or for machines (JSON on stdout). Logs go to stderr."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from crafter._internal.crafting_state import Material
    from crafter._internal.materials.interface import ProgressCallback
    from crafter._internal.policy_record import PolicyEvaluation
    from crafter._internal.push_rules import PushResult
    from crafter._internal.state_store import StateEntry
    from crafter._internal.status import Status

#: Files smaller than this are hashed without a progress bar.
PROGRESS_MIN_BYTES = 64 << 20


def _json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


#: Rows of a terminal table shown before it is cut short (``... and N more``); ``status --full`` shows all.
MAX_ROWS = 200


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    # Off a terminal (CI logs, pipes) rich would wrap at 80 columns; keep rows whole instead.
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def more_line(hidden: int, how: str = "use -o json to list them all") -> str:
    """The line that stands for the rows a table leaves out."""
    return f"... and {hidden} more ({how})"


def _long_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], full: bool, how: str
) -> None:
    """A table of up to :data:`MAX_ROWS` rows then the count of the others; all of them with ``full``, as a
    light table past that size (rich lays out a table of thousands of rows in seconds)."""
    if len(rows) <= MAX_ROWS:
        _table(title, columns, rows)
    elif full:
        click.echo(f"{title}:")
        _plain_table(columns, rows)
    else:
        _table(title, columns, rows[:MAX_ROWS])
        click.echo(more_line(len(rows) - MAX_ROWS, how))


def _plain_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A light table for the hot path (``add``): importing rich would cost more than the add itself."""
    widths = [max(len(str(c)), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    for row in [[c.upper() for c in columns], *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _short(digest: str | None) -> str:
    return (digest or "")[:19] + ("…" if digest and len(digest) > 19 else "")


def status_summary(st: Status) -> str:
    """One line: how many materials are set, of how many known, and what is still needed."""
    total = len(st.materials)
    done = sum(1 for m in st.materials if m.set)
    parts = [f"{done} of {total} set" if done != total else f"{total} set"]
    if st.missing:
        parts.append(f"{len(st.missing)} required missing")
    if st.unsatisfied_groups:
        parts.append(f"{len(st.unsatisfied_groups)} group(s) unsatisfied")
    if st.pending_annotations:
        parts.append(f"{len(st.pending_annotations)} annotation(s) to give at push")
    return f"Materials: {', '.join(parts)}; " + ("complete" if st.complete else "incomplete")


def status(st: Status, output: str, headline: str | None = None, full: bool = False) -> None:
    """``full``: every material row and policy line, however many (else :data:`MAX_ROWS` of each)."""
    if output == "json":
        _json(st.to_dict())
        return
    a = st.state.attestation
    w = a.workflow
    if headline:
        click.echo(f"{headline}: {st.state.attestation_id}")
    info = [
        ("Attestation ID", st.state.attestation_id),
        ("Workflow", w.name),
        ("Project", w.project + (f" {w.version}" if w.version else "")),
        ("Contract", w.contract_name or "(none: any material)"),
        ("Initialized", a.initialized_at),
        ("Runner", a.runner_type + (f" {a.runner_url}" if a.runner_url else "")),
    ]
    if a.head is not None:
        info.append(("Git HEAD", a.head.hash + (" (dirty)" if getattr(a.head, "dirty", False) else "")))
    if st.state.dry_run:
        info.append(("Dry run", "yes"))
    _table("Attestation", ["Field", "Value"], info)
    click.echo(status_summary(st))
    how = "use -o json or --full to list them all"
    if st.materials:
        rows = [
            [
                m.name,
                m.kind,
                _yes(m.set),
                "group " + m.group if m.group else _yes(m.required),
                _yes(m.output),
                _short(m.material.digest) if m.material else "",
            ]
            for m in st.materials
        ]
        _long_table("Materials", ["Name", "Kind", "Set", "Required", "Output", "Digest"], rows, full, how)
    if a.env_vars:
        _long_table("Environment", ["Name", "Value"], [[k, v] for k, v in a.env_vars.items()], full, how)
    if a.policy_evaluations:
        strategy = "ENFORCED" if a.block_on_policy_violation else "ADVISORY"
        click.echo(f"Policy violation strategy: {strategy}")
        lines = policy_lines(a.policy_evaluations)
        shown = lines if full else lines[:MAX_ROWS]
        for line in shown:
            click.echo(line)
        if len(shown) < len(lines):
            click.echo(more_line(len(lines) - len(shown), how))
    if st.missing:
        click.echo("Missing required materials: " + ", ".join(st.missing))
    for group, members in st.unsatisfied_groups.items():
        click.echo(f'Group "{group}" needs at least one of: ' + ", ".join(members))
    if st.pending_annotations:
        click.echo("Annotations to give at push: " + ", ".join(st.pending_annotations))


def _shown_value(m: Material) -> str:
    if m.kind == "STRING":
        return m.value or ""
    return m.image.name if m.image else (m.filename or "")


def policy_lines(evaluations: Sequence[PolicyEvaluation]) -> list[str]:
    """One line per evaluation (``passed``, ``skipped: reason``, ``N violation(s)``), then each violation."""
    lines = []
    for e in evaluations:
        target = e.material_name or "attestation"
        violations = e.active_violations
        gate = " [gate]" if e.gate else ""
        if violations:
            lines.append(f"policy {e.name} on {target}: {len(violations)} violation(s){gate}")
            lines.extend(f"  - {v.message}" for v in violations)
        elif e.skipped:
            reasons = "; ".join(e.skip_reasons) or "no reason given"
            lines.append(f"policy {e.name} on {target}: skipped ({reasons})")
        else:
            lines.append(f"policy {e.name} on {target}: passed")
    return lines


def materials(items: Sequence[Material], output: str, evaluations: Sequence[PolicyEvaluation] = ()) -> None:
    if output == "json":
        from crafter._internal.descriptors import material_descriptor

        _json(
            [
                {
                    **material_descriptor(m),
                    "material": m.name,
                    "kind": m.kind,
                    "policyEvaluations": [e.to_dict() for e in evaluations if e.material_name == m.name],
                }
                for m in items
            ]
        )
        return
    rows = [[m.name, m.kind, _shown_value(m), m.digest or ""] for m in items]
    _plain_table(["Name", "Kind", "Value", "Digest"], rows)
    for line in policy_lines(evaluations):
        click.echo(line)


def entries(items: Sequence[StateEntry], current: str | None, output: str) -> None:
    from crafter._internal.state_store import state_summary

    if output == "json":
        _json(
            [
                {**state_summary(e.state), "current": e.attestation_id == current}
                if e.state
                else {
                    "attestationID": e.attestation_id,
                    "error": e.error,
                    "current": e.attestation_id == current,
                }
                for e in items
            ]
        )
        return
    if not items:
        click.echo("No attestation in progress.")
        return
    rows = []
    for e in items:
        mark = "*" if e.attestation_id == current else ""
        if e.state is None:
            rows.append([mark, e.attestation_id, f"unreadable: {e.error}", "", "", ""])
            continue
        s = state_summary(e.state)
        rows.append(
            [mark, e.attestation_id, s["workflow"], s["project"], s["initializedAt"], str(s["materials"])]
        )
    _table("Attestations in progress", ["", "ID", "Workflow", "Project", "Initialized", "Materials"], rows)


def policy_status(
    evaluations: Sequence[PolicyEvaluation], gate_failures: Sequence[str] = (), bypassed: bool = False
) -> dict[str, Any]:
    """The policy outcome in one object: ``status`` is ``gated`` (a gated policy has violations and the check
    was not bypassed: push exits with 4), ``violations`` (some, none blocking) or ``passed``; then counts."""
    violated = [e for e in evaluations if e.status == "violated"]
    if gate_failures and not bypassed:
        status = "gated"
    elif violated:
        status = "violations"
    else:
        status = "passed"
    return {
        "status": status,
        "evaluations": len(evaluations),
        "violated": len(violated),
        "violations": sum(len(e.active_violations) for e in violated),
        "skipped": sum(1 for e in evaluations if e.status == "skipped"),
        "gateFailures": list(gate_failures),
        "bypassed": bypassed,
    }


def pushed(result: PushResult, output: str) -> None:
    if output == "json":
        _json(
            {
                "attestationID": result.attestation_id,
                "bundle": str(result.bundle_path),
                "digest": result.payload_digest,
                "gateFailures": list(result.gate_failures),
                "stored": list(result.stored),
                "statement": result.statement,
                "policyStatus": policy_status(result.evaluations, result.gate_failures, result.bypassed),
                # The stored form: material name, violations and gate flag of every evaluation.
                "policyEvaluations": [e.to_dict() for e in result.evaluations],
            }
        )
        return
    for line in policy_lines(result.evaluations):
        click.echo(line)
    click.echo(f"Attestation {result.attestation_id} signed")
    click.echo(f"Statement digest: {result.payload_digest}")
    click.echo(f"Bundle: {result.bundle_path}")
    for location in result.stored:
        click.echo(f"Stored: {location}")


def progress_factory() -> Callable[[str], ProgressCallback | None] | None:
    """A progress bar on stderr for large files, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def for_value(value: str) -> ProgressCallback:
        last = [0.0]
        label = os.path.basename(value)

        def update(done: int, total: int) -> None:
            if total < PROGRESS_MIN_BYTES:
                return
            now = time.monotonic()
            if done < total and now - last[0] < 0.1:
                return
            last[0] = now
            width = 30
            filled = width * done // max(total, 1)
            bar = "█" * filled + "·" * (width - filled)
            end = "\n" if done >= total else ""
            sys.stderr.write(
                f"\rhashing {label} {bar} {done * 100 // max(total, 1):3d}% of {total >> 20} MiB{end}"
            )
            sys.stderr.flush()

        return update

    return for_value


def password_provider(key: str) -> Callable[[], bytes | None]:
    """The key's password: ``CRAFTER_KEY_PASSWORD`` (or ``COSIGN_PASSWORD``), else a prompt on a terminal."""

    def provide() -> bytes | None:
        for var in ("CRAFTER_KEY_PASSWORD", "COSIGN_PASSWORD"):
            if var in os.environ:
                return os.environ[var].encode()
        if sys.stdin.isatty():
            return click.prompt(
                f"Password for {key}", hide_input=True, default="", show_default=False
            ).encode()
        return None

    return provide
