"""RFC 3161 timestamps over a DSSE signature: asking a timestamp authority (TSA), parsing and verifying tokens.

A timestamp proves that the signature bytes existed at a time the TSA vouches for, so a bundle can be trusted
after its signing key or certificate has expired. Bundles store the TSA's whole ``TimeStampResp`` (DER) in
``verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp``, as sigstore-python
and Chainloop do; a bare ``TimeStampToken`` (CMS ``ContentInfo``) is accepted too.

The ASN.1 and CMS work is done by ``rfc3161-client`` (the ``timestamp`` extra, also pulled in by
``sigstore``), imported only when a function needs it; the TSA's certificate chain is checked with
``cryptography.x509.verification`` so that only the given roots are trust anchors. See docs/signing.md and
docs/verify.md ("Timestamps").

One job per module: ``request`` (asking a TSA over HTTP), ``token`` (decoding a token and what it says),
``verify`` (imprint, TSA certificate, chain, CMS signature), ``bundle`` (the timestamps of a Sigstore bundle),
``authorities`` (the TSA chain file's roots and intermediates); ``_shared`` holds what they share.
The public API is re-exported here.
"""

from crafter._internal.signing.timestamp.authorities import split_chain
from crafter._internal.signing.timestamp.bundle import (
    add_timestamp,
    bundle_timestamps,
    check_bundle_timestamps,
    check_timestamps,
)
from crafter._internal.signing.timestamp.request import TIMESTAMP_SERVER_ENV, request_timestamp
from crafter._internal.signing.timestamp.token import TimestampInfo, parse_timestamp
from crafter._internal.signing.timestamp.verify import verify_timestamp

__all__ = [
    "TIMESTAMP_SERVER_ENV",
    "TimestampInfo",
    "add_timestamp",
    "bundle_timestamps",
    "check_bundle_timestamps",
    "check_timestamps",
    "parse_timestamp",
    "request_timestamp",
    "split_chain",
    "verify_timestamp",
]
