"""crafter: signed, policy-checked software supply-chain attestations."""

from crafter._version import __version__

__all__ = ["__version__"]
