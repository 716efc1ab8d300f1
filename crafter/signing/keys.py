"""Key pairs: make one in cosign's encrypted format, and read a public key to verify with."""

from crafter._internal.signing.keys import generate_key_pair, public_key_from_pem

__all__ = ["generate_key_pair", "public_key_from_pem"]
