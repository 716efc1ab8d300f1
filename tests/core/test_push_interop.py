"""A bundle written by `crafter push` verifies with independent verifiers, over the exact payload bytes.

securesystemslib (Python) and npm @sigstore/verify (Node) both check the DSSE signature with only the public
key; both must reject the bundle once its payload is changed.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from crafter import Crafter
from crafter.signing.keys import generate_key_pair
from tests.signing._helpers import INTEROP, require_node

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, bytes]:
    work = tmp_path_factory.mktemp("push")
    key, pub = generate_key_pair(work / "release", b"pw")
    c = Crafter(state_dir=work / "state", cwd=work, environ={"PATH": "/usr/bin:/bin"})
    c.init(contract=DEMO / "contract.yaml", project="hello")
    c.add([str(DEMO / "sbom.cdx.json")], name="sbom")
    c.add([str(DEMO / "junit.xml")], name="tests")
    c.add([str(DEMO / "hello-1.0.0.py")], name="release-file")
    result = c.push(key=str(key), password=b"pw", bundle=work / "hello.sigstore.json")
    bundle = json.loads(result.bundle_path.read_text())
    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    assert json.loads(payload) == result.statement
    return bundle, pub, payload


def tampered(bundle: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(bundle)
    statement = json.loads(base64.b64decode(out["dsseEnvelope"]["payload"]))
    statement["subject"][-1]["digest"]["sha256"] = "0" * 64
    out["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    return out


def ssl_verify(bundle: dict[str, Any], pub: Path) -> bool:
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError
    from securesystemslib.signer import SSlibKey

    public_key = serialization.load_pem_public_key(pub.read_bytes())
    keyid = bundle["verificationMaterial"]["publicKey"]["hint"]
    envelope = Envelope.from_dict(copy.deepcopy(bundle["dsseEnvelope"]))  # it mutates its argument
    try:
        envelope.verify([SSlibKey.from_crypto(public_key, keyid=keyid)], 1)  # type: ignore[arg-type]
    except VerificationError:
        return False
    return True


def test_securesystemslib_verifies_the_pushed_bundle(pushed: tuple[dict[str, Any], Path, bytes]) -> None:
    bundle, pub, _ = pushed
    assert ssl_verify(bundle, pub)
    assert not ssl_verify(tampered(bundle), pub)


@pytest.mark.interop
def test_npm_sigstore_verify_verifies_the_pushed_bundle(
    pushed: tuple[dict[str, Any], Path, bytes], tmp_path: Path
) -> None:
    node = require_node()
    bundle, pub, _ = pushed

    def verify(doc: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        path = tmp_path / "b.json"
        path.write_text(json.dumps(doc))
        return subprocess.run(
            [node, str(INTEROP / "verify_bundle.mjs"), str(path), str(pub)],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )

    good = verify(bundle)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "VERIFIED" in good.stdout
    assert verify(tampered(bundle)).returncode == 1
