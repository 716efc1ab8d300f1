"""Shared test data for the signing tests (imported by conftest and the test modules)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

#: One key per supported algorithm family (name -> expected Sigstore key details).
KEY_DETAILS = {
    "ecdsa-p256": "PKIX_ECDSA_P256_SHA_256",
    "ecdsa-p384": "PKIX_ECDSA_P384_SHA_384",
    "ecdsa-p521": "PKIX_ECDSA_P521_SHA_512",
    "ed25519": "PKIX_ED25519",
    "rsa-2048": "PKIX_RSA_PKCS1V15_2048_SHA256",
    "rsa-3072": "PKIX_RSA_PKCS1V15_3072_SHA256",
}

#: A compact in-toto statement, as the statement module will serialise one (the exact bytes are what matter).
STATEMENT = (
    b'{"_type":"https://in-toto.io/Statement/v1","predicate":{"n":1},'
    b'"predicateType":"https://example.com/p/v1","subject":[{"digest":{"sha256":"'
    + b"ab" * 32
    + b'"},"name":"app"}]}'
)


def generate(name: str) -> PrivateKeyTypes:
    if name.startswith("ecdsa-"):
        curve = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}[name[6:]]
        return ec.generate_private_key(curve)
    if name == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=int(name[4:]))


def pem_of(key: PrivateKeyTypes, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM of ``key``, encrypted when a password is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def public_pem_of(key: PrivateKeyTypes) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


#: The npm verifier project (package.json, package-lock.json, verify_bundle.mjs; node_modules after npm ci).
INTEROP = Path(__file__).resolve().parents[1] / "interop"


#: The oldest Node.js major version the verifier's dependencies support (tests/interop/package.json "engines").
NODE_MIN_MAJOR = 20


@functools.cache
def _node_major(node: str) -> int | None:
    """The major version of ``node`` (``v20.17.0`` -> 20), or None when it cannot be read."""
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    major = out.strip().lstrip("v").split(".")[0]
    return int(major) if major.isdigit() else None


def require_node() -> str:
    """The node binary (Node.js 20+), with ``tests/interop/node_modules`` installed: else skip here, fail in CI.

    These tests check crafter's bundles with an independent verifier, npm ``@sigstore/verify``
    (tests/interop/verify_bundle.mjs).
    """
    node = shutil.which("node")
    major = _node_major(node) if node is not None else None
    if node is None:
        reason = "Node.js is not on PATH"
    elif major is None or major < NODE_MIN_MAJOR:
        reason = f"{node} is not Node.js {NODE_MIN_MAJOR}+ (version {major or 'unknown'})"
    elif not (INTEROP / "node_modules" / "@sigstore" / "verify").is_dir():
        reason = f"{INTEROP / 'node_modules'} is missing"
    else:
        return node
    reason += (
        f": the independent bundle verifier (npm @sigstore/verify) needs Node.js {NODE_MIN_MAJOR}+ and"
        " `npm ci --prefix tests/interop`"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must install them)")
    pytest.skip(reason)
