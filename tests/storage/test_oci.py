"""Bundles and material bytes in a real registry (docker-registry 2.8: no referrers API, so the tag fallback)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from crafter._internal.storage import BUNDLE_MEDIA_TYPE, StoreError
from crafter._internal.storage.oci import (
    EMPTY_CONFIG,
    OciContentStore,
    OciStore,
    fallback_tag,
    registry_credentials,
)
from crafter._internal.storage.registry import OCI_INDEX, OCI_MANIFEST, OciReference, RegistryClient
from crafter.errors import ExitCode
from tests.conftest import run_cli
from tests.storage.conftest import PASSWORD, USER, Registry, _free_port

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
CONTRACT = """\
schemaVersion: v1
materials:
  - name: sbom
    type: SBOM_CYCLONEDX_JSON
  - name: tests
    type: JUNIT_XML
    skipUpload: true
  - name: release-file
    type: ARTIFACT
    output: true
"""


def push_image(registry: Registry, repo: str, tag: str) -> str:
    """A minimal image manifest at ``repo:tag``; returns its digest."""
    client = RegistryClient(registry.host, insecure=True)
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    config_digest = client.put_blob(repo, config)
    layer_digest = client.put_blob(repo, tag.encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(tag)}
        ],
    }
    body = json.dumps(manifest).encode()
    client.put_manifest(repo, tag, OCI_MANIFEST, body)
    return "sha256:" + hashlib.sha256(body).hexdigest()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- references and credentials --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5000/demo/app", ("127.0.0.1:5000", "demo/app", None, None)),
        ("oci://ghcr.io/acme/app:v1.2", ("ghcr.io", "acme/app", "v1.2", None)),
        ("localhost/app@sha256:" + "a" * 64, ("localhost", "app", None, "sha256:" + "a" * 64)),
    ],
)
def test_reference_parsing(text: str, expected: tuple[str, str, str | None, str | None]) -> None:
    ref = OciReference.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == expected


@pytest.mark.parametrize(
    "text", ["app:v1", "docker.io", "http://127.0.0.1:5000/app", "ghcr.io/App", "ghcr.io/a@sha256:12"]
)
def test_invalid_references(text: str) -> None:
    with pytest.raises(StoreError):
        OciReference.parse(text)


def test_credentials_from_env_then_docker_config(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    auth = base64.b64encode(b"alice:pw1").decode()
    config.write_text(json.dumps({"auths": {"https://reg.example:5000": {"auth": auth}}}))
    env = {"DOCKER_CONFIG": str(tmp_path)}
    found = registry_credentials("reg.example:5000", env)
    assert found is not None and (found.username, found.secret) == ("alice", "pw1")
    assert registry_credentials("other.example", env) is None
    env |= {"CRAFTER_REGISTRY_USERNAME": "bob", "CRAFTER_REGISTRY_PASSWORD": "pw2"}
    found = registry_credentials("reg.example:5000", env)
    assert found is not None and (found.username, found.secret) == ("bob", "pw2")


# -- the store against the registry ----------------------------------------------------------------------
def test_push_without_image_tags_the_artifact(registry: Registry) -> None:
    store = OciStore(f"{registry.host}/plain/att:v1", insecure=True)
    bundle = b'{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}\n'
    location = store.put(bundle, statement_digest="sha256:" + "1" * 64)
    assert location.startswith(f"oci://{registry.host}/plain/att@sha256:")
    assert store.get() == bundle
    media, digest, body = store.client.get_manifest("plain/att", "v1") or ("", "", b"")
    manifest = json.loads(body)
    assert media == OCI_MANIFEST and location.endswith(digest)
    assert manifest["artifactType"] == BUNDLE_MEDIA_TYPE
    assert manifest["config"] == {"mediaType": EMPTY_CONFIG, "digest": sha(b"{}"), "size": 2}
    assert [(layer["mediaType"], layer["digest"]) for layer in manifest["layers"]] == [
        (BUNDLE_MEDIA_TYPE, sha(bundle))
    ]
    assert "subject" not in manifest
    assert manifest["annotations"]["dev.crafter.statement.digest"] == "sha256:" + "1" * 64
    assert store.referrers() == []


def test_push_attaches_to_an_image_with_the_tag_fallback(registry: Registry) -> None:
    image = push_image(registry, "shop/app", "1.0")
    client = RegistryClient(registry.host, insecure=True)
    assert client.referrers("shop/app", image) is None  # distribution 2.8: no referrers API
    store = OciStore(f"{registry.host}/shop/app:1.0", insecure=True)
    first = store.put(b'{"n":1}', statement_digest="sha256:" + "1" * 64)
    second = store.put(b'{"n":2}', statement_digest="sha256:" + "2" * 64)
    media, _, body = client.get_manifest("shop/app", fallback_tag(image)) or ("", "", b"")
    index = json.loads(body)
    assert media == OCI_INDEX
    assert [d["digest"] for d in index["manifests"]] == [first.split("@")[1], second.split("@")[1]]
    assert all(d["artifactType"] == BUNDLE_MEDIA_TYPE for d in index["manifests"])
    artifact = json.loads((client.get_manifest("shop/app", first.split("@")[1]) or ("", "", b""))[2])
    assert artifact["subject"] == {
        "mediaType": OCI_MANIFEST,
        "digest": image,
        "size": artifact["subject"]["size"],
    }
    # the image tag is untouched; pulling by tag or by digest finds the newest bundle
    assert (client.get_manifest("shop/app", "1.0") or ("", "", b""))[1] == image
    assert store.get() == b'{"n":2}'
    assert OciStore(f"{registry.host}/shop/app@{image}", insecure=True).get() == b'{"n":2}'
    assert OciStore(first, insecure=True).get() == b'{"n":1}'
    assert len(store.referrers()) == 2


def test_pull_errors(registry: Registry) -> None:
    push_image(registry, "shop/bare", "1.0")
    with pytest.raises(StoreError, match="no attestation bundle is attached"):
        OciStore(f"{registry.host}/shop/bare:1.0", insecure=True).get()
    with pytest.raises(StoreError, match="not found"):
        OciStore(f"{registry.host}/shop/bare:nope", insecure=True).get()
    with pytest.raises(StoreError, match="no such manifest"):
        OciStore(f"{registry.host}/shop/bare@sha256:" + "0" * 64, insecure=True).put(
            b"{}", statement_digest="sha256:" + "0" * 64
        )


def test_https_is_the_default(registry: Registry) -> None:
    with pytest.raises(StoreError, match=f"cannot reach registry {registry.host}") as info:
        OciStore(f"{registry.host}/x/y:1", insecure=False).get()
    assert "--insecure" in (info.value.hint or "")


def test_credentials_against_an_htpasswd_registry(auth_registry: Registry, tmp_path: Path) -> None:
    ref = f"{auth_registry.host}/secure/att:v1"
    anon = OciStore(ref, insecure=True, environ={"DOCKER_CONFIG": str(tmp_path)})
    with pytest.raises(StoreError, match="refused anonymous access"):
        anon.put(b"{}", statement_digest="sha256:" + "0" * 64)
    wrong = {"CRAFTER_REGISTRY_USERNAME": USER, "CRAFTER_REGISTRY_PASSWORD": "wrong"}
    with pytest.raises(StoreError, match=r"refused the given credentials \(401"):
        OciStore(ref, insecure=True, environ=wrong).put(b"{}", statement_digest="sha256:" + "0" * 64)
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {auth_registry.host: {"auth": auth}}}))
    good = OciStore(ref, insecure=True, environ={"DOCKER_CONFIG": str(tmp_path)})
    good.put(b'{"ok":1}', statement_digest="sha256:" + "0" * 64)
    assert good.get() == b'{"ok":1}'


def test_oci_content_store(registry: Registry, tmp_path: Path) -> None:
    cas = OciContentStore(f"oci://{registry.host}/cas/materials", insecure=True)
    f = tmp_path / "m.txt"
    f.write_bytes(b"material bytes")
    cas.upload(sha(b"material bytes"), f)
    cas.upload(sha(b"material bytes"), f)  # already there: no-op
    assert cas.download(sha(b"material bytes")) == b"material bytes"
    with pytest.raises(StoreError, match="not found"):
        cas.download(sha(b"absent"))
    with pytest.raises(StoreError, match="changed since it was recorded"):
        cas.upload(sha(b"other"), f)


# -- the CLI ---------------------------------------------------------------------------------------------
@pytest.fixture
def work(cli_env: Path, clean_registry_env: Path) -> Path:
    """``cli_env`` without registry credentials, with this module's CONTRACT."""
    (cli_env / "contract.yaml").write_text(CONTRACT)
    return cli_env


def prepare(work: Path, capsys: pytest.CaptureFixture[str], *cas: str) -> None:
    assert run_cli(capsys, "init", "--contract", str(work / "contract.yaml"), "--project", "p")[0] == 0
    for name, file in (("sbom", "sbom.cdx.json"), ("tests", "junit.xml"), ("release-file", "hello-1.0.0.py")):
        code, _, err = run_cli(capsys, "add", "--name", name, "--value", str(DEMO / file), *cas)
        assert code == 0, err


def test_cli_push_and_pull(registry: Registry, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = push_image(registry, "cli/app", "2.0")
    prepare(work, capsys)
    bundle = work / "b.sigstore.json"
    ref = f"{registry.host}/cli/app:2.0"
    code, out, err = run_cli(
        capsys, "push", "--key", str(work / "k.key"), "--bundle", str(bundle), "--oci", ref, "--insecure"
    )
    assert code == 0, err
    assert f"Stored: oci://{registry.host}/cli/app@sha256:" in out
    code, out, _ = run_cli(
        capsys, "pull", f"oci://{ref}", "--insecure", "--output", str(work / "pulled.json")
    )
    assert code == 0
    assert (work / "pulled.json").read_bytes() == bundle.read_bytes()
    code, out, _ = run_cli(capsys, "pull", f"oci://{registry.host}/cli/app@{image}", "--insecure")
    assert code == 0 and out.encode() == bundle.read_bytes()
    code, _, err = run_cli(capsys, "pull", ref)
    assert code == ExitCode.USAGE and "not an OCI reference" in err


def test_cli_push_to_a_registry_that_is_down(
    registry: Registry, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare(work, capsys)
    bundle = work / "b.sigstore.json"
    down = f"127.0.0.1:{_free_port()}/x/app:1"
    code, _, err = run_cli(
        capsys, "push", "--key", str(work / "k.key"), "--bundle", str(bundle), "--oci", down, "--insecure"
    )
    assert code == ExitCode.STORE == 20
    first = err.splitlines()[0]
    assert first.startswith("Error: cannot reach registry 127.0.0.1:") and f"kept at {bundle}" in first
    assert bundle.is_file()  # nothing lost: the bundle is written ...
    code, out, _ = run_cli(capsys, "status", "-o", "json")
    assert code == 0 and json.loads(out)["complete"] is True  # ... and the attestation is still in progress
    code, _, err = run_cli(
        capsys,
        "push",
        "--key",
        str(work / "k.key"),
        "--bundle",
        str(bundle),
        "--oci",
        f"{registry.host}/x/app:1",
        "--insecure",
    )
    assert code == 0, err
    assert run_cli(capsys, "status")[0] == ExitCode.STATE  # pushed: now gone


def test_cli_wrong_credentials(
    auth_registry: Registry, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(work, capsys)
    monkeypatch.setenv("CRAFTER_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("CRAFTER_REGISTRY_PASSWORD", "not-it")
    bundle = work / "b.sigstore.json"
    args = ["push", "--key", str(work / "k.key"), "--bundle", str(bundle), "--insecure"]
    code, _, err = run_cli(capsys, *args, "--oci", f"{auth_registry.host}/cli/att:1")
    assert code == ExitCode.STORE
    assert err.startswith(f"Error: registry {auth_registry.host} refused the given credentials (401")
    assert "CRAFTER_REGISTRY_USERNAME" in err and bundle.is_file()
    monkeypatch.setenv("CRAFTER_REGISTRY_PASSWORD", PASSWORD)
    code, _, err = run_cli(capsys, *args, "--oci", f"{auth_registry.host}/cli/att:1")
    assert code == 0, err


def statement_materials(bundle: Path) -> dict[str, dict[str, object]]:
    envelope = json.loads(bundle.read_text())["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    return {m["annotations"]["chainloop.material.name"]: m for m in statement["predicate"]["materials"]}


@pytest.mark.parametrize("kind", ["dir", "oci"])
def test_cli_cas(registry: Registry, work: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    spec = str(work / "cas") if kind == "dir" else f"oci://{registry.host}/cas/{kind}"
    prepare(work, capsys, "--cas", spec, "--insecure")
    bundle = work / "b.sigstore.json"
    assert run_cli(capsys, "push", "--key", str(work / "k.key"), "--bundle", str(bundle))[0] == 0
    materials = statement_materials(bundle)
    from crafter.storage import content_store

    cas = content_store(spec, insecure=True)
    for name, file in (("sbom", "sbom.cdx.json"), ("release-file", "hello-1.0.0.py")):
        assert materials[name]["annotations"]["chainloop.material.cas"] is True  # type: ignore[index]
        data = (DEMO / file).read_bytes()
        assert cas.download(sha(data)) == data
    assert "chainloop.material.cas" not in materials["tests"]["annotations"]  # type: ignore[operator]
    with pytest.raises(StoreError):
        cas.download(sha((DEMO / "junit.xml").read_bytes()))  # skipUpload
