"""``crafter verify``: offline verification of attestation bundles; :mod:`crafter._internal.verify.bundle` lists the
checks and their order, docs/verify.md gives the user's view.

One job per module: ``bundle`` (the entry points), ``request`` (one verification as a request, what
``crafter verify`` runs), ``content`` (what a bundle signs: an envelope or a message
signature, and the signer's key), ``signer`` (the key or certificate, the signer reported), ``evidence``
(log entries and timestamps of key-signed bundles), ``statement`` (the in-toto statement and its summary
fields), ``materials`` (material files or digests, and the contract),
``cas`` (material bytes from a content store), ``replay`` (policy replay), ``result`` (the result models).
Keyless bundles: ``keyless`` (the policy and the order of its checks), ``certificate`` (identity, chain),
``times`` (verified times, RFC 3161 timestamps), ``tlog`` (transparency-log entries), ``checkpoint``
(inclusion proofs and signed checkpoints), ``sct`` (certificate
transparency), ``primitives`` (shared signature and field readers).
"""

from crafter._internal.verify.bundle import verify_bundle, verify_reference
from crafter._internal.verify.cas import open_content_store
from crafter._internal.verify.request import VerifyRequest, verify
from crafter._internal.verify.result import MaterialCheck, ReplayOutcome, SignerInfo, VerifyResult

__all__ = [
    "MaterialCheck",
    "ReplayOutcome",
    "SignerInfo",
    "VerifyRequest",
    "VerifyResult",
    "open_content_store",
    "verify",
    "verify_bundle",
    "verify_reference",
]
