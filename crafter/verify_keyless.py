"""Keyless verification of a bundle against a :class:`~crafter.trust.TrustRoot`, offline, failing closed.

:func:`verify_keyless` checks, in this order (the first failure raises :class:`SignatureError`):

1. some DSSE signature verifies with the public key of the bundle's leaf certificate;
2. the leaf chains to a certificate authority of the trust root (intermediates from the bundle and the trust
   root; signatures, names, CA constraints, key usage: ``cryptography.x509.verification``), and is a
   code-signing certificate (key usage digitalSignature, extended key usage codeSigning);
3. identity and OIDC issuer match what the caller expects (exact or full-match regular expression); a
   certificate that names an identity must be constrained, as cosign requires;
4. the time of signing, from verified evidence only: RFC 3161 timestamps over the signature, verified against
   the trust root's timestamp authorities, and transparency-log entries whose signed entry timestamp (SET)
   verifies with the log's key. Every entry must bind this envelope and certificate and carry a valid proof
   (SET and/or Merkle inclusion proof with a signed checkpoint). When the trust root has transparency logs, at
   least one entry is required. No evidence at all fails, unless the caller accepts the current time;
5. at every such time the leaf was within its validity window and its chain was valid, with each CA, TSA and
   log inside the window the trust root gives it;
6. certificate transparency: when the trust root has CT logs, an embedded SCT must verify with one of them.

See docs/verify.md ("Keyless bundles").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import struct
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from crafter.errors import CrafterError, SignatureError, UsageError
from crafter.signing import algorithms
from crafter.signing.dsse import Envelope
from crafter.trust import CertificateAuthority, TransparencyLog, TrustRoot

__all__ = [
    "KeylessPolicy",
    "KeylessResult",
    "SigningTime",
    "certificate_identities",
    "keyless_policy",
    "verify_keyless",
]

_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
# sigstore-go and sigstore-python stop at this many timestamps: more is an attempt to make us work.
_MAX_TIMESTAMPS = 32
_MAX_TLOG_ENTRIES = 32


def _regexp(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    try:
        re.compile(value)
    except re.error as exc:
        raise UsageError(
            f"--{attribute.name.replace('_', '-')} is not a valid regular expression: {exc}"
        ) from exc


@attrs.frozen
class KeylessPolicy:
    """What a keyless bundle must satisfy. ``trust_root`` ``None`` means Sigstore public-good's, read from
    the installed sigstore package when needed.

    Identity (``identity`` or ``identity_regexp``) and issuer (``issuer`` or ``issuer_regexp``) are exclusive
    pairs; regular expressions must match the whole value (cosign's are unanchored searches: a forgotten
    ``^…$`` there accepts ``https://evil.example/?https://good``). ``ignore_tlog`` ignores transparency-log
    entries entirely (neither required nor used as evidence); ``allow_current_time`` accepts a bundle with no
    verified signing time when its certificate is valid now (insecure: see docs/verify.md).
    """

    trust_root: TrustRoot | None = None
    identity: str | None = None
    identity_regexp: str | None = attrs.field(default=None, validator=_regexp)
    issuer: str | None = None
    issuer_regexp: str | None = attrs.field(default=None, validator=_regexp)
    ignore_tlog: bool = False
    allow_current_time: bool = False

    def __attrs_post_init__(self) -> None:
        if self.identity is not None and self.identity_regexp is not None:
            raise UsageError("give --certificate-identity or --certificate-identity-regexp, not both")
        if self.issuer is not None and self.issuer_regexp is not None:
            raise UsageError("give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp, not both")

    @property
    def constrains_identity(self) -> bool:
        return self.identity is not None or self.identity_regexp is not None

    @property
    def constrains_issuer(self) -> bool:
        return self.issuer is not None or self.issuer_regexp is not None


@attrs.frozen
class SigningTime:
    """A verified time at which the signature existed, and where it comes from."""

    time: datetime
    source: str  # "rfc3161" | "tlog" | "current-time"
    authority: str = ""  # the TSA's subject, the log's URL

    def describe(self) -> str:
        label = {"rfc3161": "RFC 3161 timestamp", "tlog": "transparency log"}.get(self.source, "current time")
        return f"{self.time.isoformat()} ({label}{', ' + self.authority if self.authority else ''})"

    def to_dict(self) -> dict[str, str]:
        d = {"time": self.time.isoformat(), "source": self.source}
        if self.authority:
            d["authority"] = self.authority
        return d


@attrs.frozen
class KeylessResult:
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # the leaf's issuers, the trust anchor last
    identity: str
    issuer: str
    times: tuple[SigningTime, ...]
    trust_root: str
    tlog_entries: int
    sct: str  # what certificate transparency check was made
    notes: tuple[str, ...] = ()


def verify_keyless(
    bundle: Mapping[str, Any],
    envelope: Envelope,
    certificates: Sequence[x509.Certificate],
    policy: KeylessPolicy,
    *,
    where: str,
    now: datetime | None = None,
) -> KeylessResult:
    """Verify a keyless bundle (``certificates``: leaf first, from its verification material) against
    ``policy``. ``where`` names the bundle in messages. Raises :class:`SignatureError` (not genuine or not
    trusted) or :class:`UsageError` (missing expectations, no trust root)."""
    from crafter.trust import sigstore_trust_root

    leaf = certificates[0]
    signature = _verified_signature(envelope, leaf, where)
    root = policy.trust_root or sigstore_trust_root()
    chain = _chain_or_fail(leaf, certificates[1:], root, leaf.not_valid_before_utc, where, first=True)
    _check_code_signing(leaf, where)
    identities = certificate_identities(leaf)
    issuer = certificate_issuer(leaf)
    _check_identity(identities, issuer, leaf, policy, where)

    material = bundle.get("verificationMaterial") or {}
    notes: list[str] = []
    times = _timestamp_times(material, signature, root, where)
    entries = 0
    if policy.ignore_tlog:
        if material.get("tlogEntries"):
            notes.append("transparency-log entries ignored (--insecure-ignore-tlog)")
    else:
        tlog_times, entries = _tlog_times(material, envelope, signature, leaf, root, where)
        times += tlog_times
    if not times:
        if not policy.allow_current_time:
            raise SignatureError(
                f"{where}: no verified time of signing: the bundle has no RFC 3161 timestamp and no "
                "transparency-log entry with a signed entry timestamp, and a certificate alone proves nothing "
                "once it has expired",
                hint="timestamp when signing (a TSA), or accept the current time with --insecure-current-time "
                "(only right after signing)",
            )
        times = [SigningTime(now or datetime.now(UTC), "current-time")]
        notes.append(
            "no verified time of signing: the certificate was checked against the current time "
            "(--insecure-current-time)"
        )
    for when in times:
        if not leaf.not_valid_before_utc <= when.time <= leaf.not_valid_after_utc:
            raise SignatureError(
                f"{where}: the signing certificate was not valid at the time of signing "
                f"{when.describe()}: it is valid from {leaf.not_valid_before_utc.isoformat()} to "
                f"{leaf.not_valid_after_utc.isoformat()}"
            )
        chain = _chain_or_fail(leaf, certificates[1:], root, when.time, where, first=False, when=when)
    sct = _check_sct(leaf, chain, root, where)
    return KeylessResult(
        certificate=leaf,
        chain=tuple(chain),
        identity=identities[0] if identities else leaf.subject.rfc4514_string(),
        issuer=issuer or leaf.issuer.rfc4514_string(),
        times=tuple(times),
        trust_root=root.source,
        tlog_entries=entries,
        sct=sct,
        notes=tuple(notes),
    )


# -- certificate ------------------------------------------------------------------------------------------
def certificate_identities(cert: x509.Certificate) -> list[str]:
    """The identities a Fulcio-style certificate names: e-mail and URI subject alternative names."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        *san.get_values_for_type(x509.RFC822Name),
        *san.get_values_for_type(x509.UniformResourceIdentifier),
    ]


def certificate_issuer(cert: x509.Certificate) -> str:
    """The OIDC issuer of a Fulcio certificate (extension .1.8, a DER UTF8String, else the older .1.1, raw)."""
    for oid in (_ISSUER_V2, _ISSUER_V1):
        try:
            value = cert.extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            continue
        data = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
        if oid == _ISSUER_V2:
            data = _der_utf8(data)
        return data.decode("utf-8", "replace")
    return ""


def _der_utf8(data: bytes) -> bytes:
    if len(data) < 2 or data[0] != 0x0C:
        return data
    if data[1] < 0x80:
        return data[2 : 2 + data[1]]
    width = data[1] & 0x7F
    length = int.from_bytes(data[2 : 2 + width], "big")
    return data[2 + width : 2 + width + length]


def _verified_signature(envelope: Envelope, leaf: x509.Certificate, where: str) -> bytes:
    data = envelope.pae()
    key = leaf.public_key()
    for signature in envelope.signatures:
        try:
            algorithms.verify(key, signature.sig, data)
        except algorithms.InvalidSignature:
            continue
        except CrafterError as exc:  # a key type we cannot verify with
            raise SignatureError(
                f"{where}: the bundle's certificate key cannot be used: {exc.message}"
            ) from exc
        return signature.sig
    raise SignatureError(
        f"{where}: bad signature: no signature of the envelope verifies with the public key of the bundle's "
        "certificate",
        hint="the payload, its type or the signature was altered, or another key signed it",
    )


def _chain_or_fail(
    leaf: x509.Certificate,
    bundle_chain: Sequence[x509.Certificate],
    root: TrustRoot,
    at: datetime,
    where: str,
    *,
    first: bool,
    when: SigningTime | None = None,
) -> list[x509.Certificate]:
    """The leaf's verified chain (issuers, anchor last) at ``at``. The first call checks issuance only
    (every CA of the trust root, at the leaf's own start): it tells an untrusted certificate from one used at
    the wrong time. Later calls use the CAs the trust root vouches for at that signing time."""
    cas = (
        root.certificate_authorities
        if first
        else [ca for ca in root.certificate_authorities if ca.validity.contains(at)]
    )
    problem = "no certificate authority of the trust root is valid then"
    if cas:
        try:
            return _build_chain(leaf, bundle_chain, cas, at)
        except _ChainError as exc:
            problem = str(exc)
    if first:
        raise SignatureError(
            f"{where}: the signing certificate was not issued by a trusted CA: its issuer "
            f"{leaf.issuer.rfc4514_string()!r} does not chain to {root.source or 'the trust root'}",
            hint=f"{problem}; give the signer's trust root with --trusted-root FILE or --ca-roots PEM",
        )
    assert when is not None
    raise SignatureError(
        f"{where}: the certificate chain is not valid at the time of signing {when.describe()}: {problem}"
    )


class _ChainError(Exception):
    pass


def _build_chain(
    leaf: x509.Certificate,
    bundle_chain: Sequence[x509.Certificate],
    cas: Sequence[CertificateAuthority],
    at: datetime,
) -> list[x509.Certificate]:
    from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store
    from cryptography.x509.verification import VerificationError as X509VerificationError

    # The WebPKI profile, except: code-signing certificates and CAs carry an EKU the client profile does not
    # expect (codeSigning is checked separately), and private CAs (Chainloop's) issue leaves with no SAN.
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    ee_policy = (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None)
        .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    )
    anchors = list({ca.root.fingerprint(hashes.SHA256()): ca.root for ca in cas}.values())
    pool = [*bundle_chain, *(cert for ca in cas for cert in ca.intermediates)]
    verifier = (
        PolicyBuilder()
        .store(Store(anchors))
        .time(at)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(leaf, pool).chain[1:])
    except (X509VerificationError, x509.UnsupportedGeneralNameType, ValueError) as exc:
        raise _ChainError(str(exc)) from exc


def _check_code_signing(leaf: x509.Certificate, where: str) -> None:
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        extended = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise SignatureError(
            f"{where}: the signing certificate is not a code-signing certificate ({exc})"
        ) from exc
    if not usage.digital_signature or x509.oid.ExtendedKeyUsageOID.CODE_SIGNING not in extended:
        raise SignatureError(
            f"{where}: the signing certificate is not a code-signing certificate (key usage digitalSignature "
            "and extended key usage codeSigning are required)"
        )


def _check_identity(
    identities: Sequence[str], issuer: str, leaf: x509.Certificate, policy: KeylessPolicy, where: str
) -> None:
    # A certificate naming an identity proves only that *someone* got it from the CA; anyone can, on
    # public-good. So the caller must say whom they expect (cosign's rule). Certificates of private CAs that
    # name no one (Chainloop's) can only be constrained by the CA itself.
    if identities and not policy.constrains_identity:
        raise UsageError(
            f"{where}: the certificate names {identities[0]!r}: say which identity you expect with "
            "--certificate-identity or --certificate-identity-regexp"
        )
    if issuer and not policy.constrains_issuer:
        raise UsageError(
            f"{where}: the certificate was issued through {issuer!r}: say which OIDC issuer you expect with "
            "--certificate-oidc-issuer or --certificate-oidc-issuer-regexp"
        )
    named = ", ".join(repr(i) for i in identities) or repr(leaf.subject.rfc4514_string())
    if policy.identity is not None and policy.identity not in identities:
        raise SignatureError(f"{where}: signed by {named}, not the expected {policy.identity!r}")
    if policy.identity_regexp is not None and not any(
        re.fullmatch(policy.identity_regexp, i) for i in identities
    ):
        raise SignatureError(f"{where}: signed by {named}, which does not match {policy.identity_regexp!r}")
    got = repr(issuer) if issuer else "no OIDC issuer"
    if policy.issuer is not None and issuer != policy.issuer:
        raise SignatureError(f"{where}: certificate issued through {got}, not the expected {policy.issuer!r}")
    if policy.issuer_regexp is not None and not (issuer and re.fullmatch(policy.issuer_regexp, issuer)):
        raise SignatureError(
            f"{where}: certificate issued through {got}, which does not match {policy.issuer_regexp!r}"
        )


# -- RFC 3161 timestamps -----------------------------------------------------------------------------------
def _timestamp_times(
    material: Mapping[str, Any], signature: bytes, root: TrustRoot, where: str
) -> list[SigningTime]:
    data = material.get("timestampVerificationData") or {}
    tokens = data.get("rfc3161Timestamps") or [] if isinstance(data, Mapping) else None
    if not isinstance(tokens, list):
        raise SignatureError(f"{where}: timestampVerificationData.rfc3161Timestamps must be a list")
    if not tokens:
        return []
    if len(tokens) > _MAX_TIMESTAMPS:
        raise SignatureError(f"{where}: {len(tokens)} timestamps, more than the {_MAX_TIMESTAMPS} accepted")
    if not root.timestamp_authorities:
        raise SignatureError(
            f"{where}: the bundle has RFC 3161 timestamps but the trust root ({root.source}) has no timestamp "
            "authority to check them with",
            hint="give the TSA's chain (--timestamp-certificate-chain PEM, or in the --trusted-root file)",
        )
    from crafter.signing.timestamp import verify_timestamp as verify

    times = []
    for index, item in enumerate(tokens):
        token = _b64_field(item.get("signedTimestamp") if isinstance(item, Mapping) else None)
        if token is None:
            raise SignatureError(f"{where}: RFC 3161 timestamp {index} is not base64")
        problems = []
        for tsa in root.timestamp_authorities:
            try:
                info = verify(token, signature, roots=[tsa.root], intermediates=list(tsa.intermediates))
            except (CrafterError, ValueError) as exc:
                problems.append(f"{tsa.name}: {exc}")
                continue
            when = info.time if info.time.tzinfo else info.time.replace(tzinfo=UTC)
            if not tsa.validity.contains(when):
                problems.append(f"{tsa.name}: the trust root vouches for it from {tsa.validity.describe()}")
                continue
            times.append(SigningTime(when, "rfc3161", str(getattr(info, "authority", "")) or tsa.name))
            break
        else:
            raise SignatureError(
                f"{where}: RFC 3161 timestamp {index} does not verify against the trust root's timestamp "
                "authorities",
                hint="; ".join(problems),
            )
    return times


# -- transparency log ----------------------------------------------------------------------------------------
def _tlog_times(
    material: Mapping[str, Any],
    envelope: Envelope,
    signature: bytes,
    leaf: x509.Certificate,
    root: TrustRoot,
    where: str,
) -> tuple[list[SigningTime], int]:
    entries = material.get("tlogEntries") or []
    if not isinstance(entries, list):
        raise SignatureError(f"{where}: verificationMaterial.tlogEntries must be a list")
    if len(entries) > _MAX_TLOG_ENTRIES:
        raise SignatureError(
            f"{where}: {len(entries)} transparency-log entries, more than {_MAX_TLOG_ENTRIES}"
        )
    if not entries and root.transparency_logs:
        raise SignatureError(
            f"{where}: the bundle has no transparency-log entry, and the trust root ({root.source}) expects "
            "signatures to be logged",
            hint="a signature outside the log escapes its monitors; --insecure-ignore-tlog skips this check",
        )
    times = []
    for index, entry in enumerate(entries):
        label = f"{where}: transparency-log entry {index}"
        if not isinstance(entry, Mapping):
            raise SignatureError(f"{label} is not an object")
        when = _verify_entry(entry, envelope, signature, leaf, root, label)
        if when is not None:
            times.append(when)
    return times, len(entries)


def _verify_entry(
    entry: Mapping[str, Any],
    envelope: Envelope,
    signature: bytes,
    leaf: x509.Certificate,
    root: TrustRoot,
    label: str,
) -> SigningTime | None:
    log_id = _b64_field(
        (entry.get("logId") or {}).get("keyId") if isinstance(entry.get("logId"), Mapping) else None
    )
    if log_id is None:
        raise SignatureError(f"{label} has no logId")
    log = root.transparency_log(log_id)
    if log is None:
        raise SignatureError(
            f"{label} is from a log the trust root does not know (log id {log_id.hex()})",
            hint=f"trust root: {root.source}",
        )
    body = _b64_field(entry.get("canonicalizedBody"))
    if body is None:
        raise SignatureError(f"{label} has no canonicalizedBody")
    kind = entry.get("kindVersion") or {}
    _check_body(body, kind if isinstance(kind, Mapping) else {}, envelope, signature, leaf, label)
    promise = entry.get("inclusionPromise")
    proof = entry.get("inclusionProof")
    if not promise and not proof:
        raise SignatureError(
            f"{label} carries no proof of inclusion (no signed entry timestamp, no inclusion proof)"
        )
    if proof:
        _check_inclusion_proof(proof, body, log, label)
    if not promise:
        return None  # Rekor v2: logged, but the integrated time is not signed; a TSA gives the time
    set_bytes = _b64_field(promise.get("signedEntryTimestamp") if isinstance(promise, Mapping) else None)
    integrated, index = _integer(entry.get("integratedTime")), _integer(entry.get("logIndex"))
    if set_bytes is None or integrated is None or index is None:
        raise SignatureError(
            f"{label}: the signed entry timestamp needs signedEntryTimestamp, integratedTime and logIndex"
        )
    # The SET signs the canonical JSON (RFC 8785) of these four; ASCII strings and integers only, so sorted
    # compact json.dumps is that canonical form.
    signed = json.dumps(
        {
            "body": base64.b64encode(body).decode(),
            "integratedTime": integrated,
            "logID": log_id.hex(),
            "logIndex": index,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    if not _verifies(log.public_key, set_bytes, signed):
        raise SignatureError(
            f"{label}: the signed entry timestamp does not verify with the log's key ({log.base_url or log_id.hex()})"
        )
    when = datetime.fromtimestamp(integrated, UTC)
    if not log.validity.contains(when):
        raise SignatureError(
            f"{label}: integrated at {when.isoformat()}, outside the window the trust root gives the log's key "
            f"({log.validity.describe()})"
        )
    return SigningTime(when, "tlog", log.base_url or log_id.hex())


def _check_body(
    body: bytes,
    kind_version: Mapping[str, Any],
    envelope: Envelope,
    signature: bytes,
    leaf: x509.Certificate,
    label: str,
) -> None:
    """The entry must record this envelope (payload hash or PAE digest, signature) and this certificate:
    otherwise a valid entry of another signing could be attached to the bundle."""
    try:
        document = json.loads(body)
        kind, version = str(document["kind"]), str(document["apiVersion"])
        spec = document["spec"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureError(f"{label}: the entry body is not a Rekor entry ({exc})") from exc
    if kind_version and (kind_version.get("kind"), kind_version.get("version")) != (kind, version):
        raise SignatureError(f"{label}: kindVersion does not match the entry body ({kind} {version})")
    leaf_der = leaf.public_bytes(serialization.Encoding.DER)
    payload_hash = hashlib.sha256(envelope.payload).hexdigest()
    try:
        if (kind, version) == ("dsse", "0.0.1"):
            ok = _dsse_body(spec, payload_hash, envelope, leaf_der)
        elif (kind, version) == ("intoto", "0.0.2"):
            ok = _intoto_body(spec, payload_hash, envelope, leaf_der)
        elif (kind, version) == ("hashedrekord", "0.0.2"):
            ok = _hashedrekord_body(spec, envelope, signature, leaf_der)
        else:
            raise SignatureError(f"{label}: unsupported entry kind {kind} {version} for a DSSE bundle")
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise SignatureError(f"{label}: malformed {kind} entry body ({exc})") from exc
    if not ok:
        raise SignatureError(
            f"{label} does not match this bundle: it records another envelope or certificate",
            hint="a log entry of another signing was attached to this bundle",
        )


def _dsse_body(spec: Mapping[str, Any], payload_hash: str, envelope: Envelope, leaf_der: bytes) -> bool:
    if spec["payloadHash"]["algorithm"] != "sha256" or spec["payloadHash"]["value"] != payload_hash:
        return False
    recorded = {
        (base64.b64decode(s["signature"]), _pem_der(base64.b64decode(s["verifier"])))
        for s in spec["signatures"]
    }
    return recorded == {(s.sig, leaf_der) for s in envelope.signatures}


def _intoto_body(spec: Mapping[str, Any], payload_hash: str, envelope: Envelope, leaf_der: bytes) -> bool:
    content = spec["content"]
    if content["payloadHash"]["algorithm"] != "sha256" or content["payloadHash"]["value"] != payload_hash:
        return False
    env = content["envelope"]
    if env.get("payloadType") != envelope.payload_type:
        return False
    recorded = set()
    for s in env["signatures"]:
        sig = base64.b64decode(s["sig"])
        with_text = _maybe_b64(sig)  # Rekor stores the envelope's base64 text once more encoded
        recorded.add(
            (with_text if with_text is not None else sig, _pem_der(base64.b64decode(s["publicKey"])))
        )
    return recorded == {(s.sig, leaf_der) for s in envelope.signatures}


def _hashedrekord_body(
    spec: Mapping[str, Any], envelope: Envelope, signature: bytes, leaf_der: bytes
) -> bool:
    inner = spec["hashedRekordV002"]
    algorithm = {"SHA2_256": hashlib.sha256, "SHA2_384": hashlib.sha384, "SHA2_512": hashlib.sha512}.get(
        inner["data"]["algorithm"]
    )
    if algorithm is None or base64.b64decode(inner["data"]["digest"]) != algorithm(envelope.pae()).digest():
        return False
    recorded_sig = base64.b64decode(inner["signature"]["content"])
    recorded_cert = base64.b64decode(inner["signature"]["verifier"]["x509Certificate"]["rawBytes"])
    return recorded_sig == signature and recorded_cert == leaf_der and len(envelope.signatures) == 1


def _pem_der(data: bytes) -> bytes:
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return data


def _maybe_b64(data: bytes) -> bytes | None:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def _check_inclusion_proof(proof: object, body: bytes, log: TransparencyLog, label: str) -> None:
    if not isinstance(proof, Mapping):
        raise SignatureError(f"{label}: inclusionProof is not an object")
    index, size = _integer(proof.get("logIndex")), _integer(proof.get("treeSize"))
    root_hash = _b64_field(proof.get("rootHash"))
    hashes_ = [_b64_field(h) for h in proof.get("hashes") or []]
    if index is None or size is None or root_hash is None or any(h is None for h in hashes_):
        raise SignatureError(f"{label}: malformed inclusion proof")
    computed = _merkle_root(
        index, size, hashlib.sha256(b"\x00" + body).digest(), [h for h in hashes_ if h is not None]
    )
    if computed != root_hash:
        raise SignatureError(
            f"{label}: the inclusion proof does not lead to its root hash (entry not in the log)"
        )
    checkpoint = proof.get("checkpoint") or {}
    text = checkpoint.get("envelope") if isinstance(checkpoint, Mapping) else None
    if not isinstance(text, str) or not text:
        raise SignatureError(f"{label}: the inclusion proof has no checkpoint to anchor its root hash")
    _check_checkpoint(text, root_hash, size, log, label)


def _merkle_root(index: int, size: int, leaf_hash: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root an RFC 6962 audit path leads to (RFC 9162 section 2.1.3.2), ``None`` if it cannot be one."""
    if not 0 <= index < size:
        return None
    # Below the point where the paths to `index` and to the last leaf part, siblings may be on either side;
    # above it, `index` is on the right border's left subtrees.
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    if len(path) != inner + border:
        return None
    value = leaf_hash
    for level, sibling in enumerate(path[:inner]):
        value = _node(value, sibling) if (index >> level) & 1 == 0 else _node(sibling, value)
    for sibling in path[inner:]:
        value = _node(sibling, value)
    return value


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_checkpoint(text: str, root_hash: bytes, size: int, log: TransparencyLog, label: str) -> None:
    # A signed note (transparency-dev/formats): the body lines, a blank line, then "— NAME BASE64" lines
    # whose payload is a 4-byte key hash and the signature over the body.
    note, sep, signatures = text.partition("\n\n")
    lines = note.split("\n")
    if not sep or len(lines) < 3:
        raise SignatureError(f"{label}: malformed checkpoint")
    signed = (note + "\n").encode()
    verified = False
    for line in signatures.splitlines():
        match = re.fullmatch("\u2014 (\\S+) (\\S+)", line)
        raw = _b64_field(match.group(2)) if match else None
        if raw is not None and len(raw) > 4 and _verifies(log.public_key, raw[4:], signed):
            verified = True
            break
    if not verified:
        raise SignatureError(
            f"{label}: the checkpoint is not signed by the log's key ({log.base_url or log.log_id.hex()})"
        )
    if _integer(lines[1]) != size or _b64_field(lines[2]) != root_hash:
        raise SignatureError(f"{label}: the signed checkpoint is for another tree than the inclusion proof")


# -- certificate transparency -------------------------------------------------------------------------------
def _check_sct(leaf: x509.Certificate, chain: Sequence[x509.Certificate], root: TrustRoot, where: str) -> str:
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
        if _verifies(
            log.public_key, sct.signature, signed, sct.signature_hash_algorithm
        ) and log.validity.contains(sct.timestamp.replace(tzinfo=UTC)):
            return f"verified (SCT from {log.base_url or log.log_id.hex()})"
    raise SignatureError(
        f"{where}: no SCT of the signing certificate verifies with a certificate-transparency log of the trust root"
    )


# -- small helpers ---------------------------------------------------------------------------------------
def _verifies(
    key: PublicKeyTypes, signature: bytes, data: bytes, hash_algorithm: hashes.HashAlgorithm | None = None
) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_algorithm or _ec_hash(key)))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, rsa.RSAPublicKey):
            from cryptography.hazmat.primitives.asymmetric import padding

            key.verify(signature, data, padding.PKCS1v15(), hash_algorithm or hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _ec_hash(key: ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    return {"secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}.get(key.curve.name, hashes.SHA256())


def _b64_field(value: object) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def keyless_policy(
    *,
    trusted_root: Path | None = None,
    ca_roots: Path | None = None,
    ca_intermediates: Path | None = None,
    staging: bool = False,
    **kwargs: Any,
) -> KeylessPolicy:
    """The policy for ``crafter verify``'s keyless options: the trust root from one of ``trusted_root``,
    ``ca_roots`` (+ ``ca_intermediates``) or ``staging``, else Sigstore public-good's (loaded when a keyless
    bundle needs it); other keyword arguments are the policy's. A TSA chain (``--timestamp-certificate-chain``)
    joins whichever trust root through ``verify_bundle(timestamp_roots=...)``."""
    from crafter.trust import sigstore_trust_root

    given = [
        name
        for name, value in (
            ("--trusted-root", trusted_root),
            ("--ca-roots", ca_roots),
            ("--staging", staging),
        )
        if value
    ]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} are mutually exclusive: give one trust root")
    if ca_roots is None and ca_intermediates is not None:
        raise UsageError("--ca-intermediates goes with --ca-roots")
    root: TrustRoot | None = None
    if trusted_root is not None:
        root = TrustRoot.from_trusted_root_file(trusted_root)
    elif ca_roots is not None:
        root = TrustRoot.from_pem_files(ca_roots, intermediates=ca_intermediates)
    elif staging:
        root = sigstore_trust_root(staging=True)
    return KeylessPolicy(trust_root=root, **kwargs)
