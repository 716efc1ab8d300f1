"""The ``Signer`` interface and the signing family's errors.

A signer signs bytes it is given (the DSSE PAE) and describes its public key. Implementations live beside this
module (``keys.py`` for local PEM and cosign keys, ``kms.py`` for cloud KMS keys, ``keyless.py`` for keyless Sigstore). Callers never call ``sign`` directly
on untrusted backends: :func:`crafter._internal.signing.bundle.sign_statement` is the one wrapper that turns a backend's
exception into :class:`SigningError`.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from crafter.errors import SigningError

__all__ = ["Signer", "SigningError", "VerificationError", "keyid_of"]


class VerificationError(SigningError):
    """A signature, envelope or bundle did not verify."""


def keyid_of(public_key: PublicKeyTypes) -> str:
    """The key id used as bundle ``publicKey.hint`` and DSSE ``keyid``: sha256 hex of the DER
    SubjectPublicKeyInfo, so the id depends on the key alone, not on how its PEM was written."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


class Signer(ABC):
    """Something that holds (or reaches) a private key."""

    @abstractmethod
    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` (the DSSE PAE bytes, already assembled) and return the raw signature."""

    @abstractmethod
    def public_key_pem(self) -> bytes:
        """The public key as a SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``)."""

    @property
    @abstractmethod
    def key_details(self) -> str:
        """The algorithm as Sigstore's ``PublicKeyDetails`` names it, e.g. ``PKIX_ECDSA_P256_SHA_256``."""

    def public_key(self) -> PublicKeyTypes:
        """The public key as a cryptography object (parsed from :meth:`public_key_pem`)."""
        return serialization.load_pem_public_key(self.public_key_pem())

    @property
    def keyid(self) -> str:
        """See :func:`keyid_of`."""
        return keyid_of(self.public_key())

    def sign_bundle(self, payload: bytes, payload_type: str) -> dict[str, Any] | None:
        """Make the whole bundle (signers whose verification material is more than a key hint, such as
        keyless Sigstore: certificate and log entry). ``None``, the default, means: sign the PAE with
        :meth:`sign` and let crafter assemble the bundle."""
        return None
