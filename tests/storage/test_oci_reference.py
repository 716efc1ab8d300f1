"""The one OCI reference parser (crafter._internal.oci_reference): docker's normalisation, and its two users agreeing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crafter._internal.materials.image import parse_reference
from crafter._internal.oci_reference import ReferenceSyntaxError, parse_image_reference
from crafter._internal.storage.interface import StoreError
from crafter._internal.storage.registry import OciReference
from crafter.errors import MaterialError

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("alpine", "docker.io", "library/alpine", None, None),
        ("docker.io/alpine", "docker.io", "library/alpine", None, None),
        ("docker.io/library/alpine:3", "docker.io", "library/alpine", "3", None),
        ("index.docker.io/alpine", "docker.io", "library/alpine", None, None),  # the legacy name
        ("index.docker.io/acme/app", "docker.io", "acme/app", None, None),
        # the API host is not a name of Docker Hub in references (docker, go-containerregistry)
        ("registry-1.docker.io/alpine", "registry-1.docker.io", "alpine", None, None),
        ("localhost:5000/app:v1", "localhost:5000", "app", "v1", None),
        ("127.0.0.1:5000/a/b/c", "127.0.0.1:5000", "a/b/c", None, None),
        ("[::1]:5000/app", "[::1]:5000", "app", None, None),
        ("Registry.Example/app", "Registry.Example", "app", None, None),  # uppercase: a registry
        (f"ghcr.io/a/b:1.0@{D}", "ghcr.io", "a/b", "1.0", D),  # a tag beside a digest
        (f"localhost:5000/app@{D}", "localhost:5000", "app", None, D),  # a port is not a tag
    ],
)
def test_normalisation(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_image_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert ref.explicit_registry == (text != "alpine")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("a b", "whitespace"),
        ("ghcr.io/App", "must be lowercase"),
        ("app:", "invalid tag ''"),
        ("app@sha256:12", "invalid digest"),
        ("app@sha512:" + "a" * 128, "only sha256"),
        ("bad_host:x/app", "invalid registry"),
        ("ghcr.io//app", "component ''"),
        ("ghcr.io/" + "a" * 250, "longer than 255"),
        ("x" * 240, "longer than 255"),  # docker.io/library/ counts
    ],
)
def test_refusals(text: str, reason: str) -> None:
    with pytest.raises(ReferenceSyntaxError, match=reason):
        parse_image_reference(text)


@pytest.mark.parametrize(
    "text", ["docker.io/alpine:3", "index.docker.io/acme/app", "localhost:5000/app", f"ghcr.io/a@{D}"]
)
def test_the_material_and_the_store_read_references_alike(text: str) -> None:
    """One parser: the store's registry is the material's, but for Docker Hub's recorded name."""
    image, store = parse_reference(text), OciReference.parse("oci://" + text)
    assert (store.repository, store.tag, store.digest) == (image.repository, image.tag, image.digest)
    expected = "index.docker.io" if store.registry == "docker.io" else store.registry
    assert image.registry == expected


def test_a_store_reference_names_its_registry() -> None:
    assert parse_reference("alpine:3").registry == "index.docker.io"  # a material may imply Docker Hub
    with pytest.raises(StoreError, match="with a registry host"):
        OciReference.parse("oci://alpine:3")  # a store may not


@given(st.text(max_size=60))
def test_both_users_refuse_the_same_texts(text: str) -> None:
    try:
        parse_image_reference(text)
        parsed = True
    except ReferenceSyntaxError:
        parsed = False
    try:
        parse_reference(text)
        material = True
    except MaterialError:
        material = False
    assert parsed == material
    if "://" not in text:
        try:
            OciReference.parse(text)
        except StoreError:
            return
        assert parsed
