"""Who may have signed a keyless bundle: the trust root and the certificate identity to require."""

from crafter._internal.verify.keyless import KeylessPolicy, keyless_policy

__all__ = ["KeylessPolicy", "keyless_policy"]
