"""The crafting state: what an attestation in progress holds.

The serialised form follows Chainloop's ``CraftingState`` protojson shape (camelCase, materials keyed by name),
so a state written by Chainloop can be rendered by crafter and the reference's golden files apply. Each model
has one ``to_dict``/``from_dict`` pair; ``from_dict`` never mutates its argument.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from crafter._internal.frozen import EMPTY, FrozenDict, freeze, is_lenient, lenient, thaw
from crafter._internal.materials.interface import ImageInfo, MainComponent
from crafter._internal.materials.registry import builtin_kinds, installed_plugin_kinds
from crafter._internal.policy_record import PolicyEvaluation, as_evaluations
from crafter._internal.runners.head import GitHead

_DNS1123 = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_HEX = frozenset("0123456789abcdef")
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")  # the fast path of is_valid_name
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")  # the fast path of is_valid_digest
_known_kinds = set(builtin_kinds())  # and the plugin kinds found installed so far


def _frozen_sorted(m: Mapping[str, str]) -> FrozenDict[str]:
    return FrozenDict(sorted(m.items())) if m else EMPTY


def _frozen_materials(m: Mapping[str, Material]) -> FrozenDict[Material]:
    return m if isinstance(m, FrozenDict) else FrozenDict(m)


def now_rfc3339() -> str:
    """Current UTC time as RFC 3339 with nanoseconds, as Chainloop writes it."""
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def is_valid_name(name: str) -> bool:
    """DNS-1123 label: what Chainloop accepts as a material name."""
    return 0 < len(name) <= 63 and _DNS1123.issuperset(name) and name[0] != "-" and name[-1] != "-"


def is_valid_digest(digest: str) -> bool:
    """``sha256:`` and 64 lowercase hex digits: the only digest a crafter material records."""
    return len(digest) == 71 and digest.startswith("sha256:") and _HEX.issuperset(digest[7:])


def is_known_kind(kind: str) -> bool:
    """A kind crafter knows: a built-in or Chainloop kind, or one an installed plugin adds."""
    if kind in _known_kinds:
        return True
    if kind in installed_plugin_kinds():  # looked up once per kind and process: plugins are not unloaded
        _known_kinds.add(kind)
        return True
    return False


def _check_material(m: Material) -> None:
    if not isinstance(m.name, str) or not is_valid_name(m.name):
        raise ValueError(
            f"material name {m.name!r} is not valid: expected a DNS-1123 label "
            "(lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit)"
        )
    if not isinstance(m.kind, str) or not is_known_kind(m.kind):
        raise ValueError(
            f"material kind {m.kind!r} of {m.name!r} is not a known kind (built-in, Chainloop or plugin)"
        )
    if m.digest is not None and (not isinstance(m.digest, str) or not is_valid_digest(m.digest)):
        raise ValueError(
            f"material digest {m.digest!r} of {m.name!r} is not valid: expected sha256: and 64 lowercase hex digits"
        )


@attrs.frozen
class Material:
    """One recorded material."""

    name: str
    kind: str
    added_at: str
    digest: str | None = None  # "sha256:<hex>"; absent only in old Chainloop STRING records
    filename: str | None = None
    value: str | None = None  # STRING
    image: ImageInfo | None = None
    main_component: MainComponent | None = None
    annotations: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_sorted)
    output: bool = False
    required: bool = False
    uploaded_to_cas: bool = False
    inline_cas: bool = False

    def __attrs_post_init__(self) -> None:
        if is_lenient():
            return
        digest = self.digest
        if (
            self.kind in _known_kinds
            and type(self.name) is str
            and _NAME.fullmatch(self.name)
            and (digest is None or (type(digest) is str and _SHA256.fullmatch(digest)))
        ):
            return
        _check_material(self)  # which field is wrong, or a plugin kind

    @classmethod
    def lenient(cls, **fields: Any) -> Material:
        """A material built without validation: one another producer recorded (see :func:`lenient`)."""
        with lenient():
            return cls(**fields)

    @property
    def is_subject(self) -> bool:
        return self.output and self.digest is not None and self.kind != "STRING"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.name, "materialType": self.kind, "addedAt": self.added_at}
        if self.kind == "STRING":
            body: dict[str, Any] = {"id": self.name, "value": self.value or ""}
            if self.digest:
                body["digest"] = self.digest
            d["string"] = body
        elif self.image is not None:
            img: dict[str, Any] = {"id": self.name, "name": self.image.name, "digest": self.digest}
            if self.output:
                img["isSubject"] = True
            if self.image.tag:
                img["tag"] = self.image.tag
            if self.image.has_latest_tag is not None:
                img["hasLatestTag"] = self.image.has_latest_tag
            d["containerImage"] = img
        else:
            art: dict[str, Any] = {"id": self.name, "name": self.filename or "", "digest": self.digest}
            if self.output:
                art["isSubject"] = True
            if self.main_component is not None:
                mc = self.main_component
                d["sbomArtifact"] = {
                    "artifact": art,
                    "mainComponent": {"name": mc.name, "version": mc.version, "kind": mc.kind},
                }
            else:
                d["artifact"] = art
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        for key, flag in (
            ("output", self.output),
            ("required", self.required),
            ("uploadedToCas", self.uploaded_to_cas),
            ("inlineCas", self.inline_cas),
        ):
            if flag:
                d[key] = True
        return d

    @classmethod
    def from_dict(cls, name: str, d: Mapping[str, Any], *, validated: bool = True) -> Material:
        """The material ``d`` records; ``validated=False`` reads what another producer wrote without
        crafter's checks (name, kind, digest), which otherwise raise :class:`ValueError` naming the field."""
        if not validated:
            with lenient():
                return cls.from_dict(name, d)
        common: dict[str, Any] = {
            "name": d.get("id", name),
            "kind": d["materialType"],
            "added_at": d.get("addedAt", ""),
            "annotations": d.get("annotations", {}),
            "output": bool(d.get("output", False)),
            "required": bool(d.get("required", False)),
            "uploaded_to_cas": bool(d.get("uploadedToCas", False)),
            "inline_cas": bool(d.get("inlineCas", False)),
        }
        if "string" in d:
            s = d["string"]
            return cls(**common, value=s.get("value", ""), digest=s.get("digest") or None)
        if "containerImage" in d:
            c = d["containerImage"]
            common["output"] = common["output"] or bool(c.get("isSubject", False))
            image = ImageInfo(name=c["name"], tag=c.get("tag") or None, has_latest_tag=c.get("hasLatestTag"))
            return cls(**common, digest=c.get("digest"), image=image)
        main: MainComponent | None = None
        if "sbomArtifact" in d:
            art = d["sbomArtifact"].get("artifact", {})
            mc = d["sbomArtifact"].get("mainComponent")
            if mc:
                main = MainComponent(mc.get("name", ""), mc.get("version", ""), mc.get("kind", ""))
        else:
            art = d["artifact"]
        common["output"] = common["output"] or bool(art.get("isSubject", False))
        return cls(**common, digest=art.get("digest"), filename=art.get("name"), main_component=main)


@attrs.frozen
class WorkflowMetadata:
    """What Chainloop's control plane would supply; here from ``init`` options and the contract."""

    name: str
    project: str
    version: str = ""
    prerelease: bool = False
    team: str = ""
    workflow_id: str = ""
    workflow_run_id: str = ""
    schema_revision: str = ""
    contract_name: str = ""
    organization: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "project": self.project}
        if self.version:
            d["version"] = {"version": self.version, "prerelease": self.prerelease}
        for key, value in (
            ("team", self.team),
            ("workflowId", self.workflow_id),
            ("workflowRunId", self.workflow_run_id),
            ("schemaRevision", self.schema_revision),
            ("contractName", self.contract_name),
            ("organization", self.organization),
        ):
            if value:
                d[key] = value
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WorkflowMetadata:
        version = d.get("version") or {}
        return cls(
            name=d.get("name", ""),
            project=d.get("project", ""),
            version=version.get("version", "") or d.get("projectVersion", ""),
            prerelease=bool(version.get("prerelease", False)),
            team=d.get("team", ""),
            workflow_id=d.get("workflowId", ""),
            workflow_run_id=d.get("workflowRunId", ""),
            schema_revision=d.get("schemaRevision", ""),
            contract_name=d.get("contractName", ""),
            organization=d.get("organization", ""),
        )


@attrs.frozen
class Attestation:
    initialized_at: str
    workflow: WorkflowMetadata
    materials: Mapping[str, Material] = attrs.field(factory=dict, converter=_frozen_materials)
    finished_at: str = ""
    annotations: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_sorted)
    env_vars: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_sorted)
    runner_type: str = "RUNNER_TYPE_UNSPECIFIED"
    runner_url: str = ""
    runner_environment: str = ""
    head: GitHead | None = None
    policy_evaluations: tuple[PolicyEvaluation, ...] = attrs.field(default=(), converter=as_evaluations)
    block_on_policy_violation: bool = False
    bypass_policy_check: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"initializedAt": self.initialized_at}
        if self.finished_at:
            d["finishedAt"] = self.finished_at
        d["workflow"] = self.workflow.to_dict()
        d["materials"] = {name: self.materials[name].to_dict() for name in sorted(self.materials)}
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        if self.env_vars:
            d["envVars"] = dict(self.env_vars)
        d["runnerType"] = self.runner_type
        if self.runner_url:
            d["runnerUrl"] = self.runner_url
        if self.runner_environment:
            d["runnerEnvironment"] = {"environment": self.runner_environment}
        if self.head is not None:
            d["head"] = self.head.to_dict()
        if self.policy_evaluations:
            d["policyEvaluations"] = [e.to_dict() for e in self.policy_evaluations]
        if self.block_on_policy_violation:
            d["blockOnPolicyViolation"] = True
        if self.bypass_policy_check:
            d["bypassPolicyCheck"] = True
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, validated: bool = True) -> Attestation:
        """The attestation ``d`` records; ``validated`` as in :meth:`Material.from_dict`."""
        if not validated:
            with lenient():
                return cls.from_dict(d)
        head = d.get("head")
        return cls(
            initialized_at=d.get("initializedAt", ""),
            finished_at=d.get("finishedAt", ""),
            workflow=WorkflowMetadata.from_dict(d.get("workflow", {})),
            materials={k: Material.from_dict(k, v) for k, v in d.get("materials", {}).items()},
            annotations=d.get("annotations", {}),
            env_vars=d.get("envVars", {}),
            runner_type=d.get("runnerType", "RUNNER_TYPE_UNSPECIFIED"),
            runner_url=d.get("runnerUrl", ""),
            runner_environment=(d.get("runnerEnvironment") or {}).get("environment", ""),
            head=GitHead.from_dict(head) if head else None,
            policy_evaluations=d.get("policyEvaluations", ()),
            block_on_policy_violation=bool(d.get("blockOnPolicyViolation", False)),
            bypass_policy_check=bool(d.get("bypassPolicyCheck", False)),
        )


@attrs.frozen
class CraftingState:
    """An attestation in progress: the contract it follows and what was recorded so far."""

    contract: Mapping[str, Any] = attrs.field(
        converter=freeze
    )  # the normalised contract document (camelCase)
    attestation: Attestation
    dry_run: bool = False
    contract_path: str = ""  # where the contract file was (policy references resolve against it)

    @property
    def attestation_id(self) -> str:
        return self.attestation.workflow.workflow_run_id

    def with_material(self, material: Material) -> CraftingState:
        return self.with_materials((material,))

    def with_materials(self, materials: Sequence[Material]) -> CraftingState:
        """This state with ``materials`` set (each replacing one of the same name), in one copy."""
        merged = {**self.attestation.materials, **{m.name: m for m in materials}}
        return attrs.evolve(self, attestation=attrs.evolve(self.attestation, materials=merged))

    def with_added(
        self,
        materials: Sequence[Material],
        evaluations: Mapping[str, Sequence[PolicyEvaluation | Mapping[str, Any]]],
    ) -> CraftingState:
        """What one ``add`` records: ``materials`` set, and the stored policy evaluations of the materials
        named in ``evaluations`` replaced by those (in the order of ``materials``)."""
        current = self.with_materials(materials)
        kept = tuple(e for e in current.attestation.policy_evaluations if e.material_name not in evaluations)
        added = as_evaluations(e for m in materials for e in evaluations.get(m.name, ()))
        return attrs.evolve(
            current, attestation=attrs.evolve(current.attestation, policy_evaluations=kept + added)
        )

    def to_dict(self) -> dict[str, Any]:
        key = "inputSchema" if "schemaVersion" in self.contract else "schemaV2"
        d: dict[str, Any] = {key: thaw(self.contract), "attestation": self.attestation.to_dict()}
        if self.dry_run:
            d["dryRun"] = True
        if self.contract_path:
            d["contractPath"] = self.contract_path
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CraftingState:
        contract = d.get("schemaV2") or d.get("inputSchema") or {"schemaVersion": "v1"}
        return cls(
            contract=contract,
            attestation=Attestation.from_dict(d["attestation"]),
            dry_run=bool(d.get("dryRun", False)),
            contract_path=str(d.get("contractPath", "")),
        )
