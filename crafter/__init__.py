"""crafter: signed, policy-checked software supply-chain attestations.

The public API is :class:`Crafter` (imported lazily so that ``import crafter`` stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crafter._version import __version__

if TYPE_CHECKING:
    from crafter.crafter import Crafter, PushResult
    from crafter.errors import CrafterError

__all__ = ["Crafter", "CrafterError", "PushResult", "__version__"]


def __getattr__(name: str) -> Any:
    if name in {"Crafter", "PushResult"}:
        from crafter import crafter as _crafter

        return getattr(_crafter, name)
    if name == "CrafterError":
        from crafter.errors import CrafterError

        return CrafterError
    raise AttributeError(f"module 'crafter' has no attribute {name!r}")
