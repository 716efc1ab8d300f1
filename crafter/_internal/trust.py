"""Trust roots for keyless verification: which certificate authorities, timestamp authorities and transparency
logs a keyless bundle may lean on. Read offline, never refreshed.

Sources (see docs/verify.md, "Keyless bundles"):

- a Sigstore ``TrustedRoot`` JSON file (``application/vnd.dev.sigstore.trustedroot+json;version=0.1``, the
  format of Sigstore's and GitHub's ``trusted_root.json``): :meth:`TrustRoot.from_trusted_root_file`;
- PEM bundles, as cosign spells them (``--ca-roots``, ``--ca-intermediates``,
  ``--timestamp-certificate-chain``) for a private CA such as Chainloop's: :meth:`TrustRoot.from_pem_files`;
- Sigstore public-good's (or staging's) trusted root as shipped inside the installed ``sigstore`` package:
  :func:`sigstore_trust_root`. The file is read as it is (no TUF update); it is as current as that package.

A ``TrustedRoot`` is read as strictly as its schema (sigstore_trustroot.proto): a malformed entry refuses the
file, naming its JSON path; an entry of a key type crafter does not verify with is left out, never trusted,
and reported in :attr:`TrustRoot.skipped` (see :meth:`TrustRoot.from_trusted_root`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import attrs
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from crafter._internal.files import read_small_file
from crafter.errors import UsageError

__all__ = [
    "TRUSTED_ROOT_MEDIA_TYPES",
    "CertificateAuthority",
    "TransparencyLog",
    "TrustRoot",
    "Validity",
    "sigstore_trust_root",
]

TRUSTED_ROOT_MEDIA_TYPES = frozenset(
    {
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "application/vnd.dev.sigstore.trustedroot.v0.2+json",  # the later spelling, same fields
    }
)
_EXTRA_HINT = (
    "give a trust root with --trusted-root FILE or --ca-roots PEM, or install the sigstore extra "
    "(pip install 'crafter-attest[sigstore]') for Sigstore public-good's"
)
# The directories sigstore-python ships its TUF-delivered trusted roots in (its _store package).
_SIGSTORE_STORES = {
    "production": "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev",
    "staging": "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev",
}
_MAX_FILE_BYTES = 16 << 20
_LOG = logging.getLogger("crafter.trust")
_T = TypeVar("_T")


@attrs.frozen
class Validity:
    """A validity window; an open end is ``None`` (a trust root's ``validFor``)."""

    start: datetime | None = attrs.field(default=None)
    end: datetime | None = attrs.field(default=None)

    @start.validator
    @end.validator
    def _aware(self, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{attribute.name} must be timezone-aware")

    def __attrs_post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("validity ends before it starts")

    def contains(self, when: datetime) -> bool:
        return (self.start is None or self.start <= when) and (self.end is None or when <= self.end)

    def describe(self) -> str:
        start = self.start.isoformat() if self.start else "the beginning"
        end = self.end.isoformat() if self.end else "now"
        return f"{start} to {end}"


def _certificates(value: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    return tuple(value)


def _non_empty(instance: object, attribute: attrs.Attribute[Any], value: Sequence[object]) -> None:
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")


@attrs.frozen
class CertificateAuthority:
    """A certificate authority (code signing, or timestamping): its chain, issuing end first and the trust
    anchor (the root, usually self-signed) last, and the window in which the trust root vouches for it."""

    certificates: tuple[x509.Certificate, ...] = attrs.field(converter=_certificates, validator=_non_empty)
    validity: Validity = attrs.field(factory=Validity)
    uri: str = ""

    @property
    def root(self) -> x509.Certificate:
        return self.certificates[-1]

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        return self.certificates[:-1]

    @property
    def name(self) -> str:
        return self.certificates[0].subject.rfc4514_string() or self.uri


@attrs.frozen
class TransparencyLog:
    """A transparency log (Rekor) or certificate-transparency log: its key, its id (by default the SHA-256 of
    the key's SubjectPublicKeyInfo, as Rekor v1 and CT define it) and its validity window."""

    public_key: PublicKeyTypes
    log_id: bytes = attrs.field(validator=attrs.validators.min_len(1))
    validity: Validity = attrs.field(factory=Validity)
    base_url: str = ""

    @classmethod
    def from_key(cls, public_key: PublicKeyTypes, **kwargs: Any) -> TransparencyLog:
        spki = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(public_key, hashlib.sha256(spki).digest(), **kwargs)


def _authorities(value: Sequence[CertificateAuthority]) -> tuple[CertificateAuthority, ...]:
    return tuple(value)


def _logs(value: Sequence[TransparencyLog]) -> tuple[TransparencyLog, ...]:
    return tuple(value)


def _lines(value: Sequence[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class TrustRoot:
    """Everything keyless verification trusts. ``source`` says where it came from (reported with results);
    ``skipped`` has one line per entry of the source that crafter cannot use (an unsupported key type, such as
    a post-quantum one), left out: never trusted, and worth a warning."""

    certificate_authorities: tuple[CertificateAuthority, ...] = attrs.field(
        converter=_authorities, validator=_non_empty
    )
    timestamp_authorities: tuple[CertificateAuthority, ...] = attrs.field(default=(), converter=_authorities)
    transparency_logs: tuple[TransparencyLog, ...] = attrs.field(default=(), converter=_logs)
    ct_logs: tuple[TransparencyLog, ...] = attrs.field(default=(), converter=_logs)
    source: str = ""
    skipped: tuple[str, ...] = attrs.field(default=(), converter=_lines)

    def transparency_log(self, log_id: bytes) -> TransparencyLog | None:
        return next((log for log in self.transparency_logs if log.log_id == log_id), None)

    # -- loaders ------------------------------------------------------------------------------------------
    @classmethod
    def from_trusted_root_file(cls, path: Path, *, source: str | None = None) -> TrustRoot:
        """Read a Sigstore ``TrustedRoot`` JSON file; :class:`UsageError` naming the file and the problem."""
        data = _read(path, "trusted root")
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, ValueError) as exc:
            raise UsageError(f"trusted root {path}: not JSON ({exc})") from exc
        except RecursionError as exc:
            raise UsageError(f"trusted root {path}: JSON nested too deeply") from exc
        try:
            return cls.from_trusted_root(document, source=source or f"trusted root {path}")
        except (_Bad, ValueError, TypeError) as exc:
            raise UsageError(f"trusted root {path}: {exc}") from exc

    @classmethod
    def from_trusted_root(cls, document: object, *, source: str = "trusted root") -> TrustRoot:
        """Build from the parsed JSON of a ``TrustedRoot``; raises ``ValueError`` describing what is wrong,
        naming its JSON path (``tlogs[1].publicKey.validFor.start is missing: ...``).

        Read as strictly as the schema (sigstore_trustroot.proto) has it: every ``validFor`` has a ``start``,
        an ``end`` (optional) is not before it, times are RFC 3339, base64 and DER parse, log ids are unique
        among the tlogs and among the ctlogs, chains are not empty. An entry that is well-formed but of a key
        type crafter does not verify with is left out and reported in ``skipped`` (and logged)."""
        if not isinstance(document, Mapping):
            raise _Bad(f"expected a JSON object, got {type(document).__name__}")
        media_type = document.get("mediaType")
        if media_type not in TRUSTED_ROOT_MEDIA_TYPES:
            raise _Bad(f"unsupported mediaType {media_type!r} (expected a Sigstore TrustedRoot)")
        skipped: list[str] = []
        cas = _entries(document, "certificateAuthorities", _authority, skipped)
        tsas = _entries(document, "timestampAuthorities", _authority, skipped)
        tlogs = _entries(document, "tlogs", _log, skipped)
        ctlogs = _entries(document, "ctlogs", _log, skipped)
        _unique_log_ids(document, "tlogs")
        _unique_log_ids(document, "ctlogs")
        for line in skipped:
            _LOG.warning("%s: %s", source, line)
        if not cas:
            raise _Bad(
                "no certificateAuthorities"
                + (" crafter can use" if skipped else "")
                + ": keyless certificates cannot be checked"
            )
        return cls(
            certificate_authorities=cas,
            timestamp_authorities=tsas,
            transparency_logs=tlogs,
            ct_logs=ctlogs,
            source=source,
            skipped=skipped,
        )

    @classmethod
    def from_pem_files(
        cls,
        roots: Path,
        *,
        intermediates: Path | None = None,
        timestamp_chain: Path | None = None,
    ) -> TrustRoot:
        """A private CA as cosign takes it: ``roots`` (every certificate a trust anchor), ``intermediates``
        (usable to build chains, not anchors) and a timestamp authority chain (root last). No transparency
        log: a private instance timestamps instead (Chainloop does)."""
        root_certs = load_pem_certificates(roots, "--ca-roots")
        middle = load_pem_certificates(intermediates, "--ca-intermediates") if intermediates else []
        for cert in root_certs:  # an anchor whose key cannot sign certificates is a wrong file, say so now
            _require_ca(cert, roots)
        cas = [CertificateAuthority([*middle, root]) for root in root_certs]
        tsas = []
        if timestamp_chain is not None:
            tsas.append(
                CertificateAuthority(load_pem_certificates(timestamp_chain, "--timestamp-certificate-chain"))
            )
        what = ", ".join(str(p) for p in (roots, intermediates, timestamp_chain) if p is not None)
        return cls(certificate_authorities=cas, timestamp_authorities=tsas, source=f"PEM {what}")


def sigstore_trust_root(*, staging: bool = False) -> TrustRoot:
    """Sigstore public-good's trusted root (``staging``: its staging instance's) as the installed
    sigstore-python ships it, read offline. :class:`UsageError` when sigstore-python is not installed."""
    import importlib.util

    name = "staging" if staging else "production"
    spec = importlib.util.find_spec("sigstore")  # finds the package without importing it (slow)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    path = _sigstore_trusted_root_file(locations, staging=staging)
    if path is not None:
        version = _sigstore_version()
        return TrustRoot.from_trusted_root_file(
            path, source=f"Sigstore {'staging' if staging else 'public-good'} (sigstore {version})"
        )
    if not locations:
        raise UsageError("keyless verification needs a trust root and none was given", hint=_EXTRA_HINT)
    raise UsageError(
        f"the installed sigstore package ships no {name} trusted root (expected under sigstore/_store)",
        hint=_EXTRA_HINT,
    )


def _sigstore_trusted_root_file(locations: Sequence[str], *, staging: bool = False) -> Path | None:
    """The trusted_root.json sigstore-python ships (in one of its package ``locations``), if it does."""
    name = "staging" if staging else "production"
    for location in locations:
        path = Path(location) / "_store" / _SIGSTORE_STORES[name] / "trusted_root.json"
        if path.is_file():
            return path
    return None


def _sigstore_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sigstore")
    except PackageNotFoundError:  # pragma: no cover - a source checkout on the path
        return "unknown version"


# -- parsing helpers ---------------------------------------------------------------------------------------
class _Bad(ValueError):
    """A problem with a trust root document; the message names the field."""


def _read(path: Path, what: str) -> bytes:
    return read_small_file(path, what=what, limit=_MAX_FILE_BYTES, error=UsageError)


def _list(document: Mapping[str, Any], key: str) -> list[Any]:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise _Bad(f"{key} must be a list")
    return value


def _b64(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise _Bad(f"{where} must be a non-empty base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _Bad(f"{where} is not base64") from exc


# RFC 3339 (protobuf JSON's Timestamp): a date, a time, optional fraction, and a zone; nothing looser.
_RFC3339 = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?(?P<zone>[Zz]|[+-]\d{2}:\d{2})"
)


def _time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise _Bad(f"{where} must be an RFC 3339 time, got {type(value).__name__}")
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise _Bad(f"{where} is not an RFC 3339 time: {value!r}")
    # protobuf JSON allows nanoseconds; datetime keeps microseconds.
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    zone = "+00:00" if match["zone"] in ("Z", "z") else match["zone"]
    try:
        return datetime.fromisoformat(f"{match['base'].upper()}.{fraction}{zone}")
    except ValueError as exc:  # e.g. month 13, a leap second
        raise _Bad(f"{where} is not an RFC 3339 time: {value!r} ({exc})") from exc


def _validity(entry: Mapping[str, Any], where: str) -> Validity:
    """``validFor`` of an entry: ``start`` required (the schema requires it: an entry trusted "since the
    beginning" would vouch for anything back-dated), ``end`` optional and not before ``start``."""
    window = entry.get("validFor")
    if window is None:
        raise _Bad(f"{where}.validFor.start is missing: validFor is required, with its start")
    if not isinstance(window, Mapping):
        raise _Bad(f"{where}.validFor must be an object")
    if window.get("start") is None:
        raise _Bad(f"{where}.validFor.start is missing: an entry must say from when it is trusted")
    start = _time(window["start"], f"{where}.validFor.start")
    end = None if window.get("end") is None else _time(window["end"], f"{where}.validFor.end")
    if end is not None and end < start:
        raise _Bad(f"{where}.validFor.end ({window['end']}) is before its start ({window['start']})")
    return Validity(start, end)


class _Skipped(Exception):
    """An entry crafter cannot use (an unsupported key type): left out of the trust root, and reported."""


def _skip(where: str, label: object, problem: str) -> _Skipped:
    named = f" ({label})" if isinstance(label, str) and label else ""
    return _Skipped(f"{where}{named}: {problem}; entry skipped")


def _key_kind(key: object) -> str | None:
    """The name of a key crafter verifies with (``ec-secp256r1``, ``ed25519``, ``rsa``), ``None`` otherwise."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ec-{key.curve.name}" if key.curve.name in ("secp256r1", "secp384r1", "secp521r1") else None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    return None


def _describe_key(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    return type(key).__name__.removesuffix("PublicKey").lstrip("_") or "unknown"


# sigstore_common.proto PublicKeyDetails crafter verifies with: the key kind each names, and for RSA the size
# (None: any). The deprecated RSA PKCS#1 v1.5 spellings name the same scheme (Sigstore staging's CT log still
# uses PKCS1_RSA_PKCS1V5). Every other name (RSA-PSS, which crafter does not verify; the deprecated HMAC and
# P-384/P-521-with-SHA-256 combinations; LMS; ML-DSA; names from the future) is skipped.
_KEY_DETAILS: dict[str, tuple[str, int | None]] = {
    "PKIX_ECDSA_P256_SHA_256": ("ec-secp256r1", None),
    "PKIX_ECDSA_P384_SHA_384": ("ec-secp384r1", None),
    "PKIX_ECDSA_P521_SHA_512": ("ec-secp521r1", None),
    "PKIX_ED25519": ("ed25519", None),
    "PKIX_ED25519_PH": ("ed25519", None),
    "PKIX_RSA_PKCS1V15_2048_SHA256": ("rsa", 2048),
    "PKIX_RSA_PKCS1V15_3072_SHA256": ("rsa", 3072),
    "PKIX_RSA_PKCS1V15_4096_SHA256": ("rsa", 4096),
    "PKCS1_RSA_PKCS1V5": ("rsa", None),
    "PKIX_RSA_PKCS1V5": ("rsa", None),
}
_UNSPECIFIED = "PUBLIC_KEY_DETAILS_UNSPECIFIED"


def _public_key(key: Mapping[str, Any], where: str, label: object) -> PublicKeyTypes:
    """The key of a ``publicKey`` object; :class:`_Skipped` for a key type crafter does not verify with."""
    raw = _b64(key.get("rawBytes"), f"{where}.rawBytes")
    details = key.get("keyDetails")
    if isinstance(details, bool) or (details is not None and not isinstance(details, (str, int))):
        raise _Bad(f"{where}.keyDetails must be a PublicKeyDetails name")
    if details == _UNSPECIFIED or details == 0:
        details = None  # protobuf JSON's default value: the same as absent
    if isinstance(details, int) or (details is not None and details not in _KEY_DETAILS):
        raise _skip(where.removesuffix(".publicKey"), label, f"key type {details} is not supported")
    try:
        public_key = serialization.load_der_public_key(raw)
    except UnsupportedAlgorithm as exc:  # a key algorithm the cryptography library does not know
        raise _skip(
            where.removesuffix(".publicKey"), label, f"its key type is not supported ({exc})"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise _Bad(f"{where}.rawBytes is not a DER public key ({exc})") from exc
    kind = _key_kind(public_key)
    if kind is None:
        raise _skip(
            where.removesuffix(".publicKey"),
            label,
            f"key type {_describe_key(public_key)} is not supported"
            + (f" (keyDetails {details})" if details else ""),
        )
    if details is not None:
        expected_kind, size = _KEY_DETAILS[details]
        if kind != expected_kind or (size is not None and getattr(public_key, "key_size", size) != size):
            raise _Bad(f"{where}.keyDetails is {details} but the key is {_describe_key(public_key)}")
    return public_key


def _authority(entry: object, where: str) -> CertificateAuthority:
    if not isinstance(entry, Mapping):
        raise _Bad(f"{where} must be an object")
    chain = (
        (entry.get("certChain") or {}).get("certificates")
        if isinstance(entry.get("certChain"), Mapping)
        else None
    )
    if not isinstance(chain, list) or not chain:
        raise _Bad(f"{where}.certChain.certificates must be a non-empty list")
    certs = []
    for i, item in enumerate(chain):
        raw = _b64(
            item.get("rawBytes") if isinstance(item, Mapping) else None,
            f"{where}.certChain.certificates[{i}].rawBytes",
        )
        try:
            certs.append(x509.load_der_x509_certificate(raw))
        except ValueError as exc:
            raise _Bad(f"{where}.certChain.certificates[{i}] is not a DER certificate ({exc})") from exc
    validity = _validity(entry, where)
    uri = entry.get("uri", "")
    if not isinstance(uri, str):
        raise _Bad(f"{where}.uri must be a string")
    for i, cert in enumerate(certs):
        try:
            cert_key: object = cert.public_key()
        except (UnsupportedAlgorithm, ValueError) as exc:
            raise _skip(where, uri, f"certificates[{i}]'s key type is not supported ({exc})") from exc
        if _key_kind(cert_key) is None:
            raise _skip(
                where, uri, f"certificates[{i}]'s key type {_describe_key(cert_key)} is not supported"
            )
    return CertificateAuthority(certs, validity, uri)


def _log(entry: object, where: str) -> TransparencyLog:
    if not isinstance(entry, Mapping):
        raise _Bad(f"{where} must be an object")
    base_url = entry.get("baseUrl", "")
    if not isinstance(base_url, str):
        raise _Bad(f"{where}.baseUrl must be a string")
    key = entry.get("publicKey")
    if not isinstance(key, Mapping):
        raise _Bad(f"{where}.publicKey must be an object")
    log_id = entry.get("logId")
    if not isinstance(log_id, Mapping):
        raise _Bad(f"{where}.logId must be an object")
    key_id = _b64(log_id.get("keyId"), f"{where}.logId.keyId")
    validity = _validity(key, f"{where}.publicKey")
    # Checked last: a skipped entry must still be well-formed.
    return TransparencyLog(_public_key(key, f"{where}.publicKey", base_url), key_id, validity, base_url)


def _entries(
    document: Mapping[str, Any], key: str, read: Callable[[object, str], _T], skipped: list[str]
) -> list[_T]:
    """The entries of ``document[key]`` read with ``read``; skipped ones are reported in ``skipped``."""
    kept = []
    for i, item in enumerate(_list(document, key)):
        try:
            kept.append(read(item, f"{key}[{i}]"))
        except _Skipped as skip:
            skipped.append(str(skip))
    return kept


def _unique_log_ids(document: Mapping[str, Any], key: str) -> None:
    """Two logs of ``document[key]`` (skipped ones too) with one id: which one signed an entry is ambiguous."""
    seen: dict[bytes, int] = {}
    for i, item in enumerate(_list(document, key)):
        log_id = item.get("logId") if isinstance(item, Mapping) else None
        if not isinstance(log_id, Mapping):
            continue  # reported by _log
        key_id = _b64(log_id.get("keyId"), f"{key}[{i}].logId.keyId")
        if key_id in seen:
            raise _Bad(f"{key}[{i}].logId.keyId duplicates {key}[{seen[key_id]}].logId.keyId")
        seen[key_id] = i


_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def load_pem_certificates(path: Path, option: str) -> list[x509.Certificate]:
    """The certificates of a PEM file given with ``option`` (named in errors); a usage error otherwise."""
    data = _read(path, f"{option} file")
    blocks = _PEM_BLOCK.findall(data)
    if not blocks:
        raise UsageError(
            f"{option} file {path}: no PEM certificate in it, not a PEM file of X.509 certificates"
        )
    try:
        return [x509.load_pem_x509_certificate(block) for block in blocks]
    except ValueError as exc:
        raise UsageError(f"{option} file {path}: a certificate cannot be parsed ({exc})") from exc


def _require_ca(cert: x509.Certificate, path: Path) -> None:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise UsageError(
            f"--ca-roots file {path}: {cert.subject.rfc4514_string() or 'a certificate'} is not a CA certificate"
        )
