"""Cloud KMS keys as cosign spells them, signed through securesystemslib's signers.

========================================================  ===================  =======================
``--key`` (cosign spelling)                               securesystemslib     extra
========================================================  ===================  =======================
``awskms://[ENDPOINT]/KEYID|alias/NAME|ARN``              ``awskms:KEY``       ``aws`` (boto3)
``gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/  ``gcpkms:PATH``      ``gcp``
K/cryptoKeyVersions/V``
``azurekms://VAULT.vault.azure.net/KEY``                  ``azurekms:...``     ``azure``
``hashivault://KEY``                                      ``hv:KEY/VERSION``   ``vault`` (hvac)
========================================================  ===================  =======================

Each backend's libraries are imported only when such a key is used; a missing one is reported with the extra
to install. The signature algorithm is the one :mod:`crafter._internal.signing.algorithms` assigns to the key type (so
an RSA KMS key signs with PKCS#1 v1.5 and SHA-256, and bundles verify with :func:`verify_envelope`); a KMS key
that cannot sign that way is refused before anything is signed. Only AWS is tested (against moto on
loopback); GCP, Azure and Vault go through securesystemslib unchanged and are untested here.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.signing import algorithms
from crafter._internal.signing.interface import Signer
from crafter.errors import CrafterError, SigningError

__all__ = ["KMS_SCHEMES", "KmsReference", "KmsSigner", "load_kms_signer", "parse_kms_reference"]

#: cosign scheme -> (crafter extra, modules the backend needs).
KMS_SCHEMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "awskms": ("aws", ("securesystemslib", "boto3")),
    "gcpkms": ("gcp", ("securesystemslib", "google.cloud.kms")),
    "azurekms": ("azure", ("securesystemslib", "azure.identity", "azure.keyvault.keys")),
    "hashivault": ("vault", ("securesystemslib", "hvac")),
}
#: Attempts of one AWS KMS call, the first included (botocore's "standard" retry mode).
AWS_MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class KmsReference:
    """A parsed cosign KMS reference: ``scheme``, the provider's key name, and an endpoint (AWS only)."""

    scheme: str
    key: str
    endpoint: str | None = None


def parse_kms_reference(ref: str) -> KmsReference:
    """Translate a cosign KMS reference; :class:`SigningError` when it is malformed."""
    scheme, sep, rest = ref.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in KMS_SCHEMES:
        raise SigningError(f"{ref!r} is not a KMS key reference")
    if scheme == "awskms":
        endpoint, slash, key = rest.partition("/")
        if not slash or not key:
            raise SigningError(
                f"invalid AWS KMS reference {ref!r}",
                hint="awskms:///KEYID, awskms:///alias/NAME, awskms:///arn:aws:kms:... "
                "or awskms://ENDPOINT/KEYID",
            )
        return KmsReference(scheme, key, f"https://{endpoint}" if endpoint else None)
    if scheme == "gcpkms":
        parts = rest.split("/")
        if (
            len(parts) != 10
            or parts[::2]
            != [
                "projects",
                "locations",
                "keyRings",
                "cryptoKeys",
                "cryptoKeyVersions",
            ]
            or not all(parts[1::2])
        ):
            raise SigningError(
                f"invalid GCP KMS reference {ref!r}",
                hint="gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V "
                "(the key version is required)",
            )
        return KmsReference(scheme, rest)
    if scheme == "azurekms":
        host, slash, key = rest.partition("/")
        if not host or not slash or not key or "/" in key:
            raise SigningError(
                f"invalid Azure Key Vault reference {ref!r}", hint="azurekms://VAULT.vault.azure.net/KEY"
            )
        return KmsReference(scheme, f"{host}/{key}")
    if not rest or "/" in rest:
        raise SigningError(f"invalid HashiCorp Vault reference {ref!r}", hint="hashivault://KEYNAME")
    return KmsReference(scheme, rest)


def _require(scheme: str) -> None:
    extra, modules = KMS_SCHEMES[scheme]
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise SigningError(
                f"{scheme}:// keys need the Python package {module.split('.')[0]}, which is not installed",
                hint=f"install the {extra} extra: pip install 'crafter-attest[{extra}]'",
            )


def sslib_scheme_for(public_key: PublicKeyTypes) -> str:
    """securesystemslib's name of the scheme :mod:`algorithms` uses for ``public_key``."""
    details = algorithms.key_details(public_key)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ecdsa-sha2-nistp256", "secp384r1": "ecdsa-sha2-nistp384"}.get(
            public_key.curve.name, "ecdsa-sha2-nistp521"
        )
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(public_key, rsa.RSAPublicKey):
        return "rsa-pkcs1v15-sha256"
    raise SigningError(f"unsupported KMS key ({details})")  # pragma: no cover


class KmsSigner(Signer):
    """A :class:`Signer` over a securesystemslib signer (the private key stays in the KMS)."""

    def __init__(self, reference: str, sslib_signer: Any, public_key: PublicKeyTypes) -> None:
        self._reference = reference
        self._signer = sslib_signer
        self._public_key = public_key
        self._details = algorithms.key_details(public_key)

    def sign(self, data: bytes) -> bytes:
        try:
            signature = self._signer.sign(data)
        except Exception as exc:
            raise SigningError(f"KMS signing with {self._reference} failed: {exc}") from exc
        return bytes.fromhex(signature.signature)

    def public_key_pem(self) -> bytes:
        return self._public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def public_key(self) -> PublicKeyTypes:
        return self._public_key

    @property
    def key_details(self) -> str:
        return self._details

    @property
    def reference(self) -> str:
        return self._reference

    def __repr__(self) -> str:
        return f"KmsSigner({self._reference}, {self._details})"


def load_kms_signer(ref: str, *, timeout: float = DEFAULT_TIMEOUT) -> KmsSigner:
    """The signer for a cosign KMS reference; needs the backend's extra and its ambient credentials.

    ``timeout`` (``--http-timeout``) bounds AWS KMS calls as botocore can: connecting, and each read, with at
    most :data:`AWS_MAX_ATTEMPTS` attempts (botocore has no deadline for a whole call). GCP, Azure and Vault
    go through securesystemslib, which offers no timeout: their own defaults apply (docs/security.md)."""
    parsed = parse_kms_reference(ref)
    _require(parsed.scheme)
    try:
        if parsed.scheme == "awskms":
            return _aws(ref, parsed, timeout)
        return _via_import(ref, parsed)
    except CrafterError:
        raise
    except Exception as exc:  # the cloud SDKs raise their own exception families
        raise SigningError(
            f"cannot use KMS key {ref}: {type(exc).__name__}: {exc}",
            hint="check the key name, the credentials and the region/endpoint in the environment",
        ) from exc


def _checked(ref: str, pem: str, sslib_scheme: str) -> PublicKeyTypes:
    public_key = serialization.load_pem_public_key(pem.encode("utf-8"))
    try:
        expected = sslib_scheme_for(public_key)
    except SigningError as exc:
        raise SigningError(f"KMS key {ref}: {exc.message}", hint=exc.hint) from exc
    if sslib_scheme != expected:
        raise SigningError(
            f"KMS key {ref} signs with {sslib_scheme}; crafter bundles use {expected} for this key type",
            hint="for RSA create a PKCS#1 v1.5 SHA-256 signing key",
        )
    return public_key


def _aws(ref: str, parsed: KmsReference, timeout: float) -> KmsSigner:
    import boto3
    from botocore.config import Config
    from securesystemslib.signer import AWSSigner, SSlibKey  # type: ignore[attr-defined]

    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"total_max_attempts": AWS_MAX_ATTEMPTS, "mode": "standard"},
    )
    client = boto3.client("kms", endpoint_url=parsed.endpoint, config=config)
    response = client.get_public_key(KeyId=parsed.key)
    public_key = serialization.load_der_public_key(response["PublicKey"])
    try:
        scheme = sslib_scheme_for(public_key)
    except SigningError as exc:
        raise SigningError(f"KMS key {ref}: {exc.message}", hint=exc.hint) from exc
    algorithm = AWSSigner.aws_algos.get(scheme)
    if algorithm is None or algorithm not in response.get("SigningAlgorithms", []):
        raise SigningError(
            f"AWS KMS key {ref} cannot sign with {algorithm or scheme} "
            f"(it offers {', '.join(response.get('SigningAlgorithms', [])) or 'nothing'})",
            hint="use an ECC_NIST_P256/P384 key, or an RSA key with RSASSA_PKCS1_V1_5_SHA_256",
        )
    signer = AWSSigner(parsed.key, SSlibKey.from_crypto(public_key, scheme=scheme))
    signer.client = client  # the same client (and endpoint) for signing
    return KmsSigner(ref, signer, public_key)


def _via_import(ref: str, parsed: KmsReference) -> KmsSigner:
    from securesystemslib.signer import (  # type: ignore[attr-defined]
        AzureSigner,
        GCPSigner,
        Signer,
        VaultSigner,
    )

    if parsed.scheme == "gcpkms":
        uri, key = GCPSigner.import_(parsed.key)
    elif parsed.scheme == "azurekms":
        host, _, key_name = parsed.key.partition("/")
        uri, key = AzureSigner.import_(host.split(".", 1)[0], key_name)
    else:
        uri, key = VaultSigner.import_(parsed.key)
    public_key = _checked(ref, key.keyval["public"], key.scheme)
    return KmsSigner(ref, Signer.from_priv_key_uri(uri, key), public_key)
