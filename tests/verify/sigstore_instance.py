"""A private Sigstore-like instance for offline keyless tests: root and intermediate CA, short-lived leaf
certificates with Fulcio's extensions and an embedded SCT, a Rekor-like log (signed entry timestamps, Merkle
inclusion proofs, signed checkpoints), a CT log, and the TrustedRoot JSON describing it all.

Real crypto throughout; the Merkle tree is built with RFC 6962's recursive definitions (independently of the
iterative verifier under test).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from crafter._internal.signing.dsse import Envelope, Signature

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
IDENTITY = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
ISSUER = "https://token.actions.githubusercontent.com"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "acme.test"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _der_octets(data: bytes) -> bytes:
    if len(data) < 0x80:
        return b"\x04" + bytes([len(data)]) + data
    width = (len(data).bit_length() + 7) // 8
    return b"\x04" + bytes([0x80 | width]) + len(data).to_bytes(width, "big") + data


def _der_utf8(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 0x80
    return b"\x0c" + bytes([len(data)]) + data


# -- RFC 6962 Merkle tree, by its recursive definitions -------------------------------------------------
def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return _leaf_hash(leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


class Instance:
    """One private instance. ``name`` tells instances apart in names and log origins."""

    def __init__(self, name: str = "acme") -> None:
        self.name = name
        self.root_key = ec.generate_private_key(ec.SECP384R1())
        self.root = self._ca(f"{name}-root", self.root_key, self.root_key, f"{name}-root")
        self.intermediate_key = ec.generate_private_key(ec.SECP384R1())
        self.intermediate = self._ca(
            f"{name}-intermediate", self.intermediate_key, self.root_key, f"{name}-root"
        )
        self.log_key = ec.generate_private_key(ec.SECP256R1())
        self.log_id = hashlib.sha256(spki(self.log_key.public_key())).digest()
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_id = hashlib.sha256(spki(self.ct_key.public_key())).digest()
        self.other_entries = [f"{name} entry {i}".encode() for i in range(6)]  # the log's other leaves

    def _ca(
        self, cn: str, key: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey, issuer: str
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(_name(issuer))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=365))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(
                x509.BasicConstraints(ca=True, path_length=None if key is signer else 0), critical=True
            )
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
            )
        )
        if key is not signer:  # Fulcio's intermediate carries the code-signing EKU
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
        return builder.sign(signer, hashes.SHA384())

    # -- certificates ------------------------------------------------------------------------------------
    def leaf(
        self,
        *,
        identity: str = IDENTITY,
        issuer: str = ISSUER,
        not_before: dt.datetime | None = None,
        minutes: int = 10,
        sct: bool = True,
        code_signing: bool = True,
        email: bool = False,
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """A Fulcio-style leaf: SAN (URI, or e-mail), issuer extensions .1.1 (raw) and .1.8 (UTF8String)."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = not_before or NOW - dt.timedelta(minutes=1)
        san: x509.GeneralName = (
            x509.RFC822Name(identity) if email else x509.UniformResourceIdentifier(identity)
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.intermediate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(minutes=minutes))
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.CODE_SIGNING if code_signing else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.intermediate_key.public_key()),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
            .add_extension(
                x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1"), issuer.encode()),
                critical=False,
            )
            .add_extension(
                x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), _der_utf8(issuer)),
                critical=False,
            )
        )
        if sct:
            # The SCT signs the precertificate's TBS (this one, without the SCT extension): sign it, then
            # add the extension last, so that tbs_precertificate_bytes gives these bytes back.
            tbs = builder.sign(self.intermediate_key, hashes.SHA384()).tbs_certificate_bytes
            builder = builder.add_extension(
                x509.UnrecognizedExtension(
                    x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2"), _der_octets(self._sct_list(tbs, start))
                ),
                critical=False,
            )
        return key, builder.sign(self.intermediate_key, hashes.SHA384())

    def _sct_list(self, tbs: bytes, when: dt.datetime) -> bytes:
        millis = int(when.timestamp() * 1000)
        issuer_key_hash = hashlib.sha256(spki(self.intermediate_key.public_key())).digest()
        signed = (
            struct.pack(">BBQH", 0, 0, millis, 1)
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack(">H", 0)
        )
        signature = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            b"\x00"
            + self.ct_id
            + struct.pack(">QH", millis, 0)
            + b"\x04\x03"
            + struct.pack(">H", len(signature))
            + signature
        )
        one = struct.pack(">H", len(sct)) + sct
        return struct.pack(">H", len(one)) + one

    # -- signing and logging ---------------------------------------------------------------------------
    def envelope(self, key: ec.EllipticCurvePrivateKey, payload: bytes) -> Envelope:
        unsigned = Envelope(payload=payload, payload_type=PAYLOAD_TYPE)
        signature = key.sign(unsigned.pae(), ec.ECDSA(hashes.SHA256()))
        return Envelope(payload, PAYLOAD_TYPE, (Signature("", signature),))

    def dsse_body(self, envelope: Envelope, cert: x509.Certificate) -> bytes:
        pem = cert.public_bytes(serialization.Encoding.PEM)
        body = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(b"envelope").hexdigest()},
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(envelope.payload).hexdigest()},
                "signatures": [{"signature": b64(s.sig), "verifier": b64(pem)} for s in envelope.signatures],
            },
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def tlog_entry(
        self,
        body: bytes,
        integrated: dt.datetime,
        *,
        promise: bool = True,
        proof: bool = True,
        log_key: ec.EllipticCurvePrivateKey | None = None,
    ) -> dict[str, Any]:
        """A Rekor v1 entry for ``body`` at index 4 of a 7-leaf tree, as a bundle's ``tlogEntries`` item."""
        signer = log_key or self.log_key
        leaves = [*self.other_entries[:4], body, *self.other_entries[4:]]
        index, when = 4, int(integrated.timestamp())
        global_index = 1000 + index
        entry: dict[str, Any] = {
            "logIndex": str(global_index),
            "logId": {"keyId": b64(self.log_id)},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": str(when),
            "canonicalizedBody": b64(body),
        }
        if promise:
            signed = json.dumps(
                {
                    "body": b64(body),
                    "integratedTime": when,
                    "logID": self.log_id.hex(),
                    "logIndex": global_index,
                },
                sort_keys=True,
                separators=(",", ":"),
            ).encode()
            entry["inclusionPromise"] = {
                "signedEntryTimestamp": b64(signer.sign(signed, ec.ECDSA(hashes.SHA256())))
            }
        if proof:
            root = _mth(leaves)
            note = f"rekor.{self.name}.test - 42\n{len(leaves)}\n{b64(root)}\n"
            signature = signer.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
            checkpoint = f"{note}\n\u2014 rekor.{self.name}.test {b64(self.log_id[:4] + signature)}\n"
            entry["inclusionProof"] = {
                "logIndex": str(index),
                "rootHash": b64(root),
                "treeSize": str(len(leaves)),
                "hashes": [b64(h) for h in _path(index, leaves)],
                "checkpoint": {"envelope": checkpoint},
            }
        return entry

    def bundle(
        self,
        payload: bytes,
        *,
        leaf: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None = None,
        integrated: dt.datetime | None = None,
        tlog: bool = True,
        timestamps: list[bytes] = (),  # type: ignore[assignment]
        **entry_options: Any,
    ) -> dict[str, Any]:
        """A signed bundle v0.3: envelope signed with the leaf key, its certificate and (``tlog``) an entry."""
        key, cert = leaf or self.leaf()
        envelope = self.envelope(key, payload)
        material: dict[str, Any] = {"certificate": {"rawBytes": b64(der(cert))}, "tlogEntries": []}
        if tlog:
            body = self.dsse_body(envelope, cert)
            material["tlogEntries"] = [self.tlog_entry(body, integrated or NOW, **entry_options)]
        if timestamps:
            material["timestampVerificationData"] = {
                "rfc3161Timestamps": [{"signedTimestamp": b64(t)} for t in timestamps]
            }
        return {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": material,
            "dsseEnvelope": envelope.to_dict(),
        }

    # -- trust root ------------------------------------------------------------------------------------
    def trusted_root(
        self,
        *,
        ca_valid_for: dict[str, str] | None = None,
        tlogs: bool = True,
        ctlogs: bool = True,
        tsa_chain: list[x509.Certificate] = (),  # type: ignore[assignment]
    ) -> dict[str, Any]:
        def log(key: ec.EllipticCurvePrivateKey, log_id: bytes, url: str) -> dict[str, Any]:
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(spki(key.public_key())),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2020-01-01T00:00:00Z"},
                },
                "logId": {"keyId": b64(log_id)},
            }

        document: dict[str, Any] = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(self.log_key, self.log_id, f"https://rekor.{self.name}.test")] if tlogs else [],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "acme.test", "commonName": f"{self.name}-root"},
                    "uri": f"https://fulcio.{self.name}.test",
                    "certChain": {
                        "certificates": [{"rawBytes": b64(der(c))} for c in (self.intermediate, self.root)]
                    },
                    "validFor": ca_valid_for or {"start": "2020-01-01T00:00:00.000Z"},
                }
            ],
            "ctlogs": [log(self.ct_key, self.ct_id, f"https://ct.{self.name}.test")] if ctlogs else [],
            "timestampAuthorities": [],
        }
        if tsa_chain:
            document["timestampAuthorities"] = [
                {
                    "subject": {"organization": "acme.test", "commonName": "tsa"},
                    "uri": f"https://tsa.{self.name}.test",
                    "certChain": {"certificates": [{"rawBytes": b64(der(c))} for c in tsa_chain]},
                    "validFor": {"start": "2020-01-01T00:00:00Z"},
                }
            ]
        return document

    def write_trusted_root(self, path: Path, **options: Any) -> Path:
        path.write_text(json.dumps(self.trusted_root(**options), indent=2))
        return path

    def write_pems(self, directory: Path) -> tuple[Path, Path]:
        roots, intermediates = directory / "roots.pem", directory / "intermediates.pem"
        roots.write_bytes(self.root.public_bytes(serialization.Encoding.PEM))
        intermediates.write_bytes(self.intermediate.public_bytes(serialization.Encoding.PEM))
        return roots, intermediates
