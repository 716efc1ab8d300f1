"""`crafter verify oci://...`: a bundle pushed to a real registry is fetched and verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from crafter import Crafter
from crafter._internal.storage.oci import OciStore
from crafter.errors import SignatureError
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


def test_release_through_a_registry_with_timestamp_and_content_store(
    registry: Registry, tmp_path: Path
) -> None:
    """The whole path a release takes: materials uploaded to an OCI content store, the bundle timestamped by a
    TSA and attached to the image; later, with nothing local, verify fetches it by the image's digest, checks
    the timestamp against the TSA's chain and replays the policies from the content store."""
    from crafter.signing.keys import generate_key_pair, public_key_from_pem
    from crafter.storage import content_store
    from tests.signing.tsa import TestTSA, serve

    key, pub = generate_key_pair(tmp_path / "k", b"pw")
    image = push_image(registry, "shop/web", "3.1")
    cas = content_store(f"oci://{registry.host}/shop/cas", insecure=True)
    c = Crafter(state_dir=tmp_path / "st", cwd=tmp_path, environ={"PATH": "/usr/bin:/bin"})
    contract = tmp_path / "contract.yaml"
    contract.write_text(
        "schemaVersion: v1\nmaterials: [{name: sbom, type: SBOM_CYCLONEDX_JSON}]\n"
        "policies: {materials: [{ref: 'builtin://sbom-min-components', with: {min_components: '1'}}]}\n"
    )
    c.init(contract=contract, project="shop")
    c.add([str(DEMO / "sbom.cdx.json")], name="sbom", cas=cas)
    for tsa in serve(TestTSA()):
        result = c.push(
            key=str(key),
            password=b"pw",
            bundle=tmp_path / "b.json",
            stores=[OciStore(f"oci://{registry.host}/shop/web:3.1", insecure=True)],
            timestamp_server=tsa.url,
        )
        verified = verify_reference(
            f"oci://{registry.host}/shop/web@{image}",
            insecure=True,
            public_key=public_key_from_pem(pub),
            timestamp_roots=[tsa.root_certificate],
            replay=True,
            cas=cas,
            cwd=tmp_path / "elsewhere",
        )
    verified.check()
    assert verified.payload_digest == result.payload_digest
    (stamp,) = verified.timestamps
    assert stamp.verified
    (outcome,) = verified.replay
    assert (outcome.name, outcome.material, outcome.status) == ("sbom-min-components", "sbom", "same")
