"""Offline verification of attestation bundles (docs/verify.md): :func:`verify` runs a
:class:`VerifyRequest` as ``crafter verify`` does; :func:`verify_bundle` and :func:`verify_reference` take a
file or a reference and keyword arguments."""

from crafter._internal.verify.bundle import verify_bundle, verify_reference
from crafter._internal.verify.request import VerifyRequest, verify
from crafter._internal.verify.result import VerifyResult

__all__ = ["VerifyRequest", "VerifyResult", "verify", "verify_bundle", "verify_reference"]
