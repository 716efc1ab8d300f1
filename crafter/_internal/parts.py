"""Parts: the materials one machine recorded, as a document another machine merges into its attestation.

A release built by a CI matrix has one attestation: each job records its materials in its own state
(``crafter init``, ``crafter add``) and exports them (``crafter export -o part.json``); the final job starts the
attestation of the release (``crafter init``), merges every part (``crafter merge parts/*.json``) and pushes.

A part (``schemas/part.schema.json``) holds a set of material records (each with the policy evaluations the
recording job made, its annotations, its digest), the recorder's context (CI runner, job URL, environment
variables the contract allows, git head), the id of the attestation that recorded it and the digest of the
contract it was recorded against. Remote state on an OCI registry (``--state oci://``,
:mod:`crafter._internal.storage.remote_state`) stores the same documents, one immutable part per ``add``.

Merge rules (docs/state.md, "Crafting across many machines"): the same material name with the same digest is
one material (merging a part twice changes nothing); another digest is a :class:`MergeConflictError` naming the
material and both sides, and nothing is written; a part recorded against another contract, or for another
workflow, project or version, is refused unless forced. Policies are not run again: each material keeps the
evaluations recorded with it (``push`` still evaluates the attestation-level policies).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from crafter._internal.crafting_state import CraftingState, Material, now_rfc3339
from crafter._internal.policy_record import PolicyEvaluation, as_evaluations
from crafter._internal.runners.head import GitHead
from crafter.errors import ContractError, CrafterError, ExitCode

__all__ = [
    "FORMAT",
    "VERSION",
    "MergeConflictError",
    "MergeResult",
    "Part",
    "PartError",
    "PartRecord",
    "Recorder",
    "export_part",
    "merge_parts",
    "parse_part",
    "read_part",
    "write_part",
]

FORMAT = "crafter-part"
VERSION = 1


class PartError(CrafterError):
    """A part that cannot be read (not a part, another version, malformed, too large), or that belongs to
    another workflow, project or version than the attestation merging it."""

    exit_code = ExitCode.ERROR


class MergeConflictError(CrafterError):
    """Two parts (or a part and the attestation) record one material name with different digests."""

    exit_code = ExitCode.MERGE_CONFLICT


@attrs.frozen
class Recorder:
    """Where a part was recorded: the CI runner and job of the attestation that recorded it."""

    runner_type: str = "RUNNER_TYPE_UNSPECIFIED"
    job_url: str = ""
    environment: str = ""
    env_vars: Mapping[str, str] = attrs.field(factory=dict)
    head: Mapping[str, Any] | None = None
    host: str = ""
    exported_at: str = ""

    def describe(self) -> str:
        """``runner GITHUB_ACTION, job https://...`` (what is known of it)."""
        words = [f"runner {self.runner_type}"]
        name = self.env_vars.get("RUNNER_NAME")  # jobs of one GitHub Actions run share its URL
        if name:
            words.append(f"runner name {name}")
        if self.job_url:
            words.append(f"job {self.job_url}")
        if self.host:
            words.append(f"host {self.host}")
        return ", ".join(words)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"runnerType": self.runner_type}
        if self.job_url:
            d["jobURL"] = self.job_url
        if self.environment:
            d["environment"] = self.environment
        if self.env_vars:
            d["envVars"] = dict(sorted(self.env_vars.items()))
        if self.head is not None:
            d["head"] = dict(self.head)
        if self.host:
            d["host"] = self.host
        if self.exported_at:
            d["exportedAt"] = self.exported_at
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Recorder:
        return cls(
            runner_type=d["runnerType"],
            job_url=d.get("jobURL", ""),
            environment=d.get("environment", ""),
            env_vars=dict(d.get("envVars", {})),
            head=dict(d["head"]) if "head" in d else None,
            host=d.get("host", ""),
            exported_at=d.get("exportedAt", ""),
        )


def _identity(m: Material) -> str:
    """What makes two records of one name the same material: the digest (a digest-less STRING: its value)."""
    return m.digest or f"value:{m.value or ''}"


@attrs.frozen
class PartRecord:
    """One material and the policy evaluations recorded with it (each naming the material)."""

    material: Material
    evaluations: tuple[PolicyEvaluation, ...] = attrs.field(default=(), converter=as_evaluations)

    def __attrs_post_init__(self) -> None:
        for e in self.evaluations:
            if e.material_name != self.material.name:
                raise ValueError(
                    f"an evaluation of material {self.material.name!r} names {e.material_name!r}"
                )


@attrs.frozen
class Part:
    """A set of material records, the recorder's context, the attestation id and the contract digest."""

    attestation_id: str
    contract_digest: str  # "sha256:<hex>" of the contract file; "" without a contract
    workflow: str
    project: str
    version: str
    recorder: Recorder
    records: tuple[PartRecord, ...]
    contract_name: str = ""
    source: str = ""  # where it was read from (not serialised): errors name it

    def __attrs_post_init__(self) -> None:
        names = [r.material.name for r in self.records]
        if len(set(names)) != len(names):
            dup = sorted(n for n in set(names) if names.count(n) > 1)[0]
            raise ValueError(f"material {dup!r} is recorded twice")

    def describe(self) -> str:
        return f"{self.source or 'a part'} ({self.recorder.describe()})"

    def to_dict(self) -> dict[str, Any]:
        contract: dict[str, Any] = {"digest": self.contract_digest}
        if self.contract_name:
            contract["name"] = self.contract_name
        return {
            "format": FORMAT,
            "version": VERSION,
            "attestationID": self.attestation_id,
            "contract": contract,
            "workflow": {"name": self.workflow, "project": self.project, "version": self.version},
            "recorder": self.recorder.to_dict(),
            "materials": [
                {"material": r.material.to_dict(), "evaluations": [e.to_dict() for e in r.evaluations]}
                for r in self.records
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "") -> Part:
        """A part from its document (already checked against ``schemas/part.schema.json``)."""
        return cls(
            attestation_id=d["attestationID"],
            contract_digest=d["contract"]["digest"],
            contract_name=d["contract"].get("name", ""),
            workflow=d["workflow"]["name"],
            project=d["workflow"]["project"],
            version=d["workflow"]["version"],
            recorder=Recorder.from_dict(d["recorder"]),
            records=tuple(
                PartRecord(
                    Material.from_dict(r["material"]["id"], r["material"], validated=False),
                    tuple(map(PolicyEvaluation.from_dict, r["evaluations"])),  # read as written
                )
                for r in d["materials"]
            ),
            source=source,
        )


def export_part(state: CraftingState) -> Part:
    """The materials ``state`` records, with their evaluations and the recorder's context, as a part."""
    a = state.attestation
    by_name: dict[str, list[PolicyEvaluation]] = {}
    for e in a.policy_evaluations:
        if e.material_name in a.materials:
            by_name.setdefault(e.material_name, []).append(e)
    head: GitHead | None = a.head
    recorder = Recorder(
        runner_type=a.runner_type,
        job_url=a.runner_url,
        environment=a.runner_environment,
        env_vars=dict(a.env_vars),
        head=head.to_dict() if head is not None else None,
        host=socket.gethostname(),
        exported_at=now_rfc3339(),
    )
    return Part(
        attestation_id=state.attestation_id,
        contract_digest=a.workflow.schema_revision,
        contract_name=a.workflow.contract_name,
        workflow=a.workflow.name,
        project=a.workflow.project,
        version=a.workflow.version,
        recorder=recorder,
        records=tuple(PartRecord(a.materials[n], tuple(by_name.get(n, ()))) for n in sorted(a.materials)),
    )


def write_part(part: Part, path: Path) -> None:
    """Write ``part`` to ``path`` atomically (a reader never sees half a part)."""
    import json

    from crafter._internal.state_store import write_atomic

    data = json.dumps(part.to_dict(), indent=1, sort_keys=False, ensure_ascii=False) + "\n"
    try:
        write_atomic(path, data.encode())
    except OSError as exc:
        raise PartError(f"{path}: cannot write the part: {exc.strerror}") from exc


def read_part(path: Path) -> Part:
    """Read and check one part; every problem is a :class:`PartError` naming the file."""
    from crafter._internal.document_reader import MAX_DOCUMENT_BYTES
    from crafter._internal.files import open_regular

    with open_regular(path, error=PartError) as fh:
        raw = fh.read_at_most(MAX_DOCUMENT_BYTES)
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise PartError(f"{path}: not a part: larger than {MAX_DOCUMENT_BYTES} bytes")
    return parse_part(raw, str(path))


def parse_part(raw: bytes, source: str) -> Part:
    """Check and parse a part's bytes (``source`` names it in errors: a file, a registry tag)."""
    from crafter._internal.document_reader import load_json
    from crafter._internal.schema_check import validate

    doc = load_json(raw, source, PartError)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PartError(f'{source}: not a crafter part (no "format": "{FORMAT}")')
    if doc.get("version") != VERSION:
        raise PartError(
            f"{source}: part version {doc.get('version')!r} is not supported (this crafter reads {VERSION})",
            hint="export it again with this crafter version",
        )
    validate(doc, doc, source, "part.schema.json", PartError)
    try:
        part = Part.from_dict(doc, source=source)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PartError(f"{source}: malformed part ({exc})") from exc
    from crafter._internal.materials.registry import builtin_kinds, installed_plugin_kinds

    known = set(builtin_kinds()) | set(installed_plugin_kinds())
    for i, record in enumerate(part.records):
        if record.material.kind not in known:
            raise PartError(
                f"{source}: materials[{i}].material.materialType: unknown material kind "
                f"{record.material.kind!r}",
                hint="a part holds the kinds this crafter (and its plugins) records",
            )
    return part


@attrs.frozen
class MergeResult:
    """What a merge did: the parts read, the materials it added, those already recorded alike."""

    attestation_id: str
    parts: tuple[str, ...]
    added: tuple[str, ...]
    unchanged: tuple[str, ...]
    forced: tuple[str, ...] = ()  # why parts were accepted only with force

    def to_dict(self) -> dict[str, Any]:
        return {
            "attestationID": self.attestation_id,
            "parts": list(self.parts),
            "added": list(self.added),
            "unchanged": list(self.unchanged),
            "forced": list(self.forced),
        }


def check_part(state: CraftingState, part: Part, force: bool) -> str | None:
    """Refuse a part made against another contract, or for another workflow, project or version (unless
    ``force``: then the reason is returned, to be reported)."""
    w = state.attestation.workflow
    if part.contract_digest != w.schema_revision:
        why = (
            f"{part.source}: recorded against contract {part.contract_digest or '(none)'}, "
            f"this attestation follows {w.schema_revision or '(none)'}"
        )
        if not force:
            raise ContractError(why, hint="init both with the same contract file, or merge with --force")
        return why
    theirs, ours = (part.workflow, part.project, part.version), (w.name, w.project, w.version)
    if theirs != ours:
        why = (
            f"{part.source}: recorded for workflow/project/version {'/'.join(theirs)}, "
            f"this attestation is {'/'.join(ours)}"
        )
        if not force:
            raise PartError(
                why, hint="init with the same --workflow, --project and --version, or use --force"
            )
        return why
    return None


def merge_parts(
    state: CraftingState, parts: Sequence[Part], force: bool = False
) -> tuple[CraftingState, MergeResult]:
    """``state`` with the materials of ``parts``; raises before changing anything on a conflict or a refused
    part. Each material keeps the evaluations recorded with it; nothing is evaluated again."""
    forced = tuple(why for p in parts if (why := check_part(state, p, force)) is not None)
    incoming: dict[str, tuple[PartRecord, Part]] = {}
    for part in parts:
        for record in part.records:
            name = record.material.name
            seen = incoming.get(name)
            if seen is None:
                incoming[name] = (record, part)
            elif _identity(seen[0].material) != _identity(record.material):
                raise _conflict(name, seen[0].material, seen[1].describe(), record.material, part.describe())
    from crafter._internal.contract import Contract

    contract = Contract.from_state(state.contract)
    for name, (record, part) in incoming.items():
        declared = contract.material(name)
        if declared is not None and declared.kind != record.material.kind:
            raise PartError(
                f"{part.source}: material {name!r} is recorded as {record.material.kind}, "
                f"but the contract declares it {declared.kind}",
                hint="nothing was merged",
            )
    recorded = state.attestation.materials
    added: list[PartRecord] = []
    unchanged: list[str] = []
    for name in sorted(incoming):
        record, part = incoming[name]
        mine = recorded.get(name)
        if mine is None:
            added.append(record)
        elif _identity(mine) == _identity(record.material):
            unchanged.append(name)
        else:
            raise _conflict(
                name,
                mine,
                f"this attestation {state.attestation_id} (its own add or an earlier merge)",
                record.material,
                part.describe(),
            )
    new = state.with_added([r.material for r in added], {r.material.name: r.evaluations for r in added})
    result = MergeResult(
        attestation_id=state.attestation_id,
        parts=tuple(p.source for p in parts),
        added=tuple(r.material.name for r in added),
        unchanged=tuple(unchanged),
        forced=forced,
    )
    return new, result


def _conflict(name: str, first: Material, where1: str, second: Material, where2: str) -> MergeConflictError:
    return MergeConflictError(
        f"material {name!r} conflicts: {where1} records {_identity(first)}, {where2} records {_identity(second)}",
        hint="nothing was merged; record it under different names, or find which job produced the wrong one",
    )
