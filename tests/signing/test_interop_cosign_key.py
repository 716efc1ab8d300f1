"""A bundle signed through `crafter push` with a cosign-format key verifies with npm @sigstore/verify."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from crafter import Crafter
from tests.signing._helpers import INTEROP, require_node

pytestmark = pytest.mark.interop
pytest.importorskip("nacl", reason="the cosign extra (PyNaCl) is not installed")

ROOT = Path(__file__).resolve().parents[2]


def test_cosign_key_signed_bundle_verifies_with_npm(tmp_path: Path) -> None:
    from crafter._internal.signing.cosign import encrypt_cosign_key

    node = require_node()
    private = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "cosign.key").write_bytes(encrypt_cosign_key(private, b"pw"))
    (tmp_path / "cosign.pub").write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    c = Crafter(state_dir=tmp_path / "st", cwd=tmp_path, environ={"PATH": "/usr/bin:/bin"})
    c.init(workflow="w", project="p")
    c.add([str(ROOT / "examples" / "demo" / "sbom.cdx.json")], name="sbom")
    bundle = c.push(key=str(tmp_path / "cosign.key"), password=b"pw", bundle=tmp_path / "b.json").bundle_path
    result = subprocess.run(
        [node, str(INTEROP / "verify_bundle.mjs"), str(bundle), str(tmp_path / "cosign.pub")],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout
