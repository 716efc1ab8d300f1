"""cosign's encrypted private key format (``cosign generate-key-pair``), read and written.

The PEM block (type ``ENCRYPTED SIGSTORE PRIVATE KEY``, or ``ENCRYPTED COSIGN PRIVATE KEY`` from cosign
before v2) holds a JSON document, the format of go-securesystemslib's ``encrypted`` package::

    {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": "<base64>"},
     "cipher": {"name": "nacl/secretbox", "nonce": "<base64, 24 bytes>"},
     "ciphertext": "<base64>"}

The secretbox key is ``scrypt(password, salt, N, r, p, 32 bytes)``; the plaintext is the PKCS#8 DER private
key. NaCl secretbox (XSalsa20-Poly1305) comes from PyNaCl, the ``cosign`` extra, imported only when a cosign
key is actually read or written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from crafter.errors import SigningError

__all__ = [
    "COSIGN_PEM_LABELS",
    "SIGSTORE_PEM_LABEL",
    "decrypt_cosign_key",
    "encrypt_cosign_key",
    "is_cosign_key",
]

#: The label cosign v2 writes.
SIGSTORE_PEM_LABEL = "ENCRYPTED SIGSTORE PRIVATE KEY"
#: Both labels we read (the second is what cosign before v2 wrote).
COSIGN_PEM_LABELS = (SIGSTORE_PEM_LABEL, "ENCRYPTED COSIGN PRIVATE KEY")

# cosign's parameters (go-securesystemslib encrypted.ScryptParams defaults); N=2**15 needs 32 MiB of memory.
_N, _R, _P = 32768, 8, 1
# Reading refuses parameters that would take more memory or time than this (a hostile key file).
_MAX_SCRYPT_MEMORY = 256 << 20
_PEM = re.compile(
    rb"-----BEGIN (?P<label>ENCRYPTED (?:SIGSTORE|COSIGN) PRIVATE KEY)-----\r?\n"
    rb"(?P<body>.*?)"
    rb"-----END (?P=label)-----",
    re.DOTALL,
)
_EXTRA_HINT = "install the cosign extra: pip install 'crafter-attest[cosign]' (it adds PyNaCl)"


def is_cosign_key(data: bytes) -> bool:
    """Whether ``data`` holds a cosign encrypted key PEM block (either label)."""
    return _PEM.search(data) is not None


def _secretbox(key: bytes) -> Any:
    try:
        from nacl.secret import SecretBox
    except ImportError as exc:
        raise SigningError(
            "reading or writing a cosign key needs PyNaCl, which is not installed", hint=_EXTRA_HINT
        ) from exc
    return SecretBox(key)


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=_MAX_SCRYPT_MEMORY + (1 << 20), dklen=32)


def encrypt_cosign_key(
    private_key: PrivateKeyTypes, password: bytes, *, label: str = SIGSTORE_PEM_LABEL
) -> bytes:
    """Write ``private_key`` as cosign does: PKCS#8 DER in a secretbox keyed by scrypt(``password``)."""
    if label not in COSIGN_PEM_LABELS:
        raise ValueError(f"not a cosign PEM label: {label!r}")
    der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt = os.urandom(32)
    nonce = os.urandom(24)
    box = _secretbox(_scrypt(password, salt, _N, _R, _P))
    ciphertext = box.encrypt(der, nonce).ciphertext
    document = {
        "kdf": {"name": "scrypt", "params": {"N": _N, "r": _R, "p": _P}, "salt": _b64(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": _b64(nonce)},
        "ciphertext": _b64(ciphertext),
    }
    flat = base64.b64encode(json.dumps(document).encode("utf-8"))
    lines = [flat[i : i + 64] for i in range(0, len(flat), 64)]  # 64 columns, as Go's encoding/pem writes
    return (
        f"-----BEGIN {label}-----\n".encode()
        + b"".join(line + b"\n" for line in lines)
        + f"-----END {label}-----\n".encode()
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decrypt_cosign_key(data: bytes, password: bytes, source: str) -> PrivateKeyTypes:
    """Decrypt a cosign key; ``source`` names the file (or variable) in every error."""
    match = _PEM.search(data)
    if match is None:
        raise SigningError(f"{source} is not a cosign encrypted key")
    try:
        document = json.loads(base64.b64decode(b"".join(match.group("body").split()), validate=True))
        kdf, cipher = document["kdf"], document["cipher"]
        if kdf["name"] != "scrypt" or cipher["name"] != "nacl/secretbox":
            raise SigningError(
                f"{source}: unsupported cosign key encryption ({kdf['name']}, {cipher['name']})",
                hint="cosign keys use scrypt and nacl/secretbox",
            )
        params = kdf["params"]
        n, r, p = int(params["N"]), int(params["r"]), int(params["p"])
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(cipher["nonce"], validate=True)
        ciphertext = base64.b64decode(document["ciphertext"], validate=True)
    except SigningError:
        raise
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise SigningError(f"{source} is a damaged cosign key ({type(exc).__name__}: {exc})") from exc
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or 128 * r * n * p > _MAX_SCRYPT_MEMORY or len(nonce) != 24:
        raise SigningError(
            f"{source} is a damaged cosign key (scrypt N={n}, r={r}, p={p}, nonce {len(nonce)} bytes)"
        )
    box = _secretbox(_scrypt(password, salt, n, r, p))
    try:
        from nacl.exceptions import CryptoError

        der = box.decrypt(ciphertext, nonce)
    except CryptoError as exc:
        raise SigningError(
            f"cannot decrypt {source}: wrong password or damaged key",
            hint="check the password (COSIGN_PASSWORD, CRAFTER_KEY_PASSWORD or the prompt)",
        ) from exc
    try:
        return serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningError(f"{source}: the decrypted cosign key is not a PKCS#8 private key ({exc})") from exc
