"""The seam between crafting and policy evaluation.

The crafter calls a :class:`PolicyHook` for every material it records and for the statement at push; the
hook returns :class:`~crafter.PolicyEvaluation` models, stored in the state and rendered into the predicate
before signing (a hook returning dicts, as hooks did in crafter 0.1, is read with a DeprecationWarning).
:class:`NoPolicies` is the hook for attestations whose contract attaches no policy: it evaluates nothing,
truthfully.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from crafter._internal.crafting_state import CraftingState, Material
from crafter._internal.policy_record import PolicyEvaluation


class PolicyHook(Protocol):
    def verify_material(
        self, state: CraftingState, material: Material, path: str | None
    ) -> tuple[PolicyEvaluation, ...]:
        """Evaluations of the policies that apply to ``material`` whose file is at ``path`` (may be empty)."""
        ...

    def verify_statement(
        self, state: CraftingState, statement: Mapping[str, Any], phase: str = "PUSH"
    ) -> tuple[PolicyEvaluation, ...]:
        """Evaluations of the attestation-level policies over the rendered ``statement`` (phase INIT or PUSH)."""
        ...

    def close(self) -> None:
        """Release engines and workers."""
        ...


class NoPolicies:
    """Evaluates nothing: for contracts without policy attachments."""

    def verify_material(
        self, state: CraftingState, material: Material, path: str | None
    ) -> tuple[PolicyEvaluation, ...]:
        return ()

    def verify_statement(
        self, state: CraftingState, statement: Mapping[str, Any], phase: str = "PUSH"
    ) -> tuple[PolicyEvaluation, ...]:
        return ()

    def close(self) -> None:
        return None
