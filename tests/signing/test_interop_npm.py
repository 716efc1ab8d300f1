"""Independent verification of our bundles by npm ``@sigstore/verify`` (tests/interop/verify_bundle.mjs).

Needs ``node`` and ``tests/interop/node_modules`` (CI runs ``npm ci --prefix tests/interop``). Without
them the tests skip on a developer machine and fail when ``CI`` is set. Each node run takes ~0.1 s; the
module runs in about a second, and every subprocess has a hard timeout.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from crafter._internal.signing import PrivateKeySigner, sign_statement, write_bundle
from tests.signing._helpers import INTEROP, STATEMENT, public_pem_of, require_node

pytestmark = pytest.mark.interop

SCRIPT = INTEROP / "verify_bundle.mjs"
NODE_TIMEOUT_S = 10

# Key types @sigstore/verify 3.1.1 checks correctly. It passes no digest to node's crypto.verify, so an EC key
# is always checked with SHA-256: P-384/SHA-384 and P-521/SHA-512 signatures (which Sigstore's key details
# require and sigstore-go checks) fail there. Measured; see docs/signing.md.
NPM_KEY_TYPES = ["ecdsa-p256", "ed25519", "rsa-2048"]


@pytest.fixture(scope="module")
def node() -> str:
    return require_node()


def _run(
    node: str, bundle: dict[str, Any], public_pem: bytes, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    bundle_path = tmp_path / "bundle.json"
    key_path = tmp_path / "key.pub"
    write_bundle(bundle_path, bundle)
    key_path.write_bytes(public_pem)
    return subprocess.run(
        [node, str(SCRIPT), str(bundle_path), str(key_path)],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )


@pytest.mark.parametrize("key_name", NPM_KEY_TYPES)
def test_npm_sigstore_verify_accepts_our_bundle(
    node: str, tmp_path: Path, private_keys: dict[str, PrivateKeyTypes], key_name: str
) -> None:
    key = private_keys[key_name]
    result = _run(node, sign_statement(STATEMENT, PrivateKeySigner(key)), public_pem_of(key), tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, "VERIFIED"), result.stderr


def test_npm_sigstore_verify_rejects_a_tampered_payload(
    node: str, tmp_path: Path, private_keys: dict[str, PrivateKeyTypes]
) -> None:
    key = private_keys["ecdsa-p256"]
    bundle = sign_statement(STATEMENT, PrivateKeySigner(key))
    tampered = copy.deepcopy(bundle)
    statement = json.loads(STATEMENT)
    statement["predicateType"] = "https://example.com/forged/v1"
    tampered["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    result = _run(node, tampered, public_pem_of(key), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SIGNATURE_ERROR" in result.stdout


def test_npm_sigstore_verify_rejects_another_key(
    node: str, tmp_path: Path, private_keys: dict[str, PrivateKeyTypes]
) -> None:
    bundle = sign_statement(STATEMENT, PrivateKeySigner(private_keys["ecdsa-p256"]))
    result = _run(node, bundle, public_pem_of(private_keys["ed25519"]), tmp_path)
    assert result.returncode == 1
    assert "key not found" in result.stdout  # the hint names the signing key, not this one
