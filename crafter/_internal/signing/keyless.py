"""Keyless Sigstore signing through sigstore-python (the ``sigstore`` extra, imported only when used).

An OIDC identity token (``SIGSTORE_ID_TOKEN``, else the ambient credential ``sigstore.oidc.detect_credential``
finds, e.g. GitHub Actions with ``id-token: write``) is exchanged at Fulcio for a short-lived certificate of an
ephemeral key; the DSSE envelope is signed with that key and logged in Rekor. The bundle then carries the
certificate and the log entry instead of a public key hint.

Key references (what ``crafter push --keyless`` passes to :func:`crafter._internal.signing.load_signer`):
``keyless://`` or ``keyless://production`` (the public-good instance), ``keyless://staging``, and
``keyless://trust-config:PATH`` (a ``ClientTrustConfig`` JSON file for a private instance).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from crafter._internal.signing import algorithms
from crafter._internal.signing.dsse import IN_TOTO_PAYLOAD_TYPE
from crafter._internal.signing.interface import Signer
from crafter.errors import CrafterError, SigningError

__all__ = [
    "KEYLESS_SCHEME",
    "TOKEN_ENV",
    "KeylessOptions",
    "KeylessSigner",
    "bundle_from_sigstore",
    "keyless_reference",
    "parse_keyless_reference",
]

KEYLESS_SCHEME = "keyless"
#: An explicit identity token, used before any ambient credential.
TOKEN_ENV = "SIGSTORE_ID_TOKEN"
_EXTRA_HINT = "install the sigstore extra: pip install 'crafter-attest[sigstore]'"
#: A --trust-config file larger than this is refused (the public-good one is about 10 KiB).
_MAX_TRUST_CONFIG_BYTES = 16 << 20


@dataclass(frozen=True)
class KeylessOptions:
    """Which Sigstore instance to use: production, ``staging``, or the one a trust config file describes."""

    staging: bool = False
    trust_config: Path | None = None


def keyless_reference(*, staging: bool = False, trust_config: Path | None = None) -> str:
    """The key reference for these options (the inverse of :func:`parse_keyless_reference`)."""
    if staging and trust_config is not None:
        raise SigningError("--staging and --trust-config are mutually exclusive")
    if trust_config is not None:
        return f"{KEYLESS_SCHEME}://trust-config:{trust_config}"
    return f"{KEYLESS_SCHEME}://{'staging' if staging else 'production'}"


def parse_keyless_reference(ref: str) -> KeylessOptions:
    rest = ref.partition("://")[2]
    if rest in ("", "production"):
        return KeylessOptions()
    if rest == "staging":
        return KeylessOptions(staging=True)
    if rest.startswith("trust-config:") and rest != "trust-config:":
        return KeylessOptions(trust_config=Path(rest.removeprefix("trust-config:")))
    raise SigningError(
        f"invalid keyless reference {ref!r}",
        hint="keyless://production, keyless://staging or keyless://trust-config:PATH",
    )


def _sigstore() -> Any:
    try:
        import sigstore.sign
    except ImportError as exc:
        raise SigningError(
            "keyless signing needs sigstore-python, which is not installed", hint=_EXTRA_HINT
        ) from exc
    return sigstore


class KeylessSigner(Signer):
    """Signs whole bundles with Fulcio and Rekor; has no long-lived key, so :meth:`sign` is not available."""

    def __init__(self, options: KeylessOptions, *, environ: Mapping[str, str] | None = None) -> None:
        _sigstore()  # fail early, naming the extra, before any policy work happens
        self.options = options
        self._environ = os.environ if environ is None else environ
        if options.trust_config is not None and not options.trust_config.is_file():
            raise SigningError(f"Sigstore trust config {options.trust_config} not found")

    # A keyless signer has no key before it signs; these exist to satisfy the interface.
    def sign(self, data: bytes) -> bytes:
        raise SigningError("a keyless signer signs whole bundles (sign_bundle), not bytes")

    def public_key_pem(self) -> bytes:
        raise SigningError(
            "a keyless signer has no public key before signing: the certificate is in the bundle"
        )

    @property
    def key_details(self) -> str:
        return "PKIX_ECDSA_P256_SHA_256"  # sigstore-python's ephemeral keys

    def __repr__(self) -> str:
        return f"KeylessSigner({self.options})"

    def _trust_config(self) -> Any:
        from sigstore.models import ClientTrustConfig

        if self.options.trust_config is not None:
            from crafter._internal.files import read_small_file

            raw = read_small_file(
                self.options.trust_config,
                what="Sigstore trust config",
                limit=_MAX_TRUST_CONFIG_BYTES,
                error=SigningError,
            )
            try:
                return ClientTrustConfig.from_json(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise SigningError(
                    f"cannot use Sigstore trust config {self.options.trust_config}: {exc}"
                ) from exc
        return ClientTrustConfig.staging() if self.options.staging else ClientTrustConfig.production()

    def identity_token(self) -> Any:
        from sigstore.oidc import IdentityError, IdentityToken, detect_credential

        raw = self._environ.get(TOKEN_ENV)
        if not raw:
            try:
                raw = detect_credential()
            except IdentityError as exc:
                raise SigningError(f"cannot get an ambient OIDC token: {exc}") from exc
        if not raw:
            raise SigningError(
                "keyless signing needs an OIDC identity token and none was found",
                hint=f"run in GitHub Actions with 'permissions: id-token: write', or set {TOKEN_ENV}",
            )
        try:
            return IdentityToken(raw)
        except IdentityError as exc:
            raise SigningError(f"the OIDC identity token is not usable: {exc}") from exc

    def _sign_with_sigstore(self, payload: bytes) -> Any:
        """Fulcio + Rekor through sigstore-python; returns a ``sigstore.models.Bundle`` (needs the network)."""
        from sigstore import dsse
        from sigstore.sign import SigningContext

        token = self.identity_token()
        context = SigningContext.from_trust_config(self._trust_config())
        with context.signer(token, cache=True) as signer:
            return signer.sign_dsse(dsse.Statement(payload))

    def sign_bundle(self, payload: bytes, payload_type: str) -> dict[str, Any]:
        if payload_type != IN_TOTO_PAYLOAD_TYPE:
            raise SigningError(f"keyless signing signs in-toto statements only, not {payload_type}")
        try:
            bundle = self._sign_with_sigstore(payload)
        except CrafterError:
            raise
        except Exception as exc:  # network, Fulcio, Rekor and TUF errors of sigstore-python
            raise SigningError(f"keyless signing failed: {type(exc).__name__}: {exc}") from exc
        return bundle_from_sigstore(bundle, payload)


def bundle_from_sigstore(bundle: Any, payload: bytes) -> dict[str, Any]:
    """Our bundle dict from a sigstore-python ``Bundle``: v0.3 media type, the Fulcio certificate (or chain)
    and the Rekor entry kept as sigstore wrote them; refuses a bundle whose payload is not ``payload``."""
    from crafter._internal.signing.bundle import BUNDLE_MEDIA_TYPE, envelope_from_bundle

    document = json.loads(bundle.to_json())
    if not isinstance(document, dict):
        raise SigningError("sigstore returned a bundle that is not a JSON object")
    document["mediaType"] = document.get("mediaType") or BUNDLE_MEDIA_TYPE
    envelope = envelope_from_bundle(document)
    if envelope.payload != payload:
        raise SigningError("sigstore signed different bytes than the statement (payload changed)")
    material = document.get("verificationMaterial") or {}
    if not material.get("tlogEntries"):
        raise SigningError("the keyless bundle has no transparency log entry")
    signing_certificate(document)  # a leaf certificate must be there
    return document


def certificate_chain(bundle: Mapping[str, Any]) -> list[x509.Certificate]:
    """The certificates of a bundle's verification material, leaf first: ``certificate`` (v0.3) or
    ``x509CertificateChain`` (v0.1/v0.2). Empty for a key-based bundle."""
    import base64

    material = bundle.get("verificationMaterial") or {}
    if "certificate" in material:
        raws = [material["certificate"].get("rawBytes", "")]
    else:
        raws = [
            c.get("rawBytes", "")
            for c in (material.get("x509CertificateChain") or {}).get("certificates", [])
        ]
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(raw, validate=True)) for raw in raws]
    except ValueError as exc:
        raise SigningError(f"the bundle's certificate is not a DER X.509 certificate ({exc})") from exc


def signing_certificate(bundle: Mapping[str, Any]) -> x509.Certificate:
    """The leaf certificate of a keyless bundle; :class:`SigningError` when there is none."""
    chain = certificate_chain(bundle)
    if not chain:
        raise SigningError("the bundle has no signing certificate")
    algorithms.key_details(chain[0].public_key())  # refuses unsupported key types
    return chain[0]


def certificate_public_key_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
