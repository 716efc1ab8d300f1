"""npm ``@sigstore/verify`` on our key-signed bundles with an RFC 3161 timestamp from the test TSA
(tests/signing/tsa.py): it verifies every timestamp of a bundle, so it accepts one only when its trust material
names the TSA (tests/interop/verify_bundle.mjs TSA_CHAIN.json), and then requires one."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from crafter._internal.signing import PrivateKeySigner, sign_statement, write_bundle
from tests.signing._helpers import INTEROP, STATEMENT, public_pem_of, require_node
from tests.signing.tsa import TestTSA, serve

pytestmark = pytest.mark.interop
pytest.importorskip("rfc3161_client")


@pytest.fixture(scope="module")
def tsa() -> Iterator[TestTSA]:
    yield from serve(TestTSA())


def _run(
    node: str, tmp_path: Path, bundle: dict[str, Any], key: ec.EllipticCurvePrivateKey, *chain: Any
) -> str:
    write_bundle(tmp_path / "bundle.json", bundle)
    (tmp_path / "key.pub").write_bytes(public_pem_of(key))
    args = [
        node,
        str(INTEROP / "verify_bundle.mjs"),
        str(tmp_path / "bundle.json"),
        str(tmp_path / "key.pub"),
    ]
    if chain:
        (tmp_path / "tsa.json").write_text(
            json.dumps([base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in chain])
        )
        args.append(str(tmp_path / "tsa.json"))
    return subprocess.run(args, capture_output=True, text=True, timeout=10, check=False).stdout.strip()


def test_npm_verifies_our_timestamp(tsa: TestTSA, tmp_path: Path) -> None:
    node = require_node()
    key = ec.generate_private_key(ec.SECP256R1())
    bundle = sign_statement(STATEMENT, PrivateKeySigner(key), timestamp_server=tsa.url)
    chain = (tsa.certificate, tsa.intermediate_certificate, tsa.root_certificate)
    assert _run(node, tmp_path, bundle, key, *chain) == "VERIFIED"
    # Without the TSA in its trust material it refuses the bundle rather than ignore the timestamp.
    assert "TIMESTAMP_ERROR" in _run(node, tmp_path, bundle, key)
    # Another signature's timestamp is refused.
    other = sign_statement(STATEMENT, PrivateKeySigner(key))
    forged = copy.deepcopy(other)
    forged["verificationMaterial"]["timestampVerificationData"] = bundle["verificationMaterial"][
        "timestampVerificationData"
    ]
    assert "TIMESTAMP_ERROR" in _run(node, tmp_path, forged, key, *chain)
