"""Keyless verification of a bundle against a :class:`~crafter._internal.trust.TrustRoot`, offline, failing closed.

:func:`verify_keyless` checks, in this order (the first failure raises :class:`SignatureError`):

1. some DSSE signature verifies with the public key of the bundle's leaf certificate;
2. the leaf chains to a certificate authority of the trust root (intermediates from the bundle and the trust
   root; signatures, names, CA constraints, key usage: ``cryptography.x509.verification``), and is a
   code-signing certificate (key usage digitalSignature, extended key usage codeSigning);
3. identity and OIDC issuer match what the caller expects (exact or full-match regular expression); a
   certificate that names an identity must be constrained, as cosign requires;
4. the time of signing, from verified evidence only: RFC 3161 timestamps over the signature, verified against
   the trust root's timestamp authorities, and transparency-log entries whose signed entry timestamp (SET)
   verifies with the log's key. Every entry must bind this content and certificate and carry its proofs
   (:mod:`crafter._internal.verify.tlog`: a SET in v0.1 bundles, an inclusion proof with a signed checkpoint from
   v0.2). When the trust root has transparency logs, at least one entry is required. No evidence at all
   fails, unless the caller accepts the current time;
5. at every such time the leaf was within its validity window and its chain was valid, with each CA, TSA and
   log inside the window the trust root gives it;
6. certificate transparency: when the trust root has CT logs, an embedded SCT must verify with one of them.

See docs/verify.md ("Keyless bundles").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
from cryptography import x509

from crafter._internal.trust import TrustRoot
from crafter._internal.verify.certificate import (
    certificate_identities,
    certificate_issuer,
    chain_or_fail,
    check_code_signing,
    check_identity,
    verified_signature,
)
from crafter._internal.verify.content import SignedContent, SignerKey
from crafter._internal.verify.sct import check_sct
from crafter._internal.verify.times import SigningTime, timestamp_times
from crafter._internal.verify.tlog import tlog_times
from crafter.errors import SignatureError, UsageError

__all__ = [
    "KeylessPolicy",
    "KeylessResult",
    "SigningTime",
    "certificate_identities",
    "keyless_policy",
    "verify_keyless",
]


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
    content: SignedContent,
    certificates: Sequence[x509.Certificate],
    policy: KeylessPolicy,
    *,
    where: str,
    now: datetime | None = None,
    version: tuple[int, int] = (0, 3),
) -> KeylessResult:
    """Verify a keyless bundle (``certificates``: leaf first, from its verification material; ``version``:
    the bundle format's) against ``policy``. ``where`` names the bundle in messages. Raises
    :class:`SignatureError` (not genuine or not trusted) or :class:`UsageError` (missing expectations, no
    trust root)."""
    from crafter._internal.trust import sigstore_trust_root

    if not certificates:
        raise SignatureError(f"{where}: the bundle's certificate chain is empty")
    leaf = certificates[0]
    for cert in certificates[1:]:  # a chain that brings its own root would anchor itself
        if cert.issuer == cert.subject:
            raise SignatureError(
                f"{where}: the bundle's certificate chain includes a root certificate "
                f"({cert.subject.rfc4514_string()}): roots come from the trust root, never from the bundle"
            )
    signature = verified_signature(content, leaf, where)
    root = policy.trust_root or sigstore_trust_root()
    chain = chain_or_fail(leaf, certificates[1:], root, leaf.not_valid_before_utc, where, first=True)
    check_code_signing(leaf, where)
    identities = certificate_identities(leaf)
    issuer = certificate_issuer(leaf)
    check_identity(identities, issuer, leaf, policy, where)

    material = bundle.get("verificationMaterial") or {}
    notes: list[str] = [f"trust root: {line}" for line in root.skipped]  # entries never trusted
    times = timestamp_times(material, signature, root, where)
    entries = 0
    if policy.ignore_tlog:
        if material.get("tlogEntries"):
            notes.append("transparency-log entries ignored (--insecure-ignore-tlog)")
    else:
        logged, entries = tlog_times(
            material, content, signature, SignerKey(leaf.public_key(), leaf), root, where, version=version
        )
        times += logged
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
        chain = chain_or_fail(leaf, certificates[1:], root, when.time, where, first=False, when=when)
    sct = check_sct(leaf, chain, root, where)
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
    from crafter._internal.trust import sigstore_trust_root

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


def with_timestamp_authorities(
    policy: KeylessPolicy | None,
    roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
) -> KeylessPolicy | None:
    """``policy`` whose trust root (Sigstore public-good's by default) also trusts a TSA under each of
    ``roots``: how ``--timestamp-certificate-chain`` (split by :func:`crafter._internal.signing.timestamp.split_chain`)
    applies to keyless bundles, whose timestamps are time evidence."""
    if not roots:
        return policy
    from crafter._internal.trust import CertificateAuthority, sigstore_trust_root

    policy = policy or KeylessPolicy()
    root = policy.trust_root or sigstore_trust_root()
    extra = tuple(CertificateAuthority((*intermediates, r)) for r in roots)
    option = "--timestamp-certificate-chain"
    root = attrs.evolve(
        root,
        timestamp_authorities=(*root.timestamp_authorities, *extra),
        source=f"{root.source} + {option}" if root.source else option,
    )
    return attrs.evolve(policy, trust_root=root)
