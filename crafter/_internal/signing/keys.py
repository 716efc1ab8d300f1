"""Local keys: generating a key pair, loading a signer from a key reference, loading a public key.

A key reference is spelled as cosign spells it: a path to a PEM private key (PKCS#8, encrypted or not, a
traditional OpenSSL PEM, or cosign's own encrypted format, see :mod:`crafter._internal.signing.cosign`), ``env://VAR``
(the PEM held in an environment variable), or a KMS key (``awskms://``, ``gcpkms://``, ``azurekms://``,
``hashivault://``; see :mod:`crafter._internal.signing.kms`), or a scheme an installed plugin adds. Which scheme goes
to which signer is :mod:`crafter._internal.signing.schemes`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from crafter._internal.files import read_small_file
from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.signing import algorithms
from crafter._internal.signing.interface import Signer
from crafter.errors import SigningError

if TYPE_CHECKING:
    from crafter._internal.signing.schemes import KeyContext

__all__ = [
    "PASSWORD_ENV",
    "PasswordProvider",
    "PrivateKeySigner",
    "generate_key_pair",
    "load_signer",
    "public_key_from_pem",
]

#: The environment variable the CLI reads the key password from (documented in docs/signing.md).
PASSWORD_ENV = "CRAFTER_KEY_PASSWORD"

#: Returns the password of an encrypted key, or None when none is available. Called only for encrypted keys.
PasswordProvider = Callable[[], bytes | None]

# A key file is a few KiB; refusing big files keeps a mistaken path (an SBOM, a disk image) from being read.
_MAX_KEY_BYTES = 1 << 20


class PrivateKeySigner(Signer):
    """Signs with a private key held in memory (docs/signing.md lists the algorithms)."""

    def __init__(self, private_key: PrivateKeyTypes) -> None:
        self._key_details = algorithms.key_details(private_key)  # refuse unsupported keys up front
        self._private_key = private_key

    def sign(self, data: bytes) -> bytes:
        return algorithms.sign(self._private_key, data)

    def public_key_pem(self) -> bytes:
        return self._private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def key_details(self) -> str:
        return self._key_details

    def __repr__(self) -> str:  # never show key material
        return f"PrivateKeySigner({self._key_details}, keyid={self.keyid[:12]}…)"


def generate_key_pair(prefix: Path, password: bytes) -> tuple[Path, Path]:
    """Create an ECDSA P-256 key pair as ``PREFIX.key`` and ``PREFIX.pub``; returns both paths.

    ``PREFIX.key`` is a PKCS#8 PEM encrypted with ``password`` (cryptography's best available encryption),
    created with mode 0600 by an exclusive create, so it is never world-readable, not even for a moment, and
    never replaces an existing file. ``PREFIX.pub`` is the SubjectPublicKeyInfo PEM, mode 0644.
    """
    if not password:
        raise SigningError(
            "refusing to write an unencrypted private key: the password is empty",
            hint=f"type a password at the prompt or set {PASSWORD_ENV}",
        )
    key_path = prefix.with_name(prefix.name + ".key")
    pub_path = prefix.with_name(prefix.name + ".pub")
    for path in (key_path, pub_path):
        if path.exists() or path.is_symlink():
            raise SigningError(
                f"{path} already exists; refusing to overwrite it",
                hint="choose another --output-prefix or move the existing key pair away",
            )
    private_key = ec.generate_private_key(ec.SECP256R1())
    key_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    pub_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        key_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SigningError(f"cannot create directory {key_path.parent}: {exc.strerror or exc}") from exc
    _create_exclusive(key_path, key_pem, 0o600)
    try:
        _create_exclusive(pub_path, pub_pem, 0o644)
    except BaseException:
        key_path.unlink(missing_ok=True)  # do not leave half a key pair behind
        raise
    return key_path, pub_path


def _create_exclusive(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL: fail if the path exists, including as a (dangling) symlink, so nothing is ever overwritten or
    # written through a link. The mode is set at creation, then fixed with fchmod because the umask may have
    # removed bits we promise (0644 for the public key).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError as exc:
        raise SigningError(f"{path} already exists; refusing to overwrite it") from exc
    except OSError as exc:
        raise SigningError(f"cannot create {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise SigningError(f"cannot write {path}: {exc.strerror or exc}") from exc


def load_signer(
    ref: str,
    password_provider: PasswordProvider,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Signer:
    """Load the signer a key reference names, by its scheme (:mod:`crafter._internal.signing.schemes`).

    ``ref`` is a path to a PEM private key, ``env://VAR``, a KMS key, ``keyless://`` or a scheme an installed
    plugin adds; ``environ`` is where ``env://`` looks (defaults to ``os.environ``). ``password_provider`` is
    called only if the key is encrypted. ``timeout``: seconds for a KMS's network calls, as far as its client
    allows (:func:`crafter._internal.signing.kms.load_kms_signer`; ``--http-timeout``).
    """
    from crafter._internal.signing.schemes import KeyContext, signer_for

    return signer_for(ref, KeyContext(password_provider, environ, timeout))


def file_signer(ref: str, context: KeyContext) -> Signer:
    """The ``file`` scheme: ``ref`` is a path, or ``file://PATH``."""
    from crafter._internal.plugins import scheme_of

    path = Path(ref[len("file://") :] if scheme_of(ref) == "file" else ref)
    return _signer_from(_read_key_file(path), str(path), context.password_provider)


def env_signer(ref: str, context: KeyContext) -> Signer:
    """The ``env`` scheme: ``env://VAR`` holds the PEM (or cosign) private key."""
    name = ref[ref.index("://") + 3 :]
    if not name:
        raise SigningError(f"invalid key reference {ref!r}: env:// needs a variable name, as in env://VAR")
    value = context.env.get(name)
    if not value:
        raise SigningError(f"environment variable {name} (key reference {ref}) is not set or empty")
    source = f"the key in environment variable {name}"
    return _signer_from(value.encode("utf-8"), source, context.password_provider)


def _signer_from(data: bytes, source: str, password_provider: PasswordProvider) -> Signer:
    key = _parse_private_key(data, source, password_provider)
    try:
        return PrivateKeySigner(key)
    except SigningError as exc:
        raise SigningError(f"{source}: {exc.message}", hint=exc.hint) from exc


def _read_key_file(path: Path) -> bytes:
    return read_small_file(path, what="key file", limit=_MAX_KEY_BYTES, error=SigningError)


def _parse_private_key(data: bytes, source: str, password_provider: PasswordProvider) -> PrivateKeyTypes:
    """Parse a PEM private key; ``source`` names the file (or variable) in every error."""
    from crafter._internal.signing import cosign

    if cosign.is_cosign_key(data):
        cosign_password = password_provider()
        if cosign_password is None:  # cosign allows an empty password, so only "none given" is refused
            raise SigningError(
                f"{source} is an encrypted cosign key and no password was given",
                hint=f"set COSIGN_PASSWORD or {PASSWORD_ENV}, or run interactively to be prompted",
            )
        return cosign.decrypt_cosign_key(data, cosign_password, source)
    if b"-----BEGIN PUBLIC KEY-----" in data or b"-----BEGIN CERTIFICATE-----" in data:
        raise SigningError(f"{source} holds a public key or certificate, not a private key")
    if b"-----BEGIN " not in data:
        raise SigningError(
            f"{source} is not a PEM private key", hint=f"supported key types: {algorithms.SUPPORTED_KEYS}"
        )
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        pass  # encrypted: ask for the password below, and only now
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningError(f"{source} is not a usable PEM private key ({exc})") from exc
    password = password_provider()
    if not password:
        raise SigningError(
            f"{source} is encrypted and no password was given",
            hint=f"set {PASSWORD_ENV} or run interactively to be prompted",
        )
    try:
        return serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningError(
            f"cannot decrypt {source}: wrong password or damaged key",
            hint=f"check the password ({PASSWORD_ENV} or the prompt)",
        ) from exc


def public_key_from_pem(path: Path) -> PublicKeyTypes:
    """Load a SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``) to verify with."""
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningError(f"{path} is not a PEM public key ({exc})") from exc
    try:
        algorithms.key_details(key)  # refuse key types we cannot verify with
    except SigningError as exc:
        raise SigningError(f"{path}: {exc.message}", hint=exc.hint) from exc
    return key
