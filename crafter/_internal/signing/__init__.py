"""Signing: DSSE envelopes in Sigstore bundles v0.3, signed with key files, cosign keys, cloud KMS or keyless.

The public API is re-exported here; see docs/signing.md for the formats and the exact bytes signed.
"""

from crafter._internal.signing.bundle import (
    ACCEPTED_MEDIA_TYPES,
    BUNDLE_MEDIA_TYPE,
    envelope_from_bundle,
    read_bundle,
    sign_statement,
    verify_envelope,
    write_bundle,
)
from crafter._internal.signing.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, Signature, pae
from crafter._internal.signing.interface import Signer, SigningError, VerificationError, keyid_of
from crafter._internal.signing.keys import (
    PASSWORD_ENV,
    PasswordProvider,
    PrivateKeySigner,
    generate_key_pair,
    load_signer,
    public_key_from_pem,
)

__all__ = [
    "ACCEPTED_MEDIA_TYPES",
    "BUNDLE_MEDIA_TYPE",
    "IN_TOTO_PAYLOAD_TYPE",
    "PASSWORD_ENV",
    "Envelope",
    "PasswordProvider",
    "PrivateKeySigner",
    "Signature",
    "Signer",
    "SigningError",
    "VerificationError",
    "envelope_from_bundle",
    "generate_key_pair",
    "keyid_of",
    "load_signer",
    "pae",
    "public_key_from_pem",
    "read_bundle",
    "sign_statement",
    "verify_envelope",
    "write_bundle",
]
