"""The JSON shape of a Sigstore bundle's verification material (protobuf-specs ``VerificationMaterial``), checked
once when a bundle is read, so every later reader can rely on the types it finds: a producer's malformed
bundle is one error naming the JSON path, never a crash deep inside verification."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crafter.errors import SigningError

# A shape is a Python type, a tuple of accepted types, a list [shape] (a JSON array of that shape), or a dict
# {field: shape} (an object whose listed fields, when present and not null, have that shape; other fields
# are ignored, as protobuf JSON readers ignore unknown ones).
_INT = (int, str)  # protobuf JSON writes 64-bit integers as strings
_RAW = {"rawBytes": str}
_CHECKPOINT = {"envelope": str}
_PROOF = {"logIndex": _INT, "rootHash": str, "treeSize": _INT, "hashes": [str], "checkpoint": _CHECKPOINT}
_ENTRY = {
    "logIndex": _INT,
    "logId": {"keyId": str},
    "kindVersion": {"kind": str, "version": str},
    "integratedTime": _INT,
    "inclusionPromise": {"signedEntryTimestamp": str},
    "inclusionProof": _PROOF,
    "canonicalizedBody": str,
}
MATERIAL_SHAPE: dict[str, Any] = {
    "publicKey": {"hint": str},
    "certificate": _RAW,
    "x509CertificateChain": {"certificates": [_RAW]},
    "tlogEntries": [_ENTRY],
    "timestampVerificationData": {"rfc3161Timestamps": [{"signedTimestamp": str}]},
}
_CONTENT = ("publicKey", "certificate", "x509CertificateChain")


def check_material_shape(material: object) -> None:
    """Raise :class:`SigningError` naming the first field of ``verificationMaterial`` of the wrong type, or
    when it holds more than one of a public key, a certificate and a certificate chain."""
    _check(material, MATERIAL_SHAPE, "verificationMaterial")
    assert isinstance(material, Mapping)
    given = [name for name in _CONTENT if material.get(name) is not None]
    if len(given) > 1:
        raise SigningError(f"verificationMaterial holds both {given[0]} and {given[1]}: give one signer")


def _check(value: object, shape: Any, where: str) -> None:
    if isinstance(shape, dict):
        if not isinstance(value, Mapping):
            raise SigningError(f"{where} must be an object")
        for name, inner in shape.items():
            if value.get(name) is not None:
                _check(value[name], inner, f"{where}.{name}")
    elif isinstance(shape, list):
        if not isinstance(value, list):
            raise SigningError(f"{where} must be a list")
        for index, item in enumerate(value):
            _check(item, shape[0], f"{where}[{index}]")
    elif isinstance(value, bool) or not isinstance(value, shape):
        names = " or ".join(t.__name__ for t in (shape if isinstance(shape, tuple) else (shape,)))
        kind = {"str": "a string", "int": "an integer", "int or str": "an integer"}.get(names, names)
        raise SigningError(f"{where} must be {kind}")
