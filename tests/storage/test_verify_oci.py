"""`crafter verify oci://...`: a bundle pushed to a real registry is fetched and verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from crafter import Crafter
from crafter.errors import SignatureError
from crafter.storage.oci import OciStore
from crafter.verify import verify_reference
from tests.storage.conftest import Registry
from tests.storage.test_oci import push_image

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"


def test_verify_a_bundle_attached_to_an_image(registry: Registry, tmp_path: Path) -> None:
    from crafter.signing.keys import generate_key_pair, public_key_from_pem

    key, pub = generate_key_pair(tmp_path / "k", b"pw")
    image = push_image(registry, "shop/app", "2.0")
    c = Crafter(state_dir=tmp_path / "st", cwd=tmp_path, environ={"PATH": "/usr/bin:/bin"})
    c.init(workflow="release", project="shop")
    c.add([str(DEMO / "sbom.cdx.json")], name="sbom")
    store = OciStore(f"oci://{registry.host}/shop/app:2.0", insecure=True)
    result = c.push(key=str(key), password=b"pw", bundle=tmp_path / "b.json", stores=[store])
    fetched = verify_reference(
        f"oci://{registry.host}/shop/app@{image}", insecure=True, public_key=public_key_from_pem(pub)
    )
    assert fetched.path == f"oci://{registry.host}/shop/app@{image}"
    assert fetched.payload_digest == result.payload_digest
    _, other_pub = generate_key_pair(tmp_path / "other", b"pw")
    with pytest.raises(SignatureError):
        verify_reference(
            f"oci://{registry.host}/shop/app:2.0", insecure=True, public_key=public_key_from_pem(other_pub)
        )
