"""Test-side patch: make moto's KMS sign and verify ``MessageType=DIGEST`` input as given.

Stock moto 5.2 ignores ``MessageType`` and hashes a DIGEST again, so a signature made through securesystemslib's
AWSSigner (which always sends a digest) never verifies with the public key; it also uses the maximum PSS salt
where AWS uses the digest length. Upstream fix: getmoto/moto PR #10202 (not released). Importing this module
patches moto in this process (the ThreadedMotoServer of the tests runs here). :data:`APPLIED` is False when
moto's internals have changed shape, and the tests then skip rather than test a different server.
"""

from __future__ import annotations

import contextvars
import functools
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

_DIGEST: contextvars.ContextVar[bool] = contextvars.ContextVar("kms_digest", default=False)

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


def _hash_of(algorithm: str) -> hashes.HashAlgorithm:
    return _HASHES[algorithm.rsplit("_", 1)[-1]]()


def _rsa_padding(algorithm: str, hash_algorithm: hashes.HashAlgorithm) -> padding.AsymmetricPadding:
    if algorithm.startswith("RSASSA_PSS"):
        return padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)
    return padding.PKCS1v15()


def _chosen(hash_algorithm: hashes.HashAlgorithm) -> Any:
    return utils.Prehashed(hash_algorithm) if _DIGEST.get() else hash_algorithm


def _apply() -> bool:
    try:
        from moto.kms import responses as kms_responses
        from moto.kms import utils as kms_utils

        response_class = kms_responses.KmsResponse
        rsa_class = kms_utils.RSAPrivateKey
        ec_class = kms_utils.ECDSAPrivateKey
        validate = kms_utils.validate_signing_algorithm
        algorithms = kms_utils.SigningAlgorithm
    except (ImportError, AttributeError):
        return False
    if getattr(response_class, "_crafter_digest_patch", False):
        return True

    def with_message_type(method: Any) -> Any:
        @functools.wraps(method)
        def wrapper(self: Any) -> Any:
            token = _DIGEST.set(self._get_param("MessageType") == "DIGEST")
            try:
                return method(self)
            finally:
                _DIGEST.reset(token)

        return wrapper

    def rsa_sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        validate(signing_algorithm, algorithms.rsa_signing_algorithms())
        h = _hash_of(signing_algorithm)
        return self.private_key.sign(message, _rsa_padding(signing_algorithm, h), _chosen(h))  # type: ignore[no-any-return]

    def rsa_verify(self: Any, message: bytes, signature: bytes, signing_algorithm: str) -> bool:
        validate(signing_algorithm, algorithms.rsa_signing_algorithms())
        h = _hash_of(signing_algorithm)
        try:
            self.private_key.public_key().verify(
                signature, message, _rsa_padding(signing_algorithm, h), _chosen(h)
            )
        except InvalidSignature:
            return False
        return True

    def ec_sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        validate(signing_algorithm, self.valid_signing_algorithms)
        return self.private_key.sign(message, ec.ECDSA(_chosen(_hash_of(signing_algorithm))))  # type: ignore[no-any-return]

    def ec_verify(self: Any, message: bytes, signature: bytes, signing_algorithm: str) -> bool:
        validate(signing_algorithm, self.valid_signing_algorithms)
        try:
            self.private_key.public_key().verify(
                signature, message, ec.ECDSA(_chosen(_hash_of(signing_algorithm)))
            )
        except InvalidSignature:
            return False
        return True

    response_class.sign = with_message_type(response_class.sign)
    response_class.verify = with_message_type(response_class.verify)
    rsa_class.sign, rsa_class.verify = rsa_sign, rsa_verify
    ec_class.sign, ec_class.verify = ec_sign, ec_verify
    response_class._crafter_digest_patch = True
    return True


APPLIED = _apply()
