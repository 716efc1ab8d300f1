"""What a bundle signs, in the form its log entries and timestamps must bind: a DSSE envelope, or a message
signature with the digest of the artifact it was verified over; and who signed it (:class:`SignerKey`)."""

from __future__ import annotations

from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from crafter._internal.signing import algorithms
from crafter._internal.signing.dsse import Envelope
from crafter._internal.signing.message import Digest, MessageSignature
from crafter.errors import CrafterError

# Pure Ed25519 message signatures cover the file's bytes, which are then read whole.
_MAX_ED25519_MESSAGE = 256 << 20


@attrs.frozen
class SignedContent:
    """Exactly one of ``envelope`` and ``message``; a message signature comes with ``artifact``, the digest
    of the file (or the digest given) it is checked over, and ``artifact_path`` when a file was given."""

    envelope: Envelope | None = None
    message: MessageSignature | None = None
    artifact: Digest | None = None
    artifact_path: Path | None = None

    def __attrs_post_init__(self) -> None:
        if (self.envelope is None) == (self.message is None):
            raise ValueError("signed content is a DSSE envelope or a message signature")
        if self.message is not None and self.artifact is None:
            raise ValueError("a message signature is checked over an artifact digest")

    @property
    def signatures(self) -> list[bytes]:
        if self.envelope is not None:
            return [s.sig for s in self.envelope.signatures]
        assert self.message is not None
        return [self.message.signature]

    def verified_signatures(self, key: PublicKeyTypes) -> list[bytes]:
        """The signatures that verify with ``key``: over the envelope's PAE, or over the artifact's digest.
        :class:`CrafterError` for a key type that cannot be used."""
        if self.envelope is not None:
            from crafter._internal.signing.bundle import verified_signatures

            return verified_signatures(self.envelope, key)
        assert self.message is not None and self.artifact is not None
        signature = self.message.signature
        try:
            if isinstance(key, ed25519.Ed25519PublicKey) and self.artifact_path is not None:
                algorithms.verify(key, signature, self._artifact_bytes())
            else:
                algorithms.verify_digest(key, signature, self.artifact.value, self.artifact.algorithm)
        except algorithms.InvalidSignature:
            return []
        return [signature]

    def _artifact_bytes(self) -> bytes:
        from crafter._internal.files import read_small_file

        assert self.artifact_path is not None
        return read_small_file(self.artifact_path, what="material file", limit=_MAX_ED25519_MESSAGE)


@attrs.frozen
class SignerKey:
    """The key a bundle verified with, and the certificate it came from (keyless, ``--certificate``)."""

    public_key: PublicKeyTypes
    certificate: x509.Certificate | None = None

    def recorded_by(self, data: bytes) -> bool:
        """Whether a log entry's verifier (a certificate or a public key, PEM or DER) is this signer: the
        same certificate for a certificate signer, the same key for a key signer."""
        text = data.lstrip()
        try:
            if text.startswith(b"-----BEGIN CERTIFICATE"):
                recorded: x509.Certificate | PublicKeyTypes = x509.load_pem_x509_certificate(text)
            elif text.startswith(b"-----BEGIN"):
                recorded = serialization.load_pem_public_key(text)
            else:
                try:
                    recorded = x509.load_der_x509_certificate(data)
                except ValueError:
                    recorded = serialization.load_der_public_key(data)
        except (ValueError, TypeError, CrafterError):
            return False
        if isinstance(recorded, x509.Certificate):
            return self.certificate is not None and recorded == self.certificate
        return self.certificate is None and _spki(recorded) == _spki(self.public_key)


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
