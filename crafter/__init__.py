"""crafter: signed, policy-checked software supply-chain attestations.

:class:`Crafter`, :class:`PushResult` and :class:`CrafterError` are imported from here (lazily, so that
``import crafter`` stays cheap). The rest of the public API is a few modules: ``crafter.errors``,
``crafter.signing.keys``, ``crafter.verify`` (and ``.keyless``), ``crafter.report``, ``crafter.storage``,
``crafter.policies.options`` and ``.hooks``; docs/api.md lists every public name (tools/apidoc.py). Everything
else is internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crafter._version import __version__

if TYPE_CHECKING:
    from crafter.crafter import Crafter
    from crafter.errors import CrafterError
    from crafter.push import PushResult

__all__ = ["Crafter", "CrafterError", "PushResult", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Crafter":
        from crafter.crafter import Crafter

        return Crafter
    if name == "PushResult":
        from crafter.push import PushResult

        return PushResult
    if name == "CrafterError":
        from crafter.errors import CrafterError

        return CrafterError
    raise AttributeError(f"module 'crafter' has no attribute {name!r}")
