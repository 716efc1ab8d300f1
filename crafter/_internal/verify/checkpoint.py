"""Inclusion proofs and the checkpoints anchoring them: an RFC 6962 audit path from the entry to a root
hash, and a signed note (C2SP signed-note / tlog-checkpoint) by the log for that root hash and tree size.

A checkpoint's body is ``origin``, ``size``, ``root hash`` (then optional extension lines); each signature
line is ``— NAME BASE64`` where the payload starts with a 4-byte key hint. The log's signature is the line
whose name is the log's name (the host of its URL), whose key hint is the first 4 bytes of its log id and
whose signature verifies with its key; other lines (witness cosignatures, other keys) are ignored. The origin
must name the log: the same name, or ``NAME - TREE_ID`` as Rekor v1 writes it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from crafter._internal.trust import TransparencyLog
from crafter._internal.verify.primitives import b64_field, integer, verifies
from crafter.errors import SignatureError

_SIGNATURE_LINE = re.compile("\u2014 (\\S+) (\\S+)")
# Bounds on what a producer controls: Rekor's proofs are ~40 hashes, its notes a few lines.
_MAX_PROOF_HASHES = 64
_MAX_SIGNATURE_LINES = 32


def check_inclusion_proof(proof: object, body: bytes, log: TransparencyLog, label: str) -> None:
    if not isinstance(proof, Mapping):
        raise SignatureError(f"{label}: inclusionProof is not an object")
    index, size = integer(proof.get("logIndex")), integer(proof.get("treeSize"))
    root_hash = b64_field(proof.get("rootHash"))
    raw_hashes = proof.get("hashes") or []
    if not isinstance(raw_hashes, list) or len(raw_hashes) > _MAX_PROOF_HASHES:
        raise SignatureError(f"{label}: malformed inclusion proof (hashes)")
    hashes_ = [b64_field(h) for h in raw_hashes]
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
    check_checkpoint(text, root_hash, size, log, label)


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


def log_name(log: TransparencyLog) -> str:
    """The name a log signs its checkpoints with: the host (and port) of its URL; "" when it has none."""
    return urlsplit(log.base_url).netloc if log.base_url else ""


def check_checkpoint(text: str, root_hash: bytes, size: int, log: TransparencyLog, label: str) -> None:
    note, sep, signature_block = text.partition("\n\n")
    lines = note.split("\n")
    if not sep or len(lines) < 3 or not lines[0]:
        raise SignatureError(
            f"{label}: malformed checkpoint (origin, tree size and root hash lines expected)"
        )
    origin, checkpoint_size, checkpoint_root = lines[0], integer(lines[1]), b64_field(lines[2])
    if checkpoint_size is None or checkpoint_root is None or len(checkpoint_root) != 32:
        raise SignatureError(f"{label}: malformed checkpoint (tree size or root hash)")
    signature_lines = signature_block.rstrip("\n").split("\n") if signature_block.strip() else []
    if not signature_lines:
        raise SignatureError(f"{label}: the checkpoint has no signature")
    if len(signature_lines) > _MAX_SIGNATURE_LINES:
        raise SignatureError(f"{label}: the checkpoint has more than {_MAX_SIGNATURE_LINES} signatures")
    name = log_name(log)
    signed = (note + "\n").encode()
    verified = False
    for line in signature_lines:
        match = _SIGNATURE_LINE.fullmatch(line)
        if match is None:
            raise SignatureError(f"{label}: malformed checkpoint signature line {line[:80]!r}")
        raw = b64_field(match.group(2))
        if raw is None or len(raw) <= 4 or raw[:4] != log.log_id[:4]:
            continue  # another key's signature (a witness): not ours to judge
        if name and match.group(1) != name:
            continue
        if verifies(log.public_key, raw[4:], signed):
            verified = True
            break
    who = log.base_url or log.log_id.hex()
    if not verified:
        raise SignatureError(
            f"{label}: the checkpoint has no signature by the log ({who}): none names it, carries its key "
            "hint and verifies with its key"
        )
    if name and origin != name and not origin.startswith(name + " - "):
        raise SignatureError(f"{label}: the checkpoint is for origin {origin!r}, not the log {name!r}")
    if checkpoint_size != size or checkpoint_root != root_hash:
        raise SignatureError(f"{label}: the signed checkpoint is for another tree than the inclusion proof")
