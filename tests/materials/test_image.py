"""CONTAINER_IMAGE: references by digest, OCI layout directories, and what is refused (never the network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crafter._internal.materials.image import ContainerImageKind, ImageReference, parse_reference
from crafter._internal.materials.interface import ANN_IMAGE_TAG, CraftOptions, ImageInfo, Sample
from crafter.errors import MaterialError

OPTS = CraftOptions()
D1 = "sha256:" + "1" * 64
D2 = "sha256:fa6d9058c3d65a33ff565c0e35172f2d99e76fbf8358d91ffaa2208eff2be400"
D3 = "sha256:e8ac056f7b9b44b07935fe23b8383e5e550d479dc5c6261941e76449a8f7e926"


def _layout(root: Path, manifests: list[dict[str, Any]], name: str = "layout") -> Path:
    """A minimal OCI image layout, as skopeo, crane or oras write it (blobs are not needed)."""
    layout = root / name
    layout.mkdir()
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }
    (layout / "index.json").write_text(json.dumps(index))
    return layout


def _manifest(digest: str, **annotations: str) -> dict[str, Any]:
    m: dict[str, Any] = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "size": 7,
    }
    if annotations:
        m["annotations"] = annotations
    return m


# --- references ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nginx", ImageReference("index.docker.io", "library/nginx")),
        ("nginx:1.25", ImageReference("index.docker.io", "library/nginx", tag="1.25")),
        ("bitnami/nginx", ImageReference("index.docker.io", "bitnami/nginx")),
        ("docker.io/nginx", ImageReference("index.docker.io", "library/nginx")),
        ("index.docker.io/bitnami/nginx", ImageReference("index.docker.io", "bitnami/nginx")),
        ("ghcr.io/acme/app/api:v1", ImageReference("ghcr.io", "acme/app/api", tag="v1")),
        ("localhost/app", ImageReference("localhost", "app")),
        ("localhost:5000/app:dev", ImageReference("localhost:5000", "app", tag="dev")),
        ("registry:5000/team/app", ImageReference("registry:5000", "team/app")),
        ("[::1]:5000/app", ImageReference("[::1]:5000", "app")),
        (f"nginx@{D1}", ImageReference("index.docker.io", "library/nginx", digest=D1)),
        (f"ghcr.io/a/b:1.0@{D1}", ImageReference("ghcr.io", "a/b", tag="1.0", digest=D1)),
        ("a__b/c-d--e.f_g", ImageReference("index.docker.io", "a__b/c-d--e.f_g")),
    ],
)
def test_parse_reference(value: str, expected: ImageReference) -> None:
    assert parse_reference(value) == expected


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", "empty"),
        ("nginx 1.25", "contains whitespace"),
        ("Nginx", "repository name must be lowercase"),
        ("ghcr.io/Acme/app", "repository name must be lowercase"),
        ("nginx@sha256:abc", "invalid digest 'sha256:abc'"),
        ("nginx@sha256:" + "A" * 64, "invalid digest"),
        ("nginx@sha512:" + "a" * 128, "only sha256 is supported"),
        (f"nginx@{D1}@{D1}", "invalid digest"),
        ("nginx:", "invalid tag ''"),
        ("nginx:-x", "invalid tag"),
        ("nginx:" + "a" * 129, "invalid tag"),
        ("/abs/path", "invalid repository name component ''"),
        ("./build/out", "invalid registry '.'"),
        ("oci://ghcr.io/x", "invalid registry 'oci:'"),
        ("ghcr.io/a//b", "invalid repository name component ''"),
        ("a/-b", "invalid repository name component '-b'"),
        ("x/" + "a" * 300, "longer than 255"),
    ],
)
def test_parse_reference_rejects(value: str, error: str) -> None:
    with pytest.raises(MaterialError, match=error) as info:
        parse_reference(value)
    assert str(info.value).startswith("invalid image reference")
    assert info.value.hint is not None


@given(st.text(max_size=80))
def test_parse_reference_only_raises_material_errors(value: str) -> None:
    try:
        ref = parse_reference(value)
    except MaterialError:
        return
    assert ref.name.count("/") >= 1


# --- craft: by digest ---------------------------------------------------------------------------------------


def test_digest_reference_with_tag() -> None:
    crafted = ContainerImageKind().craft(f"bitnami/nginx:1.25@{D1}", OPTS)
    assert crafted.kind == "CONTAINER_IMAGE"
    assert crafted.digest == D1
    assert crafted.filename is None
    assert crafted.image == ImageInfo(name="index.docker.io/bitnami/nginx", tag="1.25", has_latest_tag=False)
    assert crafted.annotations == {ANN_IMAGE_TAG: "1.25"}


def test_digest_reference_latest_tag() -> None:
    crafted = ContainerImageKind().craft(f"ghcr.io/acme/app:latest@{D1}", OPTS)
    assert crafted.image == ImageInfo(name="ghcr.io/acme/app", tag="latest", has_latest_tag=True)


def test_digest_reference_without_tag() -> None:
    crafted = ContainerImageKind().craft(f"nginx@{D1}", OPTS)
    assert crafted.image == ImageInfo(name="index.docker.io/library/nginx", tag=None, has_latest_tag=None)
    assert crafted.annotations == {}


@pytest.mark.parametrize("value", ["nginx:1.25", "ghcr.io/acme/app", "localhost:5000/app:dev"])
def test_tag_reference_needs_the_registry(value: str) -> None:
    with pytest.raises(
        MaterialError, match="resolving an image tag against its registry is not available yet"
    ) as info:
        ContainerImageKind().craft(value, OPTS)
    assert info.value.hint is not None
    assert "REPO@sha256:DIGEST" in info.value.hint
    assert "OCI layout directory" in info.value.hint


def test_invalid_reference_is_refused() -> None:
    with pytest.raises(MaterialError, match="repository name must be lowercase"):
        ContainerImageKind().craft(f"Acme/App@{D1}", OPTS)


def test_a_file_is_not_an_image(tmp_path: Path) -> None:
    tarball = tmp_path / "image.tar"
    tarball.write_bytes(b"not an image")
    with pytest.raises(MaterialError, match="is a file, not an image reference") as info:
        ContainerImageKind().craft(str(tarball), OPTS)
    assert info.value.hint is not None
    assert "OCI layout" in info.value.hint


def test_a_plain_directory_is_not_a_layout(tmp_path: Path) -> None:
    with pytest.raises(MaterialError, match="not an OCI image layout"):
        ContainerImageKind().craft(str(tmp_path), OPTS)


# --- craft: OCI layouts -------------------------------------------------------------------------------------


def test_layout_single_image_without_annotations(tmp_path: Path) -> None:
    layout = _layout(tmp_path, [_manifest(D2)])
    crafted = ContainerImageKind().craft(str(layout), OPTS)
    assert crafted.digest == D2
    assert crafted.image == ImageInfo(name="oci-layout:unknown", tag=None, has_latest_tag=None)
    assert crafted.annotations == {}


def test_layout_ref_name_annotation(tmp_path: Path) -> None:
    # skopeo writes the tag as the ref name.
    layout = _layout(tmp_path, [_manifest(D2, **{"org.opencontainers.image.ref.name": "v1.51.0"})])
    crafted = ContainerImageKind().craft(str(layout), OPTS)
    assert crafted.image is not None
    assert crafted.image.name == "oci-layout:v1.51.0"


def test_layout_base_name_and_containerd_tag(tmp_path: Path) -> None:
    annotations = {
        "org.opencontainers.image.base.name": "ghcr.io/acme/app:v2",
        "io.containerd.image.name": "registry.local:5000/acme/app:v2",
    }
    layout = _layout(tmp_path, [_manifest(D2, **annotations)])
    crafted = ContainerImageKind().craft(str(layout), OPTS)
    assert crafted.image == ImageInfo(name="oci-layout:ghcr.io/acme/app:v2", tag="v2", has_latest_tag=False)
    assert crafted.annotations == {ANN_IMAGE_TAG: "v2"}


@pytest.mark.parametrize(
    ("containerd_name", "tag"),
    [
        ("registry.local:5000/acme/app", None),  # the port is not a tag
        (f"docker.io/library/nginx@{D1}", None),  # nor is a digest
        ("docker.io/library/nginx:latest", "latest"),
        ("not a reference", None),
    ],
)
def test_layout_containerd_tag_parsing(tmp_path: Path, containerd_name: str, tag: str | None) -> None:
    layout = _layout(tmp_path, [_manifest(D2, **{"io.containerd.image.name": containerd_name})])
    crafted = ContainerImageKind().craft(str(layout), OPTS)
    assert crafted.image is not None
    assert crafted.image.tag == tag


def test_layout_with_several_images_needs_a_digest(tmp_path: Path) -> None:
    layout = _layout(tmp_path, [_manifest(D1), _manifest(D2), _manifest(D3)])
    with pytest.raises(MaterialError) as info:
        ContainerImageKind().craft(str(layout), OPTS)
    assert str(info.value) == (
        f"{layout}: OCI layout contains 3 images, please specify which one to use with @digest. "
        f"Available digests: {D1}, {D2}, {D3}"
    )


def test_layout_digest_selector(tmp_path: Path) -> None:
    name = {"org.opencontainers.image.ref.name": "ghcr.io/chainloop-dev/chainloop/artifact-cas:v1.51.0"}
    layout = _layout(tmp_path, [_manifest(D1), _manifest(D3, **name)])
    crafted = ContainerImageKind().craft(f"{layout}@{D3}", OPTS)
    assert crafted.digest == D3
    assert crafted.image is not None
    assert crafted.image.name == "oci-layout:ghcr.io/chainloop-dev/chainloop/artifact-cas:v1.51.0"


def test_layout_unknown_digest(tmp_path: Path) -> None:
    layout = _layout(tmp_path, [_manifest(D1), _manifest(D2)])
    with pytest.raises(MaterialError, match=f"digest {D3} not found in OCI layout"):
        ContainerImageKind().craft(f"{layout}@{D3}", OPTS)
    with pytest.raises(MaterialError, match="digest sha256:nonexistent not found in OCI layout"):
        ContainerImageKind().craft(f"{layout}@sha256:nonexistent", OPTS)


def test_layout_directory_with_at_sign_in_its_name(tmp_path: Path) -> None:
    layout = _layout(tmp_path, [_manifest(D1)], name="build@2")
    assert ContainerImageKind().craft(str(layout), OPTS).digest == D1


@pytest.mark.parametrize(
    ("index", "error"),
    [
        (None, "not a valid OCI layout: index.json is missing"),
        ("{not json", "invalid index.json: not valid JSON"),
        ("[]", "invalid index.json: no manifests list"),
        ('{"manifests": []}', "no manifests found in OCI layout"),
        ('{"manifests": [{"size": 1}]}', "a manifest has no digest"),
        ('{"manifests": [{"digest": "sha512:abcd"}]}', "is not a sha256 digest"),
    ],
)
def test_invalid_layouts(tmp_path: Path, index: str | None, error: str) -> None:
    layout = _layout(tmp_path, [])
    if index is None:
        (layout / "index.json").unlink()
    else:
        (layout / "index.json").write_text(index)
    with pytest.raises(MaterialError, match=error):
        ContainerImageKind().craft(str(layout), OPTS)


def test_invalid_oci_layout_marker(tmp_path: Path) -> None:
    layout = _layout(tmp_path, [_manifest(D1)])
    (layout / "oci-layout").write_text('"1.0.0"')
    with pytest.raises(MaterialError, match="invalid oci-layout file: not a JSON object"):
        ContainerImageKind().craft(str(layout), OPTS)


def test_oversized_index_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crafter._internal.materials import image

    monkeypatch.setattr(image, "MAX_LAYOUT_JSON_BYTES", 64)
    layout = _layout(tmp_path, [_manifest(D1), _manifest(D2)])
    with pytest.raises(MaterialError, match=r"index\.json too large"):
        ContainerImageKind().craft(str(layout), OPTS)


# --- sniffing -----------------------------------------------------------------------------------------------


def test_sniff(tmp_path: Path, materials_dir: Path) -> None:
    kind = ContainerImageKind()
    layout = _layout(tmp_path, [_manifest(D1), _manifest(D2)])
    assert kind.sniff(Sample.of(str(layout)))
    assert kind.sniff(Sample.of(f"{layout}@{D2}"))
    assert kind.sniff(Sample.of(f"nginx@{D1}"))
    assert kind.sniff(Sample.of("nginx:1.25"))  # syntactically an image; craft explains why it is refused
    assert not kind.sniff(Sample.of("hello world"))
    assert not kind.sniff(Sample.of("./dist/app.bin"))
    assert not kind.sniff(Sample.of(str(materials_dir / "simple.txt")))  # existing files never
    assert not kind.sniff(Sample.of(str(tmp_path)))  # a directory without oci-layout is a path, not an image
