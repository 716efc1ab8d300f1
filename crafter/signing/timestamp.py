"""RFC 3161 timestamps over a DSSE signature: asking a timestamp authority (TSA), parsing and verifying tokens.

A timestamp proves that the signature bytes existed at a time the TSA vouches for, so a bundle can be trusted
after its signing key or certificate has expired. Bundles store the TSA's whole ``TimeStampResp`` (DER) in
``verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp``, as sigstore-python
and Chainloop do; a bare ``TimeStampToken`` (CMS ``ContentInfo``) is accepted too.

The ASN.1 and CMS work is done by ``rfc3161-client`` (the ``timestamp`` extra, also pulled in by
``sigstore``); the TSA's certificate chain is checked with ``cryptography.x509.verification`` so that only
the given roots are trust anchors. See docs/signing.md and docs/verify.md ("Timestamps").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from crafter.errors import CrafterError, SignatureError, SigningError, UsageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

    from crafter.signing.dsse import Envelope
    from crafter.verify.keyless import KeylessPolicy

__all__ = [
    "TIMESTAMP_SERVER_ENV",
    "TimestampInfo",
    "add_timestamp",
    "bundle_timestamps",
    "check_bundle_timestamps",
    "load_certificates",
    "parse_timestamp",
    "request_timestamp",
    "verify_timestamp",
    "with_timestamp_authorities",
]

#: The environment variable ``crafter push --timestamp-server`` reads.
TIMESTAMP_SERVER_ENV = "CRAFTER_TIMESTAMP_SERVER"

_EXTRA_HINT = "install the extra: pip install 'crafter-attest[timestamp]'"
# A TimeStampResp is a few KiB (a token with a 4-certificate chain ~8 KiB); more is not a TSA answering.
_MAX_RESPONSE_BYTES = 1 << 20
_MAX_PEM_BYTES = 1 << 20
_CHAIN_OPTION = "--timestamp-certificate-chain"
# sigstore-go and sigstore-python stop at this many timestamps per bundle.
_MAX_TIMESTAMPS = 32
_HASHES = {
    "2.16.840.1.101.3.4.2.1": ("sha256", hashlib.sha256),
    "2.16.840.1.101.3.4.2.2": ("sha384", hashlib.sha384),
    "2.16.840.1.101.3.4.2.3": ("sha512", hashlib.sha512),
}
_STATUS = {
    0: "granted",
    1: "granted with modifications",
    2: "rejection",
    3: "waiting",
    4: "revocation warning",
    5: "revocation notification",
}
_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")  # DER of OID 1.2.840.113549.1.7.2


@attrs.frozen
class TimestampInfo:
    """What a timestamp token says. ``verified`` is true only when :func:`verify_timestamp` made it."""

    time: datetime  # genTime, UTC
    authority: str  # the TSA: its certificate's subject, else the token's tsa name, else who issued its cert
    serial: str  # the token's serial number, hex
    hash_algorithm: str = "sha256"  # of the message imprint
    policy: str = ""  # the TSA policy OID
    verified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": _rfc3339(self.time),
            "authority": self.authority,
            "serial": self.serial,
            "hashAlgorithm": self.hash_algorithm,
            "policy": self.policy,
            "verified": self.verified,
        }

    def describe(self) -> str:
        return f"{_rfc3339(self.time)} by {self.authority}"


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _rfc3161(error: type[CrafterError]) -> Any:
    try:
        import rfc3161_client
    except ImportError as exc:
        raise error(
            "RFC 3161 timestamps need rfc3161-client, which is not installed", hint=_EXTRA_HINT
        ) from exc
    return rfc3161_client


# -- asking a TSA --------------------------------------------------------------------------------------------
def request_timestamp(url: str, signature: bytes, *, timeout: float = 30.0) -> bytes:
    """Ask the TSA at ``url`` for a timestamp over ``signature`` (SHA-256 message imprint, a random nonce,
    certReq so the token carries the TSA's certificate) and return its ``TimeStampResp`` DER, as bundles
    store it. The answer must be granted, for this nonce and imprint; its signature is not checked here
    (that needs the TSA's roots: :func:`verify_timestamp`). Every failure is one :class:`SigningError`."""
    r = _rfc3161(SigningError)
    _check_url(url)
    if not signature:
        raise SigningError(f"timestamp server {url}: nothing to timestamp (empty signature)")
    request = (
        r.TimestampRequestBuilder()
        .data(signature)
        .hash_algorithm(r.HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    body = _post(url, request.as_bytes(), timeout)
    try:
        response = r.decode_timestamp_response(body)
    except ValueError as exc:
        raise SigningError(
            f"timestamp server {url}: the answer is not an RFC 3161 TimeStampResp ({_first_line(exc)})",
            hint="is the URL the TSA's RFC 3161 endpoint (e.g. https://freetsa.org/tsr)?",
        ) from None
    if response.status != 0:
        texts = "; ".join(response.status_string)
        raise SigningError(
            f"timestamp server {url}: the request was refused: status "
            f"{_STATUS.get(response.status, response.status)}{f' ({texts})' if texts else ''}",
            hint="the TSA may need another hash algorithm or policy, or be out of service",
        )
    info = response.tst_info
    if info.nonce != request.nonce:
        raise SigningError(
            f"timestamp server {url}: the answer is for another request (nonce mismatch)",
            hint="a proxy or cache between us and the TSA may replay old answers",
        )
    imprint = info.message_imprint
    if imprint.hash_algorithm.dotted_string != "2.16.840.1.101.3.4.2.1" or (
        imprint.message != hashlib.sha256(signature).digest()
    ):
        raise SigningError(
            f"timestamp server {url}: the answer timestamps other bytes than the signature sent"
        )
    if len(response.signed_data.signer_infos) != 1:
        raise SigningError(f"timestamp server {url}: the token must have exactly one signer")
    return body


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SigningError(
            f"timestamp server {url!r} is not an http(s) URL",
            hint="e.g. --timestamp-server https://freetsa.org/tsr",
        )


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _post(url: str, data: bytes, timeout: float) -> bytes:
    import http.client
    import urllib.error
    import urllib.request

    from crafter._version import __version__

    headers = {
        "Content-Type": "application/timestamp-query",
        "Accept": "application/timestamp-reply",
        "User-Agent": f"crafter/{__version__}",
    }
    # Loopback TSAs are reached directly; other hosts through the user's proxy settings, if any.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({} if _is_loopback(url) else None))
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    hint = (
        f"check the URL and that the TSA is up; or sign without --timestamp-server / {TIMESTAMP_SERVER_ENV}"
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            body: bytes = response.read(_MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise SigningError(f"timestamp server {url}: HTTP {exc.code} {exc.reason}", hint=hint) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise SigningError(f"timestamp server {url}: no answer within {timeout:g} s", hint=hint) from None
        raise SigningError(f"timestamp server {url}: cannot connect: {exc.reason}", hint=hint) from None
    except TimeoutError:
        raise SigningError(f"timestamp server {url}: no answer within {timeout:g} s", hint=hint) from None
    except (OSError, http.client.HTTPException) as exc:
        raise SigningError(f"timestamp server {url}: {exc}", hint=hint) from None
    if len(body) > _MAX_RESPONSE_BYTES:
        raise SigningError(f"timestamp server {url}: answer larger than {_MAX_RESPONSE_BYTES} bytes")
    return body


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


# -- parsing -------------------------------------------------------------------------------------------------
def _decode(token: bytes) -> Any:
    """The ``TimeStampResp`` of ``token`` (a response, or a bare token wrapped as a granted response)."""
    r = _rfc3161(CrafterError)
    try:
        return r.decode_timestamp_response(token)
    except ValueError as exc:
        problem = _first_line(exc)
    if token[:1] == b"\x30" and _SIGNED_DATA_OID in token[:24]:  # a bare TimeStampToken (ContentInfo)
        try:
            return r.decode_timestamp_response(_der_sequence(b"\x30\x03\x02\x01\x00" + token))
        except ValueError as exc:
            problem = _first_line(exc)
    raise SignatureError(f"not an RFC 3161 timestamp: {problem}")


def _der_sequence(content: bytes) -> bytes:
    n = len(content)
    length = (
        bytes([n])
        if n < 0x80
        else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    )
    return b"\x30" + length + content


def _signer_id(response: Any) -> tuple[x509.Name, int]:
    infos = list(response.signed_data.signer_infos)
    if len(infos) != 1:
        raise SignatureError(f"the timestamp has {len(infos)} signers, expected exactly one")
    return infos[0].issuer, infos[0].serial_number


def _embedded(response: Any) -> list[x509.Certificate]:
    try:
        return [x509.load_der_x509_certificate(c) for c in response.signed_data.certificates]
    except ValueError as exc:
        raise SignatureError(f"the timestamp embeds a certificate that cannot be parsed: {exc}") from None


def _find_signer(response: Any, candidates: Sequence[x509.Certificate]) -> x509.Certificate | None:
    issuer, serial = _signer_id(response)
    for cert in candidates:
        if cert.issuer == issuer and cert.serial_number == serial:
            return cert
    return None


def _info(response: Any, leaf: x509.Certificate | None, *, verified: bool) -> TimestampInfo:
    tst = response.tst_info
    if response.status not in (0, 1):
        raise SignatureError(f"the timestamp's status is {_STATUS.get(response.status, response.status)}")
    oid = tst.message_imprint.hash_algorithm.dotted_string
    authority = ""
    if leaf is not None:
        authority = leaf.subject.rfc4514_string()
    elif tst.name is not None and isinstance(tst.name, x509.DirectoryName):
        authority = tst.name.value.rfc4514_string()
    elif tst.name is not None:
        authority = str(tst.name.value)
    if not authority:
        issuer, serial = _signer_id(response)
        authority = f"a TSA certified by {issuer.rfc4514_string()} (serial {serial:x})"
    when = tst.gen_time
    return TimestampInfo(
        time=when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC),
        authority=authority,
        serial=format(tst.serial_number, "x"),
        hash_algorithm=_HASHES.get(oid, (oid, None))[0],
        policy=tst.policy.dotted_string if tst.policy is not None else "",
        verified=verified,
    )


def parse_timestamp(token: bytes) -> TimestampInfo:
    """What ``token`` says (time, authority, serial), without verifying anything; for display. Raises
    :class:`SignatureError` when it is not an RFC 3161 timestamp."""
    response = _decode(token)
    return _info(response, _find_signer(response, _embedded(response)), verified=False)


def _check_imprint(response: Any, signature: bytes) -> None:
    imprint = response.tst_info.message_imprint
    oid = imprint.hash_algorithm.dotted_string
    if oid not in _HASHES:
        raise SignatureError(f"the timestamp's message imprint uses an unsupported hash algorithm {oid}")
    name, function = _HASHES[oid]
    if imprint.message != function(signature).digest():
        raise SignatureError(
            f"the timestamp is over other bytes than this signature (its {name} message imprint differs)"
        )


# -- verifying -----------------------------------------------------------------------------------------------
def verify_timestamp(
    token: bytes,
    signature: bytes,
    *,
    roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
) -> TimestampInfo:
    """Verify ``token`` as a timestamp over ``signature``: its message imprint is the hash (SHA-256, or the
    SHA-2 the token names) of ``signature``; the TSA's certificate (embedded in the token, else found among
    ``intermediates``) has the critical timeStamping extended key usage and chains, at the token's time, to
    one of ``roots`` (``intermediates`` only help build the chain); the token's CMS signature verifies with
    it. Returns the token's :class:`TimestampInfo` (``verified``); raises :class:`SignatureError` otherwise."""
    if not roots:
        raise SignatureError("no TSA root certificates to verify the timestamp against")
    response = _decode(token)
    if response.status != 0:
        raise SignatureError(f"the timestamp's status is {_STATUS.get(response.status, response.status)}")
    _check_imprint(response, signature)
    embedded = _embedded(response)
    issuer, serial = _signer_id(response)
    leaf = _find_signer(response, [*embedded, *intermediates])
    if leaf is None:
        raise SignatureError(
            "the timestamp does not embed its TSA certificate and none of the given certificates is it "
            f"(serial {serial:x} issued by {issuer.rfc4514_string()})",
            hint="put the TSA's own certificate in the chain file (--timestamp-certificate-chain PEM)",
        )
    _check_timestamping_eku(leaf)
    info = _info(response, leaf, verified=True)
    pool = [c for c in [*embedded, *intermediates] if c != leaf]
    chain = _verified_chain(leaf, pool, roots, info.time)
    if chain[-1].issuer != chain[-1].subject:
        # rfc3161-client's CMS check (OpenSSL) accepts only self-signed anchors.
        raise SignatureError(
            f"the TSA root {chain[-1].subject.rfc4514_string()} is not self-signed",
            hint="give the self-signed root of the TSA's chain as the root, the others as intermediates",
        )
    _verify_cms(response, signature, chain)
    return info


def _check_timestamping_eku(leaf: x509.Certificate) -> None:
    who = leaf.subject.rfc4514_string()
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise SignatureError(f"the TSA certificate {who} has no extended key usage (timeStamping)") from None
    if ExtendedKeyUsageOID.TIME_STAMPING not in eku.value or not eku.critical:
        raise SignatureError(
            f"the TSA certificate {who} is not for timestamping (RFC 3161 needs a critical extended key "
            "usage timeStamping)"
        )


def _verified_chain(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate], roots: Sequence[x509.Certificate], at: datetime
) -> list[x509.Certificate]:
    """The leaf's chain (leaf first, anchor last) to one of ``roots`` at ``at``; only ``roots`` anchor it."""
    from crafter.signing.x509_chain import ChainError, verified_chain

    try:
        # TSA certificates carry a critical EKU (timeStamping, checked before) and no SAN.
        return verified_chain(leaf, pool, roots, at, critical_eku=True)
    except ChainError as exc:
        names = ", ".join(r.subject.rfc4514_string() for r in roots)
        raise SignatureError(
            f"the TSA certificate {leaf.subject.rfc4514_string()} does not chain to the given TSA roots "
            f"at {_rfc3339(at)}",
            hint=f"roots: {names}; {exc}",
        ) from None


def _verify_cms(response: Any, signature: bytes, chain: Sequence[x509.Certificate]) -> None:
    """The token's CMS signature (over its TSTInfo, signed attributes included) with the chain just built."""
    r = _rfc3161(CrafterError)
    verifier = r.VerifierBuilder(
        tsa_certificate=chain[0], intermediates=list(chain[1:-1]), roots=[chain[-1]]
    ).build()
    try:
        verifier.verify_message(response, signature)
    except (r.VerificationError, ValueError) as exc:
        raise SignatureError(
            f"the timestamp's signature does not verify with the TSA certificate "
            f"{chain[0].subject.rfc4514_string()}",
            hint=_first_line(exc),
        ) from None


# -- bundles -------------------------------------------------------------------------------------------------
def bundle_timestamps(bundle: Mapping[str, Any]) -> list[bytes]:
    """The DER of every RFC 3161 timestamp of ``bundle`` (none: an empty list)."""
    material = bundle.get("verificationMaterial") or {}
    data = (material.get("timestampVerificationData") if isinstance(material, Mapping) else None) or {}
    if not isinstance(data, Mapping):
        raise SignatureError("timestampVerificationData must be an object")
    items = data.get("rfc3161Timestamps")
    if items is None:
        return []
    if not isinstance(items, list):
        raise SignatureError("timestampVerificationData.rfc3161Timestamps must be a list")
    if len(items) > _MAX_TIMESTAMPS:
        raise SignatureError(f"{len(items)} timestamps, more than the {_MAX_TIMESTAMPS} accepted")
    tokens = []
    for index, item in enumerate(items):
        value = item.get("signedTimestamp") if isinstance(item, Mapping) else None
        try:
            tokens.append(base64.b64decode(value, validate=True) if isinstance(value, str) else b"")
        except (binascii.Error, ValueError):
            tokens.append(b"")
        if not tokens[-1]:
            raise SignatureError(f"RFC 3161 timestamp {index} has no base64 signedTimestamp")
    return tokens


def add_timestamp(bundle: dict[str, Any], url: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """``bundle`` with a timestamp from the TSA at ``url`` over its DSSE signature appended (a new dict;
    ``bundle`` is not modified). Errors: :class:`SigningError`."""
    import copy

    from crafter.signing.bundle import envelope_from_bundle

    envelope = envelope_from_bundle(bundle)
    if len(envelope.signatures) != 1:
        raise SigningError(f"cannot timestamp an envelope with {len(envelope.signatures)} signatures")
    token = request_timestamp(url, envelope.signatures[0].sig, timeout=timeout)
    out = copy.deepcopy(bundle)
    material = out.setdefault("verificationMaterial", {})
    data = material.get("timestampVerificationData") or {}
    material["timestampVerificationData"] = data
    data.setdefault("rfc3161Timestamps", []).append(
        {"signedTimestamp": base64.b64encode(token).decode("ascii")}
    )
    return out


def check_bundle_timestamps(
    bundle: Mapping[str, Any],
    envelope: Envelope,
    public_key: PublicKeyTypes,
    *,
    roots: Sequence[x509.Certificate] = (),
    intermediates: Sequence[x509.Certificate] = (),
    where: str = "",
) -> tuple[TimestampInfo, ...]:
    """The timestamps of a bundle whose envelope verified with ``public_key``: each must be over a signature
    that verifies with that key; with ``roots`` each is verified (:func:`verify_timestamp`), without them
    only parsed (``verified`` false). Raises :class:`SignatureError` naming ``where`` and the timestamp."""
    from crafter.signing import algorithms

    prefix = f"{where}: " if where else ""
    try:
        tokens = bundle_timestamps(bundle)
    except SignatureError as exc:
        raise SignatureError(prefix + exc.message, hint=exc.hint) from None
    if not tokens:
        return ()
    data = envelope.pae()
    signatures = []
    for signature in envelope.signatures:
        try:
            algorithms.verify(public_key, signature.sig, data)
        except algorithms.InvalidSignature:
            continue
        signatures.append(signature.sig)
    infos = []
    for index, token in enumerate(tokens):
        problem: SignatureError | None = None
        for sig in signatures:
            try:
                if roots:
                    infos.append(verify_timestamp(token, sig, roots=roots, intermediates=intermediates))
                else:
                    response = _decode(token)
                    _check_imprint(response, sig)
                    infos.append(_info(response, _find_signer(response, _embedded(response)), verified=False))
            except SignatureError as exc:
                problem = problem or exc
                continue
            break
        else:
            message = problem.message if problem else "no signature of the envelope to match"
            raise SignatureError(
                f"{prefix}RFC 3161 timestamp {index}: {message}", hint=problem.hint if problem else None
            )
    return tuple(infos)


def with_timestamp_authorities(
    policy: KeylessPolicy | None,
    roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
) -> KeylessPolicy | None:
    """``policy`` whose trust root (Sigstore public-good's by default) also trusts a TSA under each of
    ``roots``: how ``--timestamp-certificate-chain`` applies to keyless bundles, whose timestamps are time evidence."""
    if not roots:
        return policy
    from crafter.trust import CertificateAuthority, sigstore_trust_root
    from crafter.verify.keyless import KeylessPolicy

    policy = policy or KeylessPolicy()
    root = policy.trust_root or sigstore_trust_root()
    extra = tuple(CertificateAuthority((*intermediates, r)) for r in roots)
    root = attrs.evolve(
        root,
        timestamp_authorities=(*root.timestamp_authorities, *extra),
        source=f"{root.source} + {_CHAIN_OPTION}" if root.source else _CHAIN_OPTION,
    )
    return attrs.evolve(policy, trust_root=root)


def split_chain(
    chain: Sequence[x509.Certificate],
) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """A TSA chain file's (self-signed) roots and the rest (intermediates, the TSA's own certificate).

    One file, as cosign's ``--timestamp-certificate-chain`` takes it; only self-signed certificates are
    anchors, so a chain that lacks its root trusts nothing rather than its intermediate."""
    roots = [c for c in chain if c.subject == c.issuer and _self_signed(c)]
    if not roots:
        raise UsageError(
            f"{_CHAIN_OPTION}: the file holds no self-signed root certificate",
            hint="a TSA chain file ends with the root CA certificate",
        )
    return roots, [c for c in chain if c not in roots]


def _self_signed(cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def load_certificates(path: Path, what: str) -> list[x509.Certificate]:
    """The certificates of a PEM file (``what`` names the option in errors, e.g. ``--timestamp-certificate-chain``)."""
    from crafter.files import read_small_file

    data = read_small_file(path, what=f"{what} file", limit=_MAX_PEM_BYTES, error=UsageError)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise UsageError(
            f"{what} {path}: not a PEM file of X.509 certificates ({_first_line(exc)})"
        ) from None
    return certificates
