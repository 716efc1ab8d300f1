"""Log entries and timestamps of a bundle signed with a known key (``--key``, ``--certificate``): optional,
but when present they are verified against the trust root (``--trusted-root``, default Sigstore
public-good's) and a bad one fails. ``--require-tlog`` makes a log entry mandatory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from cryptography import x509

from crafter._internal.signing.timestamp import TimestampInfo, bundle_timestamps, check_timestamps
from crafter._internal.trust import TrustRoot
from crafter._internal.verify.content import SignedContent, SignerKey
from crafter._internal.verify.keyless import KeylessPolicy
from crafter._internal.verify.result import SignerInfo
from crafter._internal.verify.times import SigningTime, verify_token
from crafter._internal.verify.tlog import tlog_entries, tlog_times
from crafter.errors import SignatureError


@attrs.frozen
class KeyEvidence:
    signer: SignerInfo  # with what the trust root confirmed: root, log entries, verified times
    timestamps: tuple[TimestampInfo, ...] = ()  # checked with an explicit TSA chain


def key_evidence(
    bundle: Mapping[str, Any],
    content: SignedContent,
    signatures: Sequence[bytes],
    signer_key: SignerKey,
    signer: SignerInfo,
    *,
    policy: KeylessPolicy | None,
    timestamp_roots: Sequence[x509.Certificate],
    timestamp_intermediates: Sequence[x509.Certificate],
    require_tlog: bool,
    version: tuple[int, int],
    where: str,
) -> KeyEvidence:
    """Verify what a key-signed bundle carries besides its signature. Log entries are checked against the
    trust root, timestamps against ``timestamp_roots`` when given (reported in ``timestamps``), else against
    the trust root's timestamp authorities (reported as verified times of signing)."""
    material = bundle.get("verificationMaterial") or {}
    if not isinstance(material, Mapping):
        material = {}
    ignore_tlog = policy is not None and policy.ignore_tlog
    entries = [] if ignore_tlog else tlog_entries(material, where)
    if require_tlog and not entries:
        raise SignatureError(
            f"{where}: the bundle has no transparency-log entry, and --require-tlog asks for one"
            + (" (--insecure-ignore-tlog ignores them)" if ignore_tlog else "")
        )
    try:
        tokens = bundle_timestamps(bundle)
    except SignatureError as exc:
        raise SignatureError(f"{where}: {exc.message}", hint=exc.hint) from None
    explicit_tsa = bool(timestamp_roots)
    if not entries and (not tokens or explicit_tsa):
        return KeyEvidence(
            signer,
            check_timestamps(
                list(enumerate(tokens)),
                signatures,
                roots=timestamp_roots,
                intermediates=timestamp_intermediates,
                where=where,
            ),
        )
    root = _trust_root(policy, required=bool(entries))
    notes = [*signer.notes, *(f"trust root: {line}" for line in (root.skipped if root else ()))]
    if ignore_tlog and material.get("tlogEntries"):
        notes.append("transparency-log entries ignored (--insecure-ignore-tlog)")
    times = []
    count = 0
    if entries:
        assert root is not None
        logged, count = tlog_times(
            material, content, signatures[0], signer_key, root, where, version=version, required=False
        )
        times += logged
    timestamps: tuple[TimestampInfo, ...] = ()
    if explicit_tsa:
        timestamps = check_timestamps(
            list(enumerate(tokens)),
            signatures,
            roots=timestamp_roots,
            intermediates=timestamp_intermediates,
            where=where,
        )
    elif tokens:
        verified, unknown = _trust_root_timestamps(tokens, signatures, root, where)
        times += verified
        timestamps = unknown
    if root is None:
        return KeyEvidence(signer, timestamps)
    return KeyEvidence(
        attrs.evolve(
            signer,
            trust_root=root.source,
            tlog_entries=count,
            signed_at=tuple(t.describe() for t in times),
            notes=tuple(notes),
        ),
        timestamps,
    )


def _trust_root_timestamps(
    tokens: Sequence[bytes], signatures: Sequence[bytes], root: TrustRoot | None, where: str
) -> tuple[list[SigningTime], tuple[TimestampInfo, ...]]:
    """Timestamps of a key-signed bundle without an explicit TSA chain: those a TSA of the trust root
    verifies give verified times; the others must still be over the signature (else they are forged or
    misplaced: a failure) and are reported as not verified, since a key-signed bundle needs no time."""
    verified: list[SigningTime] = []
    others: list[tuple[int, bytes]] = []
    for index, token in enumerate(tokens):
        try:
            if root is None:
                raise SignatureError("no trust root")
            verified.append(verify_token(token, signatures[0], root, f"{where}: RFC 3161 timestamp {index}"))
        except SignatureError:
            others.append((index, token))
    unknown = check_timestamps(others, signatures, where=where)  # over this signature, at least
    return verified, unknown


def _trust_root(policy: KeylessPolicy | None, *, required: bool) -> TrustRoot | None:
    """The trust root given, else Sigstore public-good's; ``None`` when that is not installed and only
    optional timestamps would use it (log entries ``required`` it: the error then says what to give)."""
    from crafter._internal.trust import sigstore_trust_root
    from crafter.errors import UsageError

    if policy is not None and policy.trust_root is not None:
        return policy.trust_root
    try:
        return sigstore_trust_root()
    except UsageError:
        if required:
            raise
        return None
