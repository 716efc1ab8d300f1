"""The former path of the Rego sandbox, which belongs to its engine: :mod:`crafter.policies.engines.sandbox`.

Kept for code that imported it from here; new code imports the engine's module.
"""

from crafter.policies.engines.sandbox import ENV_KEPT, Job, Outcome, Sandbox

__all__ = ["ENV_KEPT", "Job", "Outcome", "Sandbox"]
