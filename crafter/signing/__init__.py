"""Signing keys for scripts: :mod:`crafter.signing.keys`. Signing itself is :meth:`crafter.Crafter.push`'s;
a signer plugin implements :class:`crafter.plugin.Signer`."""
