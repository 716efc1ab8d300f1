"""Transparency-log entries of a keyless bundle: each must record this envelope and certificate (its Rekor
entry body) and carry a proof of inclusion: a signed entry timestamp (SET, then a verified time of signing)
and/or an RFC 6962 inclusion proof whose root hash a checkpoint signed by the log anchors."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from crafter.errors import SignatureError
from crafter.signing.dsse import Envelope
from crafter.trust import TransparencyLog, TrustRoot
from crafter.verify.primitives import b64_field, integer, verifies
from crafter.verify.times import SigningTime

# As for timestamps (sigstore-go and sigstore-python's limit): more is an attempt to make us work.
_MAX_TLOG_ENTRIES = 32


def tlog_times(
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
    body = b64_field(entry.get("canonicalizedBody"))
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
    index, size = integer(proof.get("logIndex")), integer(proof.get("treeSize"))
    root_hash = b64_field(proof.get("rootHash"))
    hashes_ = [b64_field(h) for h in proof.get("hashes") or []]
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
        raw = b64_field(match.group(2)) if match else None
        if raw is not None and len(raw) > 4 and verifies(log.public_key, raw[4:], signed):
            verified = True
            break
    if not verified:
        raise SignatureError(
            f"{label}: the checkpoint is not signed by the log's key ({log.base_url or log.log_id.hex()})"
        )
    if integer(lines[1]) != size or b64_field(lines[2]) != root_hash:
        raise SignatureError(f"{label}: the signed checkpoint is for another tree than the inclusion proof")
