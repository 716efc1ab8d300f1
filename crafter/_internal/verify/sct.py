"""Certificate transparency: when the trust root has CT logs, an SCT embedded in the signing certificate
must verify with one of them (RFC 6962 precertificate entry)."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from datetime import UTC

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from crafter._internal.trust import TrustRoot
from crafter._internal.verify.primitives import verifies
from crafter.errors import SignatureError


def check_sct(leaf: x509.Certificate, chain: Sequence[x509.Certificate], root: TrustRoot, where: str) -> str:
    if not root.ct_logs:
        return "not checked: the trust root has no certificate-transparency log"
    try:
        scts = list(
            leaf.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
        )
    except x509.ExtensionNotFound:
        scts = []
    if not scts:
        raise SignatureError(
            f"{where}: the signing certificate has no SCT, and the trust root expects certificates to be in a "
            "certificate-transparency log"
        )
    issuer_key_hash = hashlib.sha256(
        chain[0]
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).digest()
    tbs = leaf.tbs_precertificate_bytes
    for sct in scts:
        log = next((log for log in root.ct_logs if log.log_id == sct.log_id), None)
        if log is None or sct.entry_type != x509.certificate_transparency.LogEntryType.PRE_CERTIFICATE:
            continue
        extensions = sct.extension_bytes
        # RFC 6962 3.2 digitally-signed CertificateTimestamp, precert entry.
        signed = (
            struct.pack(">BBQH", 0, 0, int(sct.timestamp.replace(tzinfo=UTC).timestamp() * 1000), 1)
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack(">H", len(extensions))
            + extensions
        )
        if verifies(
            log.public_key, sct.signature, signed, sct.signature_hash_algorithm
        ) and log.validity.contains(sct.timestamp.replace(tzinfo=UTC)):
            return f"verified (SCT from {log.base_url or log.log_id.hex()})"
    raise SignatureError(
        f"{where}: no SCT of the signing certificate verifies with a certificate-transparency log of the trust root"
    )
