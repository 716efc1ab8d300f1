"""What the keyless checks share: a signature check with a log's key (ECDSA, Ed25519, RSA PKCS#1 v1.5), and
strict readers of the base64 and integer fields of bundle JSON."""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


def verifies(
    key: PublicKeyTypes, signature: bytes, data: bytes, hash_algorithm: hashes.HashAlgorithm | None = None
) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_algorithm or _ec_hash(key)))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, rsa.RSAPublicKey):
            from cryptography.hazmat.primitives.asymmetric import padding

            key.verify(signature, data, padding.PKCS1v15(), hash_algorithm or hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _ec_hash(key: ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    return {"secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}.get(key.curve.name, hashes.SHA256())


def b64_field(value: object) -> bytes | None:
    """Standard base64 as protobuf JSON carries it; line breaks are ignored (Go's decoder, which wrote many
    bundles, ignores them too), anything else outside the alphabet refuses the field."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return None


def integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
