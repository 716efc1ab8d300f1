"""Trust roots for keyless verification: which certificate authorities, timestamp authorities and transparency
logs a keyless bundle may lean on. Read offline, never refreshed.

Sources (see docs/verify.md, "Keyless bundles"):

- a Sigstore ``TrustedRoot`` JSON file (``application/vnd.dev.sigstore.trustedroot+json;version=0.1``, the
  format of Sigstore's and GitHub's ``trusted_root.json``): :meth:`TrustRoot.from_trusted_root_file`;
- PEM bundles, as cosign spells them (``--ca-roots``, ``--ca-intermediates``,
  ``--timestamp-certificate-chain``) for a private CA such as Chainloop's: :meth:`TrustRoot.from_pem_files`;
- Sigstore public-good's (or staging's) trusted root as shipped inside the installed ``sigstore`` package:
  :func:`sigstore_trust_root`. The file is read as it is (no TUF update); it is as current as that package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from crafter.errors import UsageError
from crafter.files import read_small_file

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


@attrs.frozen
class TrustRoot:
    """Everything keyless verification trusts. ``source`` says where it came from (reported with results)."""

    certificate_authorities: tuple[CertificateAuthority, ...] = attrs.field(
        converter=_authorities, validator=_non_empty
    )
    timestamp_authorities: tuple[CertificateAuthority, ...] = attrs.field(default=(), converter=_authorities)
    transparency_logs: tuple[TransparencyLog, ...] = attrs.field(default=(), converter=_logs)
    ct_logs: tuple[TransparencyLog, ...] = attrs.field(default=(), converter=_logs)
    source: str = ""

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
        try:
            return cls.from_trusted_root(document, source=source or f"trusted root {path}")
        except (_Bad, ValueError, TypeError) as exc:
            raise UsageError(f"trusted root {path}: {exc}") from exc

    @classmethod
    def from_trusted_root(cls, document: object, *, source: str = "trusted root") -> TrustRoot:
        """Build from the parsed JSON of a ``TrustedRoot``; raises ``ValueError`` describing what is wrong."""
        if not isinstance(document, Mapping):
            raise _Bad(f"expected a JSON object, got {type(document).__name__}")
        media_type = document.get("mediaType")
        if media_type not in TRUSTED_ROOT_MEDIA_TYPES:
            raise _Bad(f"unsupported mediaType {media_type!r} (expected a Sigstore TrustedRoot)")
        cas = [
            _authority(ca, f"certificateAuthorities[{i}]")
            for i, ca in enumerate(_list(document, "certificateAuthorities"))
        ]
        if not cas:
            raise _Bad("no certificateAuthorities: keyless certificates cannot be checked")
        return cls(
            certificate_authorities=cas,
            timestamp_authorities=[
                _authority(ta, f"timestampAuthorities[{i}]")
                for i, ta in enumerate(_list(document, "timestampAuthorities"))
            ],
            transparency_logs=[_log(t, f"tlogs[{i}]") for i, t in enumerate(_list(document, "tlogs"))],
            ct_logs=[_log(t, f"ctlogs[{i}]") for i, t in enumerate(_list(document, "ctlogs"))],
            source=source,
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
    for location in locations:
        path = Path(location) / "_store" / _SIGSTORE_STORES[name] / "trusted_root.json"
        if path.is_file():
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


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _time(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{where} must be an RFC 3339 time")
    try:
        # protobuf JSON allows nanoseconds; datetime keeps microseconds.
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Bad(f"{where} is not an RFC 3339 time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _validity(entry: Mapping[str, Any], where: str) -> Validity:
    window = entry.get("validFor") or {}
    if not isinstance(window, Mapping):
        raise _Bad(f"{where}.validFor must be an object")
    return Validity(
        _time(window.get("start"), f"{where}.validFor.start"),
        _time(window.get("end"), f"{where}.validFor.end"),
    )


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
    return CertificateAuthority(certs, _validity(entry, where), str(entry.get("uri", "")))


def _log(entry: object, where: str) -> TransparencyLog:
    if not isinstance(entry, Mapping):
        raise _Bad(f"{where} must be an object")
    key = entry.get("publicKey")
    if not isinstance(key, Mapping):
        raise _Bad(f"{where}.publicKey must be an object")
    try:
        public_key = serialization.load_der_public_key(
            _b64(key.get("rawBytes"), f"{where}.publicKey.rawBytes")
        )
    except (ValueError, TypeError) as exc:
        raise _Bad(f"{where}.publicKey.rawBytes is not a DER public key ({exc})") from exc
    log_id = entry.get("logId")
    if not isinstance(log_id, Mapping):
        raise _Bad(f"{where}.logId must be an object")
    return TransparencyLog(
        public_key,
        _b64(log_id.get("keyId"), f"{where}.logId.keyId"),
        _validity(key, f"{where}.publicKey"),
        str(entry.get("baseUrl", "")),
    )


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
