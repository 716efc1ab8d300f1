"""What :class:`crafter.Crafter` calls to evaluate policies for each material and for the statement, and the
models a hook returns (:class:`PolicyEvaluation`, with its :class:`PolicyReference` and
:class:`EvaluatedViolation` s)."""

from crafter._internal.policies.hooks import PolicyHook
from crafter._internal.policy_record import EvaluatedViolation, PolicyEvaluation, PolicyReference

__all__ = ["EvaluatedViolation", "PolicyEvaluation", "PolicyHook", "PolicyReference"]
