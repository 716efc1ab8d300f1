"""How policies are evaluated: time and memory limits, allowed hosts, enforcement, the Rego backend."""

from crafter._internal.policies.options import VerifierOptions

__all__ = ["VerifierOptions"]
