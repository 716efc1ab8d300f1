"""A real RFC 3161 timestamp authority for tests: its own CA, a TSA certificate with the critical timeStamping
extended key usage, and CMS SignedData TSTInfo responses signed with it (built with asn1crypto), served over
HTTP on 127.0.0.1.

``TestTSA.mode`` makes it misbehave: ``"ok"``, ``"garbage"`` (not DER), ``"reject"`` (status rejection),
``"http-500"``, ``"wrong-nonce"``, ``"wrong-imprint"``, ``"no-certs"`` (a granted token without the TSA
certificate, as DigiCert answers without certReq).
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import algos, cms, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

POLICY = "1.3.6.1.4.1.99999.1"


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "crafter tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_ca(
    cn: str, *, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA certificate (self-signed root, or issued by ``issuer``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=2))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256()), key


def make_tsa_certificate(
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], *, eku: bool = True
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("crafter test TSA"))
        .issuer_name(issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), critical=False
        )
    )
    purpose = ExtendedKeyUsageOID.TIME_STAMPING if eku else ExtendedKeyUsageOID.CODE_SIGNING
    builder = builder.add_extension(x509.ExtendedKeyUsage([purpose]), critical=True)
    return builder.sign(issuer[1], hashes.SHA256()), key


def pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


class TestTSA:
    """A TSA: root CA -> intermediate CA -> TSA certificate, answering TimeStampReq DER with TimeStampResp."""

    __test__ = False  # not a pytest test class

    def __init__(self, *, eku: bool = True) -> None:
        self.root = make_ca("crafter test TSA root")
        self.intermediate = make_ca("crafter test TSA intermediate", issuer=self.root)
        self.certificate, self.key = make_tsa_certificate(self.intermediate, eku=eku)
        self.mode = "ok"
        self.requests = 0
        self.serial = 1000
        self.url = ""

    @property
    def root_certificate(self) -> x509.Certificate:
        return self.root[0]

    @property
    def intermediate_certificate(self) -> x509.Certificate:
        return self.intermediate[0]

    def respond(self, request_der: bytes, *, when: datetime | None = None) -> bytes:
        request = tsp.TimeStampReq.load(request_der)
        if self.mode == "reject":  # a TimeStampResp without a token; asn1crypto insists on one, so by hand
            status = tsp.PKIStatusInfo(
                {"status": "rejection", "status_string": ["unsupported algorithm"], "fail_info": {"bad_alg"}}
            ).dump()
            return bytes([0x30, len(status)]) + status
        self.serial += 1
        imprint = request["message_imprint"]
        if self.mode == "wrong-imprint":
            imprint = tsp.MessageImprint(
                {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": hashlib.sha256(b"other").digest(),
                }
            )
        info: dict[str, Any] = {
            "version": "v1",
            "policy": POLICY,
            "message_imprint": imprint,
            "serial_number": self.serial,
            "gen_time": (when or datetime.now(UTC)).replace(microsecond=0),
        }
        nonce = request["nonce"].native
        if nonce is not None:
            info["nonce"] = nonce + 1 if self.mode == "wrong-nonce" else nonce
        return self.token_response(
            tsp.TSTInfo(info), embed=self.mode != "no-certs" and bool(request["cert_req"].native)
        )

    def token_response(self, tst_info: tsp.TSTInfo, *, embed: bool) -> bytes:
        content = tst_info.dump()
        leaf = ax509.Certificate.load(self.certificate.public_bytes(serialization.Encoding.DER))
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]}),
                cms.CMSAttribute(
                    {
                        "type": "signing_certificate_v2",
                        "values": [
                            {"certs": [{"cert_hash": hashlib.sha256(leaf.dump()).digest()}]},
                        ],
                    }
                ),
            ]
        )
        signature = self.key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                            {"issuer": leaf.issuer, "serial_number": leaf.serial_number}
                        )
                    }
                ),
                "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "signed_attrs": signed_attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
                "signature": signature,
            }
        )
        signed_data: dict[str, Any] = {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "tst_info", "content": tst_info},
            "signer_infos": [signer],
        }
        if embed:
            inter = ax509.Certificate.load(
                self.intermediate_certificate.public_bytes(serialization.Encoding.DER)
            )
            signed_data["certificates"] = [leaf, inter]
        token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()


def serve(tsa: TestTSA) -> Iterator[TestTSA]:
    """Serve ``tsa`` on 127.0.0.1 (a generator for a pytest fixture); ``tsa.url`` is its endpoint."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            tsa.requests += 1
            if tsa.mode == "http-500":
                self.send_error(500, "TSA out of order")
                return
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_error(415, "expected application/timestamp-query")
                return
            data = b"<html>not a TSA</html>" if tsa.mode == "garbage" else tsa.respond(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsr"
    try:
        yield tsa
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
