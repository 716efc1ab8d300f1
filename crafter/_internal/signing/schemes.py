"""Signers by key reference scheme, as securesystemslib's ``SIGNER_FOR_URI_SCHEME``.

A key reference is ``SCHEME://...`` or a path (the ``file`` scheme). Each scheme names a factory
``(reference, KeyContext) -> Signer``. The built-ins are registered below, each importing its backend only when
called; an installed distribution adds a scheme with an entry point in the group ``crafter.signers``
(``NAME = MODULE:FACTORY``, ``NAME`` the scheme), never replacing a built-in one. What a plugin raises (its
factory, or any method of the signer it returns) becomes a :class:`SigningError` naming it
(:mod:`crafter._internal.plugins`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.plugins import Family, plugin_errors, scheme_of
from crafter._internal.signing.interface import Signer
from crafter.errors import SigningError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

__all__ = ["ENTRY_POINT_GROUP", "SIGNERS", "KeyContext", "PluginSigner", "SignerFactory", "signer_for"]

ENTRY_POINT_GROUP = "crafter.signers"
SUPPORTED_REFS = (
    "a path to a PEM or cosign private key, env://VAR, awskms://, gcpkms://, azurekms://, hashivault://"
)
# Schemes cosign understands that crafter does not have yet; anything else is simply unknown.
PLANNED_SCHEMES = frozenset({"k8s", "gitlab"})


@attrs.frozen
class KeyContext:
    """What a signer factory may use besides the reference."""

    #: Returns the password of an encrypted key, or None; call it only for a key that needs one.
    password_provider: Callable[[], bytes | None]
    #: Where environment lookups go (None: the process environment; see :attr:`env`).
    environ: Mapping[str, str] | None = None
    #: Seconds for network calls (``--http-timeout``).
    timeout: float = DEFAULT_TIMEOUT

    @property
    def env(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ


SignerFactory = Callable[[str, KeyContext], Signer]


def _file(ref: str, context: KeyContext) -> Signer:
    from crafter._internal.signing.keys import file_signer

    return file_signer(ref, context)


def _env(ref: str, context: KeyContext) -> Signer:
    from crafter._internal.signing.keys import env_signer

    return env_signer(ref, context)


def _kms(ref: str, context: KeyContext) -> Signer:
    from crafter._internal.signing.kms import load_kms_signer

    return load_kms_signer(ref, timeout=context.timeout)


def _keyless(ref: str, context: KeyContext) -> Signer:
    from crafter._internal.signing import keyless

    return keyless.KeylessSigner(keyless.parse_keyless_reference(ref), environ=context.environ)


#: The built-in schemes (the KMS ones as :data:`crafter._internal.signing.kms.KMS_SCHEMES`; ``keyless`` as
#: :data:`crafter._internal.signing.keyless.KEYLESS_SCHEME`).
BUILTIN: dict[str, SignerFactory] = {
    "file": _file,
    "env": _env,
    "awskms": _kms,
    "gcpkms": _kms,
    "azurekms": _kms,
    "hashivault": _kms,
    "keyless": _keyless,
}
SIGNERS: Family[SignerFactory] = Family("signer", ENTRY_POINT_GROUP, SigningError, BUILTIN)


def signer_for(ref: str, context: KeyContext) -> Signer:
    """The signer ``ref`` names, by its scheme (a path: ``file``)."""
    if ref.lower().startswith("pkcs11:"):  # an RFC 7512 URI has no "//"
        raise SigningError(
            "key reference scheme pkcs11: is not supported yet", hint=f"supported: {_supported()}"
        )
    scheme = scheme_of(ref) or "file"
    plugin = SIGNERS.find(scheme)
    if plugin is None:
        what = "is not supported yet" if scheme in PLANNED_SCHEMES else "is not a known key reference scheme"
        raise SigningError(f"key reference scheme {scheme}:// {what}", hint=f"supported: {_supported()}")
    signer = SIGNERS.call(plugin, ref, context)
    if plugin.origin is None:
        return signer  # type: ignore[no-any-return]
    if not isinstance(signer, Signer):
        raise SigningError(
            f"signer plugin {plugin.label} returned {type(signer).__name__}, not a crafter._internal.signing.Signer"
        )
    return PluginSigner(signer, f"signer plugin {plugin.label}")


def _supported() -> str:
    plugins = SIGNERS.plugin_names()
    return SUPPORTED_REFS + (
        "; installed plugins: " + ", ".join(f"{p}://" for p in plugins) if plugins else ""
    )


class PluginSigner(Signer):
    """A third-party signer, every call of which turns a stray exception into :class:`SigningError`."""

    def __init__(self, inner: Signer, label: str) -> None:
        self.inner = inner
        self._label = label

    def sign(self, data: bytes) -> bytes:
        with plugin_errors(SigningError, f"{self._label}: signing"):
            return self.inner.sign(data)

    def public_key_pem(self) -> bytes:
        with plugin_errors(SigningError, f"{self._label}: its public key"):
            return self.inner.public_key_pem()

    def public_key(self) -> PublicKeyTypes:
        with plugin_errors(SigningError, f"{self._label}: its public key"):
            return self.inner.public_key()

    @property
    def key_details(self) -> str:
        with plugin_errors(SigningError, f"{self._label}: its key details"):
            return self.inner.key_details

    def sign_bundle(self, payload: bytes, payload_type: str) -> dict[str, Any] | None:
        with plugin_errors(SigningError, f"{self._label}: signing"):
            return self.inner.sign_bundle(payload, payload_type)

    def __repr__(self) -> str:
        return f"PluginSigner({self.inner!r})"
