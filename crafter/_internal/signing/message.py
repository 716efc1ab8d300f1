"""Message-signature bundles (what ``cosign sign-blob --bundle`` and ``sigstore sign`` write): a signature
over a file's digest instead of a DSSE envelope, and the :class:`Digest` of the file it must match."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from crafter.errors import SigningError, UsageError

__all__ = ["Digest", "MessageSignature"]

# Sigstore's HashAlgorithm names (protobuf-specs) and the hashlib names crafter writes digests with.
_SIGSTORE_HASHES = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}
_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
_DIGEST_TEXT = re.compile(r"(sha256|sha384|sha512):([0-9a-fA-F]+)")


def _known(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in _SIZES:
        raise ValueError(f"unsupported digest algorithm {value!r}")


@attrs.frozen
class Digest:
    """A digest: ``algorithm`` (``sha256``, ``sha384``, ``sha512``) and its raw bytes."""

    algorithm: str = attrs.field(validator=_known)
    value: bytes = attrs.field()

    @value.validator
    def _size(self, attribute: attrs.Attribute[Any], value: bytes) -> None:
        if len(value) != _SIZES[self.algorithm]:
            raise ValueError(
                f"a {self.algorithm} digest has {_SIZES[self.algorithm]} bytes, not {len(value)}"
            )

    @property
    def text(self) -> str:
        return f"{self.algorithm}:{self.value.hex()}"

    @staticmethod
    def parse(text: str) -> Digest | None:
        """``sha256:HEX`` (or sha384/sha512) as a digest; ``None`` when ``text`` is not spelled so."""
        match = _DIGEST_TEXT.fullmatch(text)
        if match is None:
            return None
        algorithm, hexdigest = match.group(1), match.group(2)
        if len(hexdigest) != 2 * _SIZES[algorithm]:
            raise UsageError(
                f"{text}: a {algorithm} digest has {2 * _SIZES[algorithm]} hex digits, not {len(hexdigest)}"
            )
        return Digest(algorithm, bytes.fromhex(hexdigest))

    @staticmethod
    def of_file(path: Path, algorithm: str = "sha256") -> Digest:
        """The digest of the file at ``path`` (read in blocks); :class:`UsageError` when it cannot be read, is
        not a regular file, or changed while it was read."""
        from crafter._internal.files import open_regular

        h = hashlib.new(algorithm)
        done = 0
        with open_regular(path, what="material file", error=UsageError) as fh:
            while block := fh.read(1 << 20):
                h.update(block)
                done += len(block)
            fh.check_unchanged(done)
        return Digest(algorithm, h.digest())


@attrs.frozen
class MessageSignature:
    """A bundle's ``messageSignature``: the signature and the digest it says it signs. That digest is an
    unauthenticated hint (the signature decides); it must still agree with the artifact verified."""

    signature: bytes = attrs.field(validator=attrs.validators.min_len(1))
    digest: Digest | None = None

    @classmethod
    def from_dict(cls, data: object) -> MessageSignature:
        if not isinstance(data, Mapping):
            raise SigningError("'messageSignature' must be an object")
        try:
            signature = base64.b64decode(str(data.get("signature", "")), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SigningError("messageSignature.signature is not base64") from exc
        if not signature:
            raise SigningError("messageSignature has no signature")
        digest = None
        recorded = data.get("messageDigest")
        if recorded is not None:
            if not isinstance(recorded, Mapping):
                raise SigningError("messageSignature.messageDigest must be an object")
            algorithm = _SIGSTORE_HASHES.get(str(recorded.get("algorithm")))
            if algorithm is None:
                raise SigningError(
                    f"messageSignature.messageDigest: unsupported algorithm {recorded.get('algorithm')!r}"
                )
            try:
                digest = Digest(algorithm, base64.b64decode(str(recorded.get("digest", "")), validate=True))
            except (binascii.Error, ValueError) as exc:
                raise SigningError(
                    f"messageSignature.messageDigest.digest is not a {algorithm} digest"
                ) from exc
        return cls(signature, digest)
