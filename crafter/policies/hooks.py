"""What :class:`crafter.Crafter` calls to evaluate policies for each material and for the statement."""

from crafter._internal.policies.hooks import PolicyHook

__all__ = ["PolicyHook"]
