"""The seam between crafting and policy evaluation.

The crafter calls a :class:`PolicyHook` for every material it records and for the statement at push; the
hook returns rendered ``PolicyEvaluation`` objects (reference section 3.5) that are stored in the state and
embedded in the predicate before signing. :class:`NoPolicies` is the hook for attestations whose contract
attaches no policy: it evaluates nothing, truthfully.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from crafter._internal.crafting_state import CraftingState, Material

Evaluation = Mapping[str, Any]


class PolicyHook(Protocol):
    def verify_material(
        self, state: CraftingState, material: Material, path: str | None
    ) -> tuple[Evaluation, ...]:
        """Evaluations of the policies that apply to ``material`` whose file is at ``path`` (may be empty)."""
        ...

    def verify_statement(
        self, state: CraftingState, statement: Mapping[str, Any], phase: str = "PUSH"
    ) -> tuple[Evaluation, ...]:
        """Evaluations of the attestation-level policies over the rendered ``statement`` (phase INIT or PUSH)."""
        ...

    def close(self) -> None:
        """Release engines and workers."""
        ...


class NoPolicies:
    """Evaluates nothing: for contracts without policy attachments."""

    def verify_material(
        self, state: CraftingState, material: Material, path: str | None
    ) -> tuple[Evaluation, ...]:
        return ()

    def verify_statement(
        self, state: CraftingState, statement: Mapping[str, Any], phase: str = "PUSH"
    ) -> tuple[Evaluation, ...]:
        return ()

    def close(self) -> None:
        return None
