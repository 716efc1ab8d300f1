"""Stores for bundles and material contents (see docs/storage.md); which store a reference names is
:mod:`crafter._internal.storage.schemes`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.storage.interface import BUNDLE_MEDIA_TYPE, ContentStore, Store, StoreError

if TYPE_CHECKING:
    from crafter._internal.contract import Contract
    from crafter._internal.crafting_state import Material

__all__ = [
    "BUNDLE_MEDIA_TYPE",
    "ContentStore",
    "Store",
    "StoreError",
    "bundle_store",
    "bundle_target",
    "content_store",
    "publish",
    "upload_materials",
]


def upload_materials(
    cas: ContentStore | None, materials: Sequence[Material], values: Sequence[str], contract: Contract
) -> list[Material]:
    """Upload each file material's bytes to ``cas`` by digest (not those the contract marks ``skipUpload``);
    returns the materials with ``uploaded_to_cas`` set on those uploaded (all unchanged without ``cas``)."""
    if cas is None:
        return list(materials)
    skip = {m.name for m in contract.materials if m.skip_upload}
    out: list[Material] = []
    for material, value in zip(materials, values, strict=True):
        if material.name in skip or material.digest is None or not os.path.isfile(value):
            out.append(material)
            continue
        cas.upload(material.digest, Path(value))
        out.append(attrs.evolve(material, uploaded_to_cas=True))
    return out


def bundle_target(path: Path, statement_digest: str) -> Path:
    """Where ``push --bundle PATH`` writes: PATH, or in an existing directory (a directory store)
    ``PATH/<hex of the statement digest>.sigstore.json``."""
    if path.is_dir():
        from crafter._internal.storage.file import DirectoryStore

        return DirectoryStore(path).path_for(statement_digest)
    return path


def publish(stores: Sequence[Store], bundle_path: Path, statement_digest: str) -> tuple[str, ...]:
    """Copy the bundle already written at ``bundle_path`` to every store; returns their locations.

    A failure names the store and says the local bundle is kept (the caller keeps the attestation state).
    """
    if not stores:
        return ()
    data = bundle_path.read_bytes()
    out: list[str] = []
    for store in stores:
        try:
            out.append(store.put(data, statement_digest=statement_digest))
        except StoreError as exc:
            raise StoreError(
                f"{exc.message}; the bundle is kept at {bundle_path}",
                hint=(exc.hint + "; " if exc.hint else "")
                + "the attestation stays in progress: push again once the store is reachable",
            ) from exc
    return tuple(out)


def content_store(
    spec: str,
    *,
    insecure: bool = False,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ContentStore:
    """The content store ``--cas`` names: a directory, ``oci://REGISTRY/REPO``, or a scheme an installed plugin
    adds (docs/storage.md); ``timeout``: the deadline of each registry request (``--http-timeout``)."""
    from crafter._internal.storage.schemes import open_content_store

    return open_content_store(spec, insecure=insecure, environ=environ, timeout=timeout)


def bundle_store(
    reference: str,
    *,
    insecure: bool = False,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Store:
    """The bundle store ``reference`` names: a path, ``oci://REGISTRY/REPO[:TAG|@DIGEST]``, or a scheme an
    installed plugin adds (docs/storage.md)."""
    from crafter._internal.storage.schemes import open_bundle_store

    return open_bundle_store(reference, insecure=insecure, environ=environ, timeout=timeout)
