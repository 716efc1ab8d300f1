"""Policy evaluation as a script configures it: :mod:`crafter.policies.options` (limits and engines' options,
given to :class:`crafter.Crafter`) and :mod:`crafter.policies.hooks` (what the crafter calls per material)."""
