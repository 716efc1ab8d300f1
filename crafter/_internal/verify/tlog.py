"""Transparency-log entries of a bundle: each must record this signature, its signed content and its signer
(its Rekor entry body) and carry a proof of inclusion. Rekor v1 entries have a signed entry timestamp (SET,
then a verified time of signing); from bundle v0.2 every entry needs an RFC 6962 inclusion proof whose root
hash a checkpoint signed by the log anchors (v0.1 entries need the SET). Rekor v2 entries have no integrated
time: their time comes from an RFC 3161 timestamp."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from crafter._internal.trust import TrustRoot
from crafter._internal.verify.checkpoint import check_inclusion_proof
from crafter._internal.verify.content import SignedContent, SignerKey
from crafter._internal.verify.primitives import b64_field, integer, verifies
from crafter._internal.verify.times import SigningTime
from crafter.errors import SignatureError

# As for timestamps (sigstore-go and sigstore-python's limit): more is an attempt to make us work.
_MAX_TLOG_ENTRIES = 32
_HASHES = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512", "sha256": "sha256"}


def tlog_entries(material: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    """The bundle's ``tlogEntries`` (checked to be a list of objects, at most 32)."""
    entries = material.get("tlogEntries") or []
    if not isinstance(entries, list):
        raise SignatureError(f"{where}: verificationMaterial.tlogEntries must be a list")
    if len(entries) > _MAX_TLOG_ENTRIES:
        raise SignatureError(
            f"{where}: {len(entries)} transparency-log entries, more than {_MAX_TLOG_ENTRIES}"
        )
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise SignatureError(f"{where}: transparency-log entry {index} is not an object")
    return entries


def tlog_times(
    material: Mapping[str, Any],
    content: SignedContent,
    signature: bytes,
    signer: SignerKey,
    root: TrustRoot,
    where: str,
    *,
    version: tuple[int, int] = (0, 3),
    required: bool = True,
) -> tuple[list[SigningTime], int]:
    """Verify every log entry; return the times their SETs prove and the number of entries. ``required``:
    a trust root with logs expects at least one entry."""
    entries = tlog_entries(material, where)
    if not entries and required and root.transparency_logs:
        raise SignatureError(
            f"{where}: the bundle has no transparency-log entry, and the trust root ({root.source}) expects "
            "signatures to be logged",
            hint="a signature outside the log escapes its monitors; --insecure-ignore-tlog skips this check",
        )
    times = []
    for index, entry in enumerate(entries):
        label = f"{where}: transparency-log entry {index}"
        when = _verify_entry(entry, content, signature, signer, root, label, version)
        if when is not None:
            times.append(when)
    return times, len(entries)


def _verify_entry(
    entry: Mapping[str, Any],
    content: SignedContent,
    signature: bytes,
    signer: SignerKey,
    root: TrustRoot,
    label: str,
    version: tuple[int, int],
) -> SigningTime | None:
    log_id = b64_field(
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
    if integer(entry.get("logIndex")) is None:
        raise SignatureError(f"{label}: logIndex must be a non-negative integer")
    body = b64_field(entry.get("canonicalizedBody"))
    if body is None:
        raise SignatureError(f"{label} has no canonicalizedBody")
    kind = entry.get("kindVersion") or {}
    _check_body(body, kind if isinstance(kind, Mapping) else {}, content, signature, signer, label)
    promise = entry.get("inclusionPromise")
    proof = entry.get("inclusionProof")
    if version >= (0, 2) and not proof:
        raise SignatureError(
            f"{label} has no inclusion proof: from bundle v0.2 an inclusion proof with a signed checkpoint is "
            "required (a signed entry timestamp is only the log's promise to include it)"
        )
    if version < (0, 2) and not promise:
        raise SignatureError(f"{label} has no signed entry timestamp, which a v0.1 bundle requires")
    if proof:
        check_inclusion_proof(proof, body, log, label)
    if not promise:
        return None  # Rekor v2: logged, but the integrated time is not signed; a TSA gives the time
    set_bytes = b64_field(promise.get("signedEntryTimestamp") if isinstance(promise, Mapping) else None)
    integrated, index = integer(entry.get("integratedTime")), integer(entry.get("logIndex"))
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
    if not verifies(log.public_key, set_bytes, signed):
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
    content: SignedContent,
    signature: bytes,
    signer: SignerKey,
    label: str,
) -> None:
    """The entry must record this content (envelope or artifact digest), signature and signer: otherwise a
    valid entry of another signing could be attached to the bundle."""
    try:
        document = json.loads(body)
        kind, version = str(document["kind"]), str(document["apiVersion"])
        spec = document["spec"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureError(f"{label}: the entry body is not a Rekor entry ({exc})") from exc
    if kind_version and (kind_version.get("kind"), kind_version.get("version")) != (kind, version):
        raise SignatureError(f"{label}: kindVersion does not match the entry body ({kind} {version})")
    checks = {
        ("dsse", "0.0.1"): _dsse_v1,
        ("dsse", "0.0.2"): _dsse_v2,
        ("intoto", "0.0.2"): _intoto,
        ("hashedrekord", "0.0.1"): _hashedrekord_v1,
        ("hashedrekord", "0.0.2"): _hashedrekord_v2,
    }
    check = checks.get((kind, version))
    what = "a DSSE bundle" if content.envelope is not None else "a message signature"
    if check is None or (kind in ("dsse", "intoto") and content.envelope is None):
        raise SignatureError(f"{label}: unsupported entry kind {kind} {version} for {what}")
    try:
        ok = check(spec, content, signature, signer)
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise SignatureError(f"{label}: malformed {kind} entry body ({exc})") from exc
    if not ok:
        raise SignatureError(
            f"{label} does not match this bundle: it records another "
            + ("envelope" if content.envelope is not None else "artifact")
            + ", signature or signer",
            hint="a log entry of another signing was attached to this bundle",
        )


def _signed_digest(content: SignedContent, algorithm: str) -> bytes:
    """What a hashedrekord entry records: the artifact's digest, or for DSSE the digest of the PAE."""
    if content.envelope is not None:
        return hashlib.new(algorithm, content.envelope.pae()).digest()
    assert content.artifact is not None
    if content.artifact.algorithm != algorithm:
        return b""
    return content.artifact.value


def _all_signatures_by(content: SignedContent, recorded: set[tuple[bytes, bool]]) -> bool:
    return recorded == {(sig, True) for sig in content.signatures}


def _dsse_v1(spec: Any, content: SignedContent, signature: bytes, signer: SignerKey) -> bool:
    assert content.envelope is not None
    payload_hash = hashlib.sha256(content.envelope.payload).hexdigest()
    if spec["payloadHash"]["algorithm"] != "sha256" or spec["payloadHash"]["value"] != payload_hash:
        return False
    recorded = {
        (base64.b64decode(s["signature"]), signer.recorded_by(base64.b64decode(s["verifier"])))
        for s in spec["signatures"]
    }
    return _all_signatures_by(content, recorded)


def _dsse_v2(spec: Any, content: SignedContent, signature: bytes, signer: SignerKey) -> bool:
    assert content.envelope is not None
    inner = spec["dsseV002"]
    algorithm = _HASHES[inner["payloadHash"]["algorithm"]]
    digest = hashlib.new(algorithm, content.envelope.payload).digest()
    if base64.b64decode(inner["payloadHash"]["digest"]) != digest:
        return False
    recorded = {
        (base64.b64decode(s["content"]), signer.recorded_by(_verifier_v2(s["verifier"])))
        for s in inner["signatures"]
    }
    return _all_signatures_by(content, recorded)


def _intoto(spec: Any, content: SignedContent, signature: bytes, signer: SignerKey) -> bool:
    envelope = content.envelope
    assert envelope is not None
    recorded_content = spec["content"]
    payload_hash = hashlib.sha256(envelope.payload).hexdigest()
    if (
        recorded_content["payloadHash"]["algorithm"] != "sha256"
        or recorded_content["payloadHash"]["value"] != payload_hash
    ):
        return False
    env = recorded_content["envelope"]
    if env.get("payloadType") != envelope.payload_type:
        return False
    recorded = set()
    for s in env["signatures"]:
        sig = base64.b64decode(s["sig"])
        with_text = _maybe_b64(sig)  # Rekor stores the envelope's base64 text once more encoded
        recorded.add(
            (
                with_text if with_text is not None else sig,
                signer.recorded_by(base64.b64decode(s["publicKey"])),
            )
        )
    return _all_signatures_by(content, recorded)


def _hashedrekord_v1(spec: Any, content: SignedContent, signature: bytes, signer: SignerKey) -> bool:
    data = spec["data"]["hash"]
    algorithm = _HASHES[data["algorithm"]]
    digest = _signed_digest(content, algorithm)
    if not digest or bytes.fromhex(data["value"]) != digest:
        return False
    recorded_sig = base64.b64decode(spec["signature"]["content"])
    recorded_key = base64.b64decode(spec["signature"]["publicKey"]["content"])
    return recorded_sig == signature and signer.recorded_by(recorded_key) and len(content.signatures) == 1


def _hashedrekord_v2(spec: Any, content: SignedContent, signature: bytes, signer: SignerKey) -> bool:
    inner = spec["hashedRekordV002"]
    algorithm = _HASHES[inner["data"]["algorithm"]]
    digest = _signed_digest(content, algorithm)
    if not digest or base64.b64decode(inner["data"]["digest"]) != digest:
        return False
    recorded_sig = base64.b64decode(inner["signature"]["content"])
    recorded_key = _verifier_v2(inner["signature"]["verifier"])
    return recorded_sig == signature and signer.recorded_by(recorded_key) and len(content.signatures) == 1


def _verifier_v2(verifier: Mapping[str, Any]) -> bytes:
    """Rekor v2's verifier: an X.509 certificate or a public key, DER."""
    if "x509Certificate" in verifier:
        return base64.b64decode(verifier["x509Certificate"]["rawBytes"])
    return base64.b64decode(verifier["publicKey"]["rawBytes"])


def _maybe_b64(data: bytes) -> bytes | None:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
