"""crafter: signed, policy-checked software supply-chain attestations.

:class:`Crafter` and what its methods take and return (:class:`AddResult`, :class:`PushRequest`,
:class:`SigningRequest`, :class:`PushResult`, :class:`PolicyEvaluation`), and :class:`CrafterError`, are
imported from here (lazily, so
that ``import crafter`` stays cheap). The rest of the public API is a few modules: ``crafter.errors``,
``crafter.signing.keys``, ``crafter.verify`` (and ``.keyless``), ``crafter.report``, ``crafter.storage``,
``crafter.policies.options`` and ``.hooks``, and ``crafter.plugin`` for plugin authors; docs/api.md lists
every public name (tools/apidoc.py). Everything else lives in ``crafter._internal`` and may change in any
release.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crafter._version import __version__

if TYPE_CHECKING:
    from crafter._internal.crafter import AddResult, Crafter
    from crafter._internal.policy_record import PolicyEvaluation
    from crafter._internal.push_rules import PushRequest, PushResult, SigningRequest
    from crafter.errors import CrafterError

__all__ = [
    "AddResult",
    "Crafter",
    "CrafterError",
    "PolicyEvaluation",
    "PushRequest",
    "PushResult",
    "SigningRequest",
    "__version__",
]

#: Where each public name lives (imported on first use).
_HOMES = {
    "AddResult": "crafter._internal.crafter",
    "Crafter": "crafter._internal.crafter",
    "CrafterError": "crafter.errors",
    "PolicyEvaluation": "crafter._internal.policy_record",
    "PushRequest": "crafter._internal.push_rules",
    "PushResult": "crafter._internal.push_rules",
    "SigningRequest": "crafter._internal.push_rules",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'crafter' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)
