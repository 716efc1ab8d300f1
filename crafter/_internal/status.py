"""A read-only view of an attestation in progress: what the contract expects and what is set."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import attrs

from crafter._internal.contract import Contract
from crafter._internal.crafting_state import CraftingState, Material
from crafter._internal.policy_record import PolicyEvaluation


@attrs.frozen
class MaterialStatus:
    name: str
    kind: str
    set: bool
    required: bool
    output: bool = False
    skip_upload: bool = False
    group: str = ""
    in_contract: bool = True
    material: Material | None = None

    def to_dict(self) -> dict[str, Any]:
        m = self.material
        d: dict[str, Any] = {
            "name": self.name,
            "type": self.kind,
            "set": self.set,
            "required": self.required,
            "isOutput": self.output,
            "skipUpload": self.skip_upload,
            "group": self.group,
            "inContract": self.in_contract,
        }
        if m is not None:
            d["value"] = m.value if m.kind == "STRING" else (m.image.name if m.image else m.filename)
            d["digest"] = m.digest
            if m.image and m.image.tag:
                d["tag"] = m.image.tag
            d["annotations"] = dict(m.annotations)
            d["addedAt"] = m.added_at
        return d


@attrs.frozen
class Status:
    state: CraftingState
    materials: tuple[MaterialStatus, ...]
    missing: tuple[str, ...]  # required materials not set yet
    unsatisfied_groups: Mapping[str, tuple[str, ...]]
    pending_annotations: tuple[str, ...]  # contract annotations still to give at push

    def evaluations_for(self, names: list[str]) -> tuple[PolicyEvaluation, ...]:
        """Stored policy evaluations of the given materials, in order."""
        return evaluations_for(self.state, names)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.unsatisfied_groups and not self.pending_annotations

    def to_dict(self) -> dict[str, Any]:
        a = self.state.attestation
        w = a.workflow
        return {
            "attestationID": self.state.attestation_id,
            "initializedAt": a.initialized_at,
            "workflowMeta": {
                "name": w.name,
                "project": w.project,
                "projectVersion": {"version": w.version, "prerelease": w.prerelease},
                "team": w.team,
                "organization": w.organization,
                "contractName": w.contract_name,
                "contractRevision": w.schema_revision,
                "workflowID": w.workflow_id,
            },
            "materials": [m.to_dict() for m in self.materials],
            "envVars": dict(a.env_vars),
            "runnerContext": {"runnerType": a.runner_type, "jobURL": a.runner_url},
            "gitHead": a.head.to_dict() if a.head else None,
            "dryRun": self.state.dry_run,
            "annotations": [{"name": k, "value": v} for k, v in a.annotations.items()],
            "pendingAnnotations": list(self.pending_annotations),
            "missingMaterials": list(self.missing),
            "unsatisfiedGroups": {k: list(v) for k, v in self.unsatisfied_groups.items()},
            "complete": self.complete,
            "policyEvaluations": [e.to_dict() for e in a.policy_evaluations],
        }


def evaluations_for(state: CraftingState, names: Collection[str]) -> tuple[PolicyEvaluation, ...]:
    """Stored policy evaluations of the given materials, in order (without building the whole status)."""
    wanted = set(names)
    return tuple(e for e in state.attestation.policy_evaluations if e.material_name in wanted)


def build_status(state: CraftingState) -> Status:
    contract = Contract.from_state(state.contract)
    present = state.attestation.materials
    rows: list[MaterialStatus] = []
    for cm in contract.materials:
        rows.append(
            MaterialStatus(
                name=cm.name,
                kind=cm.kind,
                set=cm.name in present,
                required=cm.required,
                output=cm.output,
                skip_upload=cm.skip_upload,
                group=cm.group,
                material=present.get(cm.name),
            )
        )
    declared = {cm.name for cm in contract.materials}
    for name in sorted(present):
        if name not in declared:
            m = present[name]
            rows.append(MaterialStatus(name, m.kind, True, False, in_contract=False, material=m))
    groups: dict[str, list[str]] = {}
    for cm in contract.materials:
        if cm.group:
            groups.setdefault(cm.group, []).append(cm.name)
    unsatisfied = {g: tuple(ms) for g, ms in groups.items() if not any(n in present for n in ms)}
    pending = tuple(
        a.name for a in contract.annotations if not a.value and not state.attestation.annotations.get(a.name)
    )
    return Status(
        state=state,
        materials=tuple(rows),
        missing=tuple(r.name for r in rows if r.required and not r.set),
        unsatisfied_groups=unsatisfied,
        pending_annotations=pending,
    )
