"""Which signature algorithm goes with which key, in one place for signing and verifying.

One key type means exactly one algorithm, named as Sigstore's ``PublicKeyDetails`` names it, so a verifier
never has to guess (and never accepts a second, weaker scheme for the same key):

================  =====================================  ==========================================
key               algorithm                              Sigstore key details
================  =====================================  ==========================================
ECDSA P-256       ECDSA, SHA-256, DER signature          ``PKIX_ECDSA_P256_SHA_256``
ECDSA P-384       ECDSA, SHA-384, DER signature          ``PKIX_ECDSA_P384_SHA_384``
ECDSA P-521       ECDSA, SHA-512, DER signature          ``PKIX_ECDSA_P521_SHA_512``
Ed25519           pure Ed25519 over the PAE              ``PKIX_ED25519``
RSA 2048/3072/4096 RSASSA-PKCS1-v1_5, SHA-256            ``PKIX_RSA_PKCS1V15_<bits>_SHA256``
================  =====================================  ==========================================

RSA uses PKCS#1 v1.5 rather than PSS because that is what verifiers that ignore key details check (npm
``@sigstore/verify`` passes no algorithm, so Node's default for RSA keys applies: PKCS#1 v1.5, SHA-256) and
what cosign does with an RSA key.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from crafter.errors import SigningError

__all__ = ["SUPPORTED_KEYS", "InvalidSignature", "key_details", "sign", "verify", "verify_digest"]

#: Human-readable list for error messages and docs.
SUPPORTED_KEYS = "ECDSA P-256/P-384/P-521, Ed25519, RSA 2048/3072/4096"

_EC: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    "secp256r1": ("PKIX_ECDSA_P256_SHA_256", hashes.SHA256),
    "secp384r1": ("PKIX_ECDSA_P384_SHA_384", hashes.SHA384),
    "secp521r1": ("PKIX_ECDSA_P521_SHA_512", hashes.SHA512),
}
_RSA_SIZES = (2048, 3072, 4096)


def _public(key: PrivateKeyTypes | PublicKeyTypes) -> PublicKeyTypes:
    if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        return key.public_key()
    return key  # type: ignore[return-value]  # other private types are refused by key_details below


def _describe(key: PrivateKeyTypes | PublicKeyTypes) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"ECDSA {key.curve.name}"
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    return type(key).__name__.removesuffix("PrivateKey").removesuffix("PublicKey")


def key_details(key: PrivateKeyTypes | PublicKeyTypes) -> str:
    """Sigstore's name of the algorithm used with ``key`` (private or public); :class:`SigningError` if the
    key type is not one we sign with."""
    public = _public(key)
    if isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name in _EC:
        return _EC[public.curve.name][0]
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "PKIX_ED25519"
    if isinstance(public, rsa.RSAPublicKey) and public.key_size in _RSA_SIZES:
        return f"PKIX_RSA_PKCS1V15_{public.key_size}_SHA256"
    raise SigningError(
        f"unsupported key type {_describe(key)}",
        hint=f"supported key types: {SUPPORTED_KEYS}",
    )


def sign(private_key: PrivateKeyTypes, data: bytes) -> bytes:
    """Sign ``data`` with the algorithm :func:`key_details` names for the key."""
    key_details(private_key)  # refuses unsupported types and sizes before any signing
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return private_key.sign(data, ec.ECDSA(_EC[private_key.curve.name][1]()))
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise SigningError(f"unsupported key type {_describe(private_key)}")  # pragma: no cover


def verify(public_key: PublicKeyTypes, signature: bytes, data: bytes) -> None:
    """Check ``signature`` over ``data``; raises :class:`InvalidSignature` if it does not verify and
    :class:`SigningError` if the key type is unsupported."""
    key_details(public_key)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(_EC[public_key.curve.name][1]()))
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(signature, data)
    elif isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def verify_digest(public_key: PublicKeyTypes, signature: bytes, digest: bytes, algorithm: str) -> None:
    """Check ``signature`` over a message known only by its ``algorithm`` digest (a Sigstore message
    signature, what ``cosign sign-blob`` writes): ECDSA and RSA sign the digest. Raises
    :class:`InvalidSignature` if it does not verify, :class:`SigningError` for a key that cannot sign a
    digest (pure Ed25519 signs the whole message) or an unknown algorithm."""
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    key_details(public_key)
    if algorithm not in _DIGESTS:
        raise SigningError(f"unsupported digest algorithm {algorithm!r}")
    prehashed = Prehashed(_DIGESTS[algorithm]())
    if len(digest) != prehashed.digest_size:
        raise InvalidSignature()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, digest, ec.ECDSA(prehashed))
    elif isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, digest, padding.PKCS1v15(), prehashed)
    else:
        raise SigningError(
            f"a {_describe(public_key)} key signs the whole message, not its digest",
            hint="give the file itself, not its digest",
        )
