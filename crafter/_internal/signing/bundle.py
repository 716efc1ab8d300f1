"""Sigstore bundle v0.3 with a DSSE envelope: signing a statement, writing, reading and verifying bundles.

A key-based bundle carries the key only as a hint (sha256 of its SubjectPublicKeyInfo); the verifier brings
the public key, and its transparency-log and timestamp lists are empty. A keyless bundle (see
:mod:`crafter._internal.signing.keyless`) carries the Fulcio certificate and the Rekor entry instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from crafter._internal.files import read_small_file
from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.signing import algorithms
from crafter._internal.signing.bundle_shape import check_material_shape
from crafter._internal.signing.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, Signature
from crafter._internal.signing.interface import Signer, VerificationError
from crafter._internal.signing.message import MessageSignature
from crafter.errors import CrafterError, SigningError

__all__ = [
    "ACCEPTED_MEDIA_TYPES",
    "BUNDLE_MEDIA_TYPE",
    "DSSE_ENVELOPE",
    "SIGSTORE_BUNDLE",
    "SignedFile",
    "bundle_version",
    "envelope_from_bundle",
    "read_bundle",
    "read_signed",
    "sign_statement",
    "verified_signatures",
    "verify_envelope",
    "write_bundle",
]

#: The media type we write (bundle v0.3, the spelling the protobuf-specs use since v0.3).
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"

#: What :func:`read_bundle` accepts. The ``+json;version=`` spellings are the older ones: v0.3 as Chainloop
#: writes it, and v0.1/v0.2 whose DSSE envelope has the same shape (they differ only in verification
#: material: certificate chains and tlog entries, which key-based verification does not use).
ACCEPTED_MEDIA_TYPES = frozenset(
    {
        BUNDLE_MEDIA_TYPE,
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
    }
)

# Attestations with large embedded policy inputs are big, but a "bundle" beyond this is a wrong file.
MAX_BUNDLE_BYTES = 256 << 20


def sign_statement(
    payload: bytes,
    signer: Signer,
    *,
    payload_type: str = IN_TOTO_PAYLOAD_TYPE,
    timestamp_server: str | None = None,
    http_timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """Sign ``payload`` (the statement, serialised once by the caller) and return the bundle as a JSON dict.

    The signature covers ``PAE(payload_type, payload)`` over exactly these bytes; nothing here re-serialises.
    ``timestamp_server``: the URL of an RFC 3161 timestamp authority; its timestamp over the DSSE signature is
    added to the bundle (:mod:`crafter._internal.signing.timestamp`; a failure is a :class:`SigningError`), its answer
    awaited at most ``http_timeout`` seconds (``--http-timeout``).

    This is the one place a signer backend is called: any exception it raises becomes :class:`SigningError`,
    and the signature is checked against the signer's own public key before it is used, so a backend that
    returns garbage or signs with another key is caught here rather than by the first verifier.
    """
    if not isinstance(payload, bytes):
        raise TypeError(f"payload must be bytes, got {type(payload).__name__}")
    if timestamp_server:  # sign, then an RFC 3161 timestamp over the signature (any signer kind)
        from crafter._internal.signing.timestamp import add_timestamp

        bare = sign_statement(payload, signer, payload_type=payload_type)
        return add_timestamp(bare, timestamp_server, timeout=http_timeout)
    envelope = Envelope(payload=payload, payload_type=payload_type)
    try:
        whole = signer.sign_bundle(payload, payload_type)
    except CrafterError:
        raise
    except Exception as exc:
        raise SigningError(f"signing failed: {exc}") from exc
    if whole is not None:
        return _checked_keyless(whole, payload, payload_type)
    try:
        keyid = signer.keyid
        signature = signer.sign(envelope.pae())
        public_key = signer.public_key()
    except CrafterError:
        raise
    except Exception as exc:
        raise SigningError(f"signing failed: {exc}") from exc
    if not isinstance(signature, bytes) or not signature:
        raise SigningError("signing failed: the signer returned no signature")
    signed = Envelope(payload=payload, payload_type=payload_type, signatures=(Signature(keyid, signature),))
    try:
        verify_envelope(signed, public_key)
    except VerificationError as exc:
        raise SigningError(
            "signing failed: the signature does not verify with the signer's public key"
        ) from exc
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": keyid},
            "tlogEntries": [],
            "timestampVerificationData": {},
        },
        "dsseEnvelope": signed.to_dict(),
    }


def _checked_keyless(bundle: dict[str, Any], payload: bytes, payload_type: str) -> dict[str, Any]:
    """A bundle a signer made whole: same payload and type, and signed by its certificate's key."""
    from crafter._internal.signing.keyless import signing_certificate

    _check_bundle(bundle)
    envelope = envelope_from_bundle(bundle)
    if envelope.payload != payload or envelope.payload_type != payload_type:
        raise SigningError("signing failed: the signer's bundle holds another payload than the statement")
    public_key = signing_certificate(bundle).public_key()
    try:
        verify_envelope(envelope, public_key)
    except VerificationError as exc:
        raise SigningError(
            "signing failed: the signature does not verify with the certificate's key"
        ) from exc
    return bundle


def write_bundle(path: Path, bundle: Mapping[str, Any]) -> None:
    """Write ``bundle`` as JSON to ``path`` atomically (temp file in the same directory, fsync, rename), mode
    0644, creating parent directories. A crash leaves either the old file or the new one, never a torn one."""
    data = (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CrafterError(f"cannot write bundle {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp creates 0600; a bundle is public
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise CrafterError(f"cannot write bundle {path}: {exc.strerror or exc}") from exc
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, and a failure here loses nothing.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_bundle(path: Path) -> dict[str, Any]:
    """Read and check a bundle file: JSON object, accepted media type, a well-formed DSSE envelope.

    Raises :class:`CrafterError` when the file cannot be read and :class:`SigningError` when it is not a
    usable bundle; both name the file.
    """
    return _checked_file(_load_json(path), path)


def _checked_file(bundle: object, path: Path, *, messages: bool = False) -> dict[str, Any]:
    try:
        _check_bundle(bundle, messages=messages)
    except SigningError as exc:
        raise SigningError(f"{path} is not a usable Sigstore bundle: {exc.message}", hint=exc.hint) from exc
    return bundle  # type: ignore[return-value]  # _check_bundle proved it is a dict


#: :attr:`SignedFile.kind` of a Sigstore bundle and of a bare DSSE envelope.
SIGSTORE_BUNDLE = "sigstore-bundle"
DSSE_ENVELOPE = "dsse-envelope"


@attrs.frozen
class SignedFile:
    """What :func:`read_signed` read: a Sigstore bundle, or a bare DSSE envelope (``bundle`` is then empty).
    Exactly one of ``envelope`` (an attestation) and ``message`` (a message signature over a file's digest)
    is set."""

    kind: str  # SIGSTORE_BUNDLE or DSSE_ENVELOPE
    envelope: Envelope | None
    bundle: Mapping[str, Any] = attrs.field(factory=dict)
    message: MessageSignature | None = None

    def __attrs_post_init__(self) -> None:
        if (self.envelope is None) == (self.message is None):
            raise ValueError("a signed file holds a DSSE envelope or a message signature")

    @property
    def version(self) -> tuple[int, int]:
        """The bundle format version from its media type, ``(0, 3)`` for a bare envelope."""
        return bundle_version(self.bundle) if self.bundle else (0, 3)


def read_signed(path: Path) -> SignedFile:
    """Read a Sigstore bundle (checked as :func:`read_bundle` does, a message signature accepted too) or a
    bare DSSE envelope, as Chainloop stores them: an object with ``payloadType`` and no ``mediaType`` is read as an envelope, anything else as
    a bundle, so a broken bundle keeps its specific error. Errors as :func:`read_bundle`'s, naming the file.
    """
    doc = _load_json(path)
    if isinstance(doc, dict) and "mediaType" not in doc and "payloadType" in doc:
        try:
            envelope = Envelope.from_dict(doc)
        except SigningError as exc:
            raise SigningError(f"{path} is not a usable DSSE envelope: {exc.message}") from exc
        return SignedFile(DSSE_ENVELOPE, envelope)
    bundle = _checked_file(doc, path, messages=True)
    if "messageSignature" in bundle:
        return SignedFile(
            SIGSTORE_BUNDLE, None, bundle, message=MessageSignature.from_dict(bundle["messageSignature"])
        )
    return SignedFile(SIGSTORE_BUNDLE, envelope_from_bundle(bundle), bundle)


def bundle_version(bundle: Mapping[str, Any]) -> tuple[int, int]:
    """``(0, 1)``, ``(0, 2)`` or ``(0, 3)`` from an accepted media type."""
    media_type = str(bundle.get("mediaType", ""))
    match = re.search(r"v(\d+)\.(\d+)\+json$|version=(\d+)\.(\d+)$", media_type)
    if match is None:
        raise SigningError(f"unsupported mediaType {media_type!r}")
    major, minor = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    return int(major), int(minor)


def _load_json(path: Path) -> Any:
    # Not a bundle (a FIFO, a device, too large): SigningError, which verify reports as exit 11.
    raw = read_small_file(path, what="bundle", limit=MAX_BUNDLE_BYTES, invalid=SigningError)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SigningError(f"{path} is not a Sigstore bundle: invalid JSON ({exc})") from exc
    except RecursionError as exc:  # the C decoder's depth limit: a bundle is a few levels deep
        raise SigningError(f"{path} is not a Sigstore bundle: JSON nested too deeply") from exc


def _check_bundle(bundle: object, *, messages: bool = False) -> None:
    """A bundle crafter can read: a DSSE envelope, or with ``messages`` a message signature too."""
    if not isinstance(bundle, dict):
        raise SigningError(f"expected a JSON object, got {type(bundle).__name__}")
    media_type = bundle.get("mediaType")
    if not isinstance(media_type, str) or media_type not in ACCEPTED_MEDIA_TYPES:
        raise SigningError(
            f"unsupported mediaType {media_type!r}",
            hint="accepted: " + ", ".join(sorted(ACCEPTED_MEDIA_TYPES)),
        )
    material = bundle.get("verificationMaterial")
    if not isinstance(material, dict):
        raise SigningError("'verificationMaterial' must be an object")
    check_material_shape(material)
    if not messages:
        envelope_from_bundle(bundle)
        return
    if ("dsseEnvelope" in bundle) == ("messageSignature" in bundle):
        raise SigningError("a bundle holds exactly one of 'dsseEnvelope' and 'messageSignature'")
    if "messageSignature" in bundle:
        MessageSignature.from_dict(bundle["messageSignature"])
    else:
        envelope_from_bundle(bundle)


def envelope_from_bundle(bundle: Mapping[str, Any]) -> Envelope:
    """The DSSE envelope of a bundle (signatures double-base64 encoded by old Chainloop versions are
    decoded; see :meth:`Envelope.from_dict`). ``bundle`` is not modified."""
    envelope = bundle.get("dsseEnvelope")
    if envelope is None:
        raise SigningError(
            "the bundle has no 'dsseEnvelope'",
            hint="message-signature bundles sign a blob, not an attestation",
        )
    return Envelope.from_dict(envelope)


def verified_signatures(envelope: Envelope, public_key: PublicKeyTypes) -> list[bytes]:
    """The signatures of ``envelope`` that are valid over its PAE by ``public_key`` (keyids are not used)."""
    data = envelope.pae()
    valid = []
    for signature in envelope.signatures:
        try:
            algorithms.verify(public_key, signature.sig, data)
        except algorithms.InvalidSignature:
            continue
        valid.append(signature.sig)
    return valid


def verify_envelope(envelope: Envelope, public_key: PublicKeyTypes) -> bytes:
    """Check that some signature of ``envelope`` is a valid signature over its PAE by ``public_key``; return
    the payload (the statement bytes, to be parsed by the caller only after this succeeded).

    The signature's ``keyid`` is an unauthenticated hint and is not used to decide; the key decides.
    Raises :class:`VerificationError` when no signature verifies.
    """
    if not envelope.signatures:
        raise VerificationError("the envelope has no signatures")
    if verified_signatures(envelope, public_key):
        return envelope.payload
    raise VerificationError(
        "signature verification failed: no signature of the envelope verifies with the given public key",
        hint="the bundle was altered or signed with another key",
    )
