"""What the GitHub Action tells the runner: step outputs, workflow annotations, the job summary, paths.

GitHub's files and workflow commands, written as its documentation specifies: outputs in the
``name<<DELIMITER`` form (multi-line and hostile values survive), annotations as ``::error file=...::message``
with the escaping GitHub applies (``%``, CR, LF in the message; also ``:`` and ``,`` in a property).
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

__all__ = [
    "Annotation",
    "GitHub",
    "annotation_line",
    "policy_annotations",
    "workspace_path",
]


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


@attrs.frozen
class Annotation:
    """One workflow annotation: ``level`` is ``error``, ``warning`` or ``notice``; ``file`` relative to the
    workspace (GitHub links it in the pull request and the run page)."""

    level: str
    title: str
    message: str
    file: str = ""


def annotation_line(a: Annotation) -> str:
    props = [f"title={_escape_property(a.title)}"]
    if a.file:
        props.insert(0, f"file={_escape_property(a.file)}")
    return f"::{a.level} {','.join(props)}::{_escape_data(a.message)}"


def workspace_path(path: str, workspace: str | None, cwd: Path | None = None) -> str:
    """``path`` relative to the workspace with ``/`` separators, when the file is inside it; else ``""``.

    GitHub only links an annotation's ``file`` relative to the repository root (the workspace)."""
    if not workspace or not path:
        return ""
    base = Path(workspace).resolve()
    target = ((cwd or Path.cwd()) / path).resolve()
    try:
        relative = target.relative_to(base)
    except ValueError:
        return ""
    return relative.as_posix() if target.is_file() else ""


def policy_annotations(
    evaluations: Sequence[Mapping[str, Any]],
    *,
    gate_failures: Sequence[str],
    bypassed: bool,
    files: Mapping[str, str],
) -> list[Annotation]:
    """One annotation per violation: an error for a gated policy that fails the push, else a warning.

    ``files`` maps a material name to its file relative to the workspace (``file=`` of the annotation)."""
    blocking = set() if bypassed else set(gate_failures)
    found: list[Annotation] = []
    for e in evaluations:
        material = str(e.get("materialName") or "")
        target = f"material {material}" if material else "the attestation"
        name = str(e.get("name", ""))
        gated = bool(e.get("gate")) and name in blocking
        for v in e.get("violations", []):
            if v.get("suppress"):
                continue
            found.append(
                Annotation(
                    level="error" if gated else "warning",
                    title=f"crafter policy {name}" + (" (gate)" if gated else ""),
                    message=f"{target}: {v.get('message', '')}",
                    file=files.get(material, ""),
                )
            )
    return found


@attrs.define
class GitHub:
    """The runner's files for one step (from its environment); each is optional outside a runner."""

    output_file: str = ""
    summary_file: str = ""
    workspace: str = ""
    runner_temp: str = ""
    log: TextIO = attrs.field(factory=lambda: sys.stderr)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GitHub:
        return cls(
            output_file=env.get("GITHUB_OUTPUT", ""),
            summary_file=env.get("GITHUB_STEP_SUMMARY", ""),
            workspace=env.get("GITHUB_WORKSPACE", ""),
            runner_temp=env.get("RUNNER_TEMP", ""),
        )

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        if not self.output_file:
            return
        # The heredoc form with a random delimiter keeps multi-line values (and hostile ones) intact.
        with open(self.output_file, "a", encoding="utf-8") as fh:
            for name, value in outputs.items():
                delimiter = f"crafter_{secrets.token_hex(8)}"
                fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")

    def annotate(self, annotation: Annotation) -> None:
        # Workflow commands are read from the step's output; stderr keeps stdout the command's own.
        print(annotation_line(annotation), file=self.log)

    def error(self, message: str) -> None:
        self.annotate(Annotation("error", "crafter action", message))

    def warning(self, message: str) -> None:
        self.annotate(Annotation("warning", "crafter action", message))

    def summary(self, markdown: str) -> None:
        if self.summary_file:
            with open(self.summary_file, "a", encoding="utf-8") as fh:
                fh.write(markdown.rstrip("\n") + "\n\n")

    def temp_dir(self, name: str) -> Path:
        """A directory of the action's under ``RUNNER_TEMP`` (the system's temporary directory outside a runner)."""
        import tempfile

        base = Path(self.runner_temp or tempfile.gettempdir()) / "crafter-action"
        path = base / name
        path.mkdir(parents=True, exist_ok=True)
        return path
