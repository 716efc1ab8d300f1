"""The referrers API path, against an OCI 1.1 registry: docker-registry 2.8 behind the test-side proxy of
referrers_proxy.py (the registry itself has no referrers API; test_oci.py covers the tag fallback)."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.cli.main import main
from crafter._internal.storage import BUNDLE_MEDIA_TYPE
from crafter._internal.storage.oci import CREATED, OciStore, fallback_tag
from crafter._internal.storage.registry import OCI_MANIFEST, RegistryClient
from crafter.errors import ExitCode
from tests.storage.conftest import Registry
from tests.storage.referrers_proxy import ReferrersProxy
from tests.storage.test_oci import push_image

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
DIGEST = "sha256:" + "1" * 64


def _image(proxy: ReferrersProxy, repo: str, tag: str) -> str:
    return push_image(Registry(proxy.host, Path(".")), repo, tag)


def _no_fallback_tag(registry: Registry, repo: str, image: str) -> bool:
    return RegistryClient(registry.host, insecure=True).get_manifest(repo, fallback_tag(image)) is None


def _referrer_pings(proxy: ReferrersProxy) -> list[str]:
    return [path for method, path in proxy.log if method == "GET" and "/referrers/" in path]


def test_push_indexed_by_the_registry_writes_no_fallback_tag(
    registry: Registry, referrers_registry: ReferrersProxy
) -> None:
    proxy = referrers_registry
    image = _image(proxy, "ref/app", "1.0")
    store = OciStore(f"{proxy.host}/ref/app:1.0", insecure=True)
    first = store.put(b'{"n":1}', statement_digest=DIGEST)
    second = store.put(b'{"n":2}', statement_digest=DIGEST)
    assert _referrer_pings(proxy) == []  # OCI-Subject on the PUT: no need to ask
    assert _no_fallback_tag(registry, "ref/app", image)
    listed = store.referrers()
    assert [d["digest"] for d in listed] == [first.split("@")[1], second.split("@")[1]]
    assert all(d["artifactType"] == BUNDLE_MEDIA_TYPE and CREATED in d["annotations"] for d in listed)
    assert _referrer_pings(proxy)[-1].endswith(
        "?" + urllib.parse.urlencode({"artifactType": BUNDLE_MEDIA_TYPE})
    )
    assert store.get() == b'{"n":2}'
    assert OciStore(f"{proxy.host}/ref/app@{image}", insecure=True).get() == b'{"n":2}'
    assert OciStore(first, insecure=True).get() == b'{"n":1}'


def test_referrers_api_without_oci_subject_header(
    registry: Registry, referrers_registry: ReferrersProxy
) -> None:
    """No OCI-Subject on the PUT, but the referrers API answers: it indexed the artifact, no fallback tag."""
    proxy = referrers_registry
    proxy.subject_header = False
    image = _image(proxy, "ref/nohdr", "1.0")
    OciStore(f"{proxy.host}/ref/nohdr:1.0", insecure=True).put(b'{"n":1}', statement_digest=DIGEST)
    assert _referrer_pings(proxy) == [f"/v2/ref/nohdr/referrers/{image}"]
    assert _no_fallback_tag(registry, "ref/nohdr", image)
    assert OciStore(f"{proxy.host}/ref/nohdr:1.0", insecure=True).get() == b'{"n":1}'


def test_a_referrers_answer_that_is_not_an_index_means_no_api(
    registry: Registry, referrers_registry: ReferrersProxy
) -> None:
    """A 200 that is not an image index (a catch-all front end) is no referrers API: the tag fallback is kept."""
    proxy = referrers_registry
    proxy.subject_header = False
    proxy.not_an_index = True
    image = _image(proxy, "ref/html", "1.0")
    store = OciStore(f"{proxy.host}/ref/html:1.0", insecure=True)
    store.put(b'{"n":1}', statement_digest=DIGEST)
    assert not _no_fallback_tag(registry, "ref/html", image)
    assert store.get() == b'{"n":1}'  # read back through the fallback tag


def test_newest_bundle_by_created_annotation_not_by_listing_order(referrers_registry: ReferrersProxy) -> None:
    proxy = referrers_registry
    proxy.reverse = True  # the spec leaves the order open: newest first here
    _image(proxy, "ref/order", "1.0")
    store = OciStore(f"{proxy.host}/ref/order:1.0", insecure=True)
    for n in range(3):
        store.put(json.dumps({"n": n}).encode(), statement_digest=DIGEST)
    created = [d["annotations"][CREATED] for d in store.referrers()]
    assert created == sorted(created)
    assert store.get() == b'{"n": 2}'


@pytest.mark.parametrize("apply_filter", [True, False])
def test_other_artifact_types_are_left_out(referrers_registry: ReferrersProxy, apply_filter: bool) -> None:
    """Whether or not the registry applies ?artifactType=, only bundles are listed."""
    proxy = referrers_registry
    proxy.apply_filter = apply_filter
    repo = f"ref/filter{int(apply_filter)}"
    image = _image(proxy, repo, "1.0")
    client = RegistryClient(proxy.host, insecure=True)
    media, _, body = client.get_manifest(repo, "1.0") or ("", "", b"")
    sbom: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.sbom",
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": client.put_blob(repo, b"{}"),
            "size": 2,
        },
        "layers": [],
        "subject": {"mediaType": media, "digest": image, "size": len(body)},
    }
    client.put_manifest(repo, "sbom", OCI_MANIFEST, json.dumps(sbom).encode())
    store = OciStore(f"{proxy.host}/{repo}:1.0", insecure=True)
    store.put(b'{"bundle":1}', statement_digest=DIGEST)
    assert len(proxy.listing(repo, image)) == 2
    assert [d["artifactType"] for d in store.referrers()] == [BUNDLE_MEDIA_TYPE]
    assert store.get() == b'{"bundle":1}'


def test_referrers_pages_are_followed(referrers_registry: ReferrersProxy) -> None:
    proxy = referrers_registry
    proxy.page_size = 2
    _image(proxy, "ref/pages", "1.0")
    store = OciStore(f"{proxy.host}/ref/pages:1.0", insecure=True)
    for n in range(5):
        store.put(json.dumps({"n": n}).encode(), statement_digest=DIGEST)
    assert len(store.referrers()) == 5
    assert len(_referrer_pings(proxy)) == 3
    assert store.get() == b'{"n": 4}'


def test_cli_push_pull_verify_through_the_referrers_api(
    registry: Registry,
    referrers_registry: ReferrersProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clean_registry_env: Path,
) -> None:
    from crafter.signing.keys import generate_key_pair

    proxy = referrers_registry
    for var in ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_HOME", "CIRCLECI", "TF_BUILD", "BUILD_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRAFTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CRAFTER_KEY_PASSWORD", "pw")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    key, pub = generate_key_pair(tmp_path / "k", b"pw")
    (tmp_path / "contract.yaml").write_text("schemaVersion: v1\nmaterials: []\n")
    image = _image(proxy, "ref/cli", "3.0")
    assert main(["init", "--contract", "contract.yaml"]) == 0
    code = main(
        ["push", "--key", str(key), "--bundle", "b.json", "--oci", f"{proxy.host}/ref/cli:3.0", "--insecure"]
    )
    assert code == 0
    capsys.readouterr()
    assert _no_fallback_tag(registry, "ref/cli", image)
    reference = f"oci://{proxy.host}/ref/cli@{image}"
    assert main(["pull", reference, "--insecure", "--output", "pulled.json"]) == 0
    assert (tmp_path / "pulled.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert main(["verify", reference, "--insecure", "--key", str(pub)]) == 0
    _, other_pub = generate_key_pair(tmp_path / "other", b"pw")
    capsys.readouterr()
    assert main(["verify", reference, "--insecure", "--key", str(other_pub)]) == ExitCode.BAD_SIGNATURE
    assert "Traceback" not in capsys.readouterr().err
