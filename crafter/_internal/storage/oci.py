"""Bundles and material bytes in an OCI registry, over the distribution API with the standard library.

A bundle is pushed as an OCI 1.1 artifact: an image manifest with ``artifactType`` = the Sigstore bundle media
type, the empty config (``application/vnd.oci.empty.v1+json``, ``{}``), one layer holding the bundle's exact
bytes and, when the reference names an image, ``subject`` = that image's manifest descriptor. Registries with
the referrers API index it themselves (``OCI-Subject`` on the PUT, else an image index from
``/v2/<repo>/referrers/<digest>``); for registries without it (a 404 there, or an answer that is no image index,
e.g. distribution 2.8) the client keeps the referrers tag schema: an image index tagged ``sha256-<hex>`` listing
the artifacts that refer to the image. Credentials: :mod:`crafter._internal.storage.credentials`. The registry API itself: :mod:`crafter._internal.storage.registry`. See docs/storage.md.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crafter._internal.crafting_state import now_rfc3339
from crafter._internal.storage.credentials import registry_credentials
from crafter._internal.storage.interface import (
    BUNDLE_MEDIA_TYPE,
    ContentStore,
    Store,
    StoreError,
    split_digest,
)
from crafter._internal.storage.registry import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    TIMEOUT,
    OciReference,
    RegistryClient,
    parse_json,
)

EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"
CREATED = "org.opencontainers.image.created"
STATEMENT_DIGEST = "dev.crafter.statement.digest"


def _is_bundle(manifest: Mapping[str, Any]) -> bool:
    if manifest.get("artifactType") == BUNDLE_MEDIA_TYPE:
        return True
    layers = manifest.get("layers") or []
    return bool(layers) and all(layer.get("mediaType") == BUNDLE_MEDIA_TYPE for layer in layers)


def fallback_tag(digest: str) -> str:
    """The referrers tag schema: ``sha256:<hex>`` -> ``sha256-<hex>``."""
    return "sha256-" + split_digest(digest)


class OciStore(Store):
    """Bundles in a registry, attached to the image the reference names (see the module docstring)."""

    def __init__(
        self,
        reference: str,
        *,
        insecure: bool = False,
        environ: Mapping[str, str] | None = None,
        client: RegistryClient | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        """``timeout``: the deadline of each registry request, in seconds (``--http-timeout``)."""
        self.reference = OciReference.parse(reference)
        env = os.environ if environ is None else environ
        self.client = client or RegistryClient(
            self.reference.registry,
            insecure=insecure,
            credentials=registry_credentials(self.reference.registry, env),
            timeout=timeout,
        )

    def _location(self, digest: str) -> str:
        return f"oci://{self.reference.registry}/{self.reference.repository}@{digest}"

    def subject(self) -> dict[str, Any] | None:
        """The descriptor of the image the reference names; None when it names no image (absent tag, or a
        bundle artifact). A digest that is absent is an error."""
        ref = self.reference
        found = self.client.get_manifest(ref.repository, ref.ref)
        if found is None:
            if ref.digest:
                raise StoreError(f"{ref}: no such manifest in the registry")
            return None
        media, digest, body = found
        if media in (OCI_MANIFEST, DOCKER_MANIFEST) and _is_bundle(parse_json(body, "manifest")):
            return None
        return {"mediaType": media, "digest": digest, "size": len(body)}

    def put(self, bundle: bytes, *, statement_digest: str) -> str:
        ref, client = self.reference, self.client
        subject = self.subject()
        config_digest = client.put_blob(ref.repository, EMPTY_JSON)
        layer_digest = client.put_blob(ref.repository, bundle)
        annotations = {
            CREATED: now_rfc3339(),  # nanoseconds: orders bundles pushed within one second
            STATEMENT_DIGEST: statement_digest,
        }
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": BUNDLE_MEDIA_TYPE,
            "config": {"mediaType": EMPTY_CONFIG, "digest": config_digest, "size": len(EMPTY_JSON)},
            "layers": [
                {
                    "mediaType": BUNDLE_MEDIA_TYPE,
                    "digest": layer_digest,
                    "size": len(bundle),
                    "annotations": {"org.opencontainers.image.title": "attestation.sigstore.json"},
                }
            ],
        }
        if subject is not None:
            manifest["subject"] = subject
        manifest["annotations"] = annotations
        body = json.dumps(manifest, separators=(",", ":")).encode("utf-8")
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if subject is None:
            client.put_manifest(ref.repository, ref.tag or "latest", OCI_MANIFEST, body)
            return self._location(digest)
        headers = client.put_manifest(ref.repository, digest, OCI_MANIFEST, body)
        # Distribution spec 1.1: OCI-Subject on the PUT means the registry indexed the subject; without it,
        # a referrers API that answers still indexes it (the spec's "verify the referrers API is available",
        # as oras-go does); only a registry with neither needs the client-kept tag.
        indexed = headers.get("oci-subject")
        if not indexed and client.referrers(ref.repository, subject["digest"]) is None:
            descriptor = {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": len(body),
                "artifactType": BUNDLE_MEDIA_TYPE,
                "annotations": annotations,
            }
            self._add_to_fallback_index(subject["digest"], descriptor)
        return self._location(digest)

    def _add_to_fallback_index(self, subject_digest: str, descriptor: dict[str, Any]) -> None:
        repo, tag = self.reference.repository, fallback_tag(subject_digest)
        found = self.client.get_manifest(repo, tag)
        index: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        if found is not None:
            if found[0] != OCI_INDEX:
                raise StoreError(f"{repo}:{tag} is not an image index: cannot keep the referrers tag there")
            index = parse_json(found[2], "referrers index")
        manifests = [m for m in index.get("manifests", []) if m.get("digest") != descriptor["digest"]]
        index["manifests"] = [*manifests, descriptor]
        body = json.dumps(index, separators=(",", ":")).encode("utf-8")
        self.client.put_manifest(repo, tag, OCI_INDEX, body)

    def referrers(self) -> list[dict[str, Any]]:
        """The bundle descriptors attached to the image the reference names, oldest first (referrers API, else
        the ``sha256-<hex>`` tag index); empty when the reference names no image."""
        subject = self.subject()
        if subject is None:
            return []
        repo = self.reference.repository
        listed = self.client.referrers(repo, subject["digest"], BUNDLE_MEDIA_TYPE)
        if listed is None:
            found = self.client.get_manifest(repo, fallback_tag(subject["digest"]))
            # The spec: a tag that holds no valid image index means no referrers.
            valid = found is not None and found[0] == OCI_INDEX
            listed = (
                list(parse_json(found[2], "referrers index").get("manifests") or [])
                if valid and found
                else []
            )
        bundles = [d for d in listed if isinstance(d, dict) and d.get("artifactType") == BUNDLE_MEDIA_TYPE]
        return sorted(bundles, key=lambda d: str((d.get("annotations") or {}).get(CREATED, "")))

    def get(self) -> bytes:
        """The bundle the reference names: the artifact itself, or the newest bundle attached to the image."""
        ref, client = self.reference, self.client
        found = client.get_manifest(ref.repository, ref.ref)
        if found is None:
            raise StoreError(f"{ref}: not found in the registry")
        manifest = parse_json(found[2], "manifest")
        if not _is_bundle(manifest):
            attached = self.referrers()
            if not attached:
                raise StoreError(f"{ref}: no attestation bundle is attached to this image")
            again = client.get_manifest(ref.repository, str(attached[-1]["digest"]))
            if again is None:
                raise StoreError(f"{ref}: the attached bundle {attached[-1]['digest']} is missing")
            manifest = parse_json(again[2], "manifest")
        layers = [
            layer for layer in manifest.get("layers", []) if layer.get("mediaType") == BUNDLE_MEDIA_TYPE
        ]
        if len(layers) != 1:
            raise StoreError(f"{ref}: the artifact does not hold exactly one bundle layer")
        return client.get_blob(ref.repository, str(layers[0]["digest"]), what="bundle")


class OciContentStore(ContentStore):
    """Material bytes as blobs of ``REGISTRY/REPO``, addressed by their digest.

    Blobs no manifest references are removed by a registry's garbage collection; see docs/storage.md.
    """

    def __init__(
        self,
        reference: str,
        *,
        insecure: bool = False,
        environ: Mapping[str, str] | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        """``timeout``: the deadline of each registry request, in seconds (``--http-timeout``)."""
        self.reference = OciReference.parse(reference)
        if self.reference.tag or self.reference.digest:
            raise StoreError(f"a content store is a repository, not a tag or digest: {reference!r}")
        env = os.environ if environ is None else environ
        self.client = RegistryClient(
            self.reference.registry,
            insecure=insecure,
            credentials=registry_credentials(self.reference.registry, env),
            timeout=timeout,
        )

    def location(self) -> str:
        return f"oci://{self.reference}"

    def upload(self, digest: str, path: Path) -> None:
        split_digest(digest)
        if self.client.has_blob(self.reference.repository, digest):
            return
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise StoreError(f"{path} changed since it was recorded: its digest is no longer {digest}")
        self.client.put_blob(self.reference.repository, data)

    def download(self, digest: str) -> bytes:
        """In memory: at most :data:`~crafter._internal.storage.registry.BLOB_MAX_BYTES`; :meth:`download_to` streams."""
        split_digest(digest)
        return self.client.get_blob(self.reference.repository, digest)

    def download_to(self, digest: str, path: Path) -> None:
        """Streamed to ``path``: at most :data:`~crafter._internal.storage.registry.CONTENT_BLOB_MAX_BYTES`."""
        split_digest(digest)
        self.client.download_blob(self.reference.repository, digest, path)
