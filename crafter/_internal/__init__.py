"""crafter's internals: everything behind the public API.

Nothing here is a promise: modules, names and signatures may change in any release. Scripts import from
``crafter`` and the public modules docs/api.md lists; plugins from ``crafter.plugin``.
"""
