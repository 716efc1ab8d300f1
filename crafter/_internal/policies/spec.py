"""Policy, PolicyGroup and attachment models (Chainloop's formats), validated at construction.

Parsing documents into these models and loading references lives in :mod:`crafter._internal.policies.documents` and
:mod:`crafter._internal.policies.loader`; arguments in :mod:`crafter._internal.policies.args`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from crafter._internal.policy_record import PolicyReference

#: Material kind name for statement (attestation-level) policies.
ATTESTATION = "ATTESTATION"
PHASES = ("INIT", "PUSH")
MATCH_MODES = ("EXACT", "PREFIX")


def _frozen_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return dict(sorted((value or {}).items()))


@attrs.frozen
class PolicyInput:
    name: str
    description: str = ""
    required: bool = False
    default: str = ""


@attrs.frozen
class PolicyScript:
    """One script of a policy: the kind it evaluates ("" = every kind), its loaded source and its engine."""

    kind: str  # a material kind, ATTESTATION, or "" for any kind
    source: bytes  # Rego text or WASM bytes (base64 already decoded), as loaded
    engine: str  # "rego", "wasm" or a plugin engine name (from `engine:`, else detected)
    origin: str  # "embedded", or the path / URL the script was loaded from
    phases: tuple[str, ...] = ()  # attestation phases it runs in; () = all


@attrs.frozen
class Policy:
    name: str
    scripts: tuple[PolicyScript, ...]
    description: str = ""
    annotations: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    inputs: tuple[PolicyInput, ...] = ()
    finding_type: str = ""
    reference: PolicyReference | None = None  # set by the loader
    # Deprecated single-script form (spec.type + spec.path/embedded): the kind the policy applies to. Its one
    # script has kind "" because Chainloop runs it for whatever is evaluated (reference section 2.2).
    legacy_type: str = ""

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds the policy declares (non-empty ones), in order: what it applies to."""
        if self.legacy_type:
            return (self.legacy_type,)
        return tuple(dict.fromkeys(s.kind for s in self.scripts if s.kind))

    def scripts_for(self, kind: str) -> tuple[PolicyScript, ...]:
        return tuple(s for s in self.scripts if s.kind in ("", kind))

    def phases_for(self, kind: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for s in self.scripts_for(kind) for p in s.phases))


@attrs.frozen
class Selector:
    name: str = ""
    match_mode: str = "EXACT"

    def matches(self, material_name: str) -> bool:
        if not self.name:
            return True
        if self.match_mode == "PREFIX":
            return material_name.startswith(self.name)
        return material_name == self.name


@attrs.frozen
class Attachment:
    """A policy attached by a contract or a group: a reference (or an embedded document) and how to run it."""

    ref: str = ""
    embedded: Mapping[str, Any] | None = None
    selector: Selector = Selector()
    with_: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    requirements: tuple[str, ...] = ()
    gate: bool | None = None
    disabled: bool = False
    timeout: float | None = None  # crafter extension: seconds for one evaluation of this attachment
    allowed_hosts: tuple[str, ...] = ()  # crafter extension: hosts this policy may reach (WASM HTTP)

    def __attrs_post_init__(self) -> None:
        if bool(self.ref) == (self.embedded is not None):
            raise ValueError("an attachment needs exactly one of ref or embedded")


@attrs.frozen
class GroupMaterial:
    kind: str = ""  # "" = name-less selection by type only
    name: str = ""  # may contain {{ inputs.x }} templates
    optional: bool = False
    match_mode: str = "EXACT"
    policies: tuple[Attachment, ...] = ()


@attrs.frozen
class PolicyGroup:
    name: str
    materials: tuple[GroupMaterial, ...] = ()
    attestation: tuple[Attachment, ...] = ()
    description: str = ""
    annotations: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    inputs: tuple[PolicyInput, ...] = ()
    reference: PolicyReference | None = None


@attrs.frozen
class GroupAttachment:
    ref: str
    with_: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    skip: tuple[str, ...] = ()
    gate: bool | None = None
