"""Stores by reference scheme: bundle stores (``crafter.bundle_stores``) and content stores
(``crafter.content_stores``).

A store reference is ``SCHEME://...`` or a path (the ``file`` scheme). Each scheme names a factory
``(reference, StoreContext) -> Store`` (or ``ContentStore``). The built-ins: ``file`` (a bundle file, a
directory of bundles, a directory CAS) and ``oci`` (a registry); each imports its module only when called. An
installed distribution adds a scheme with an entry point in the family's group (``NAME = MODULE:FACTORY``,
``NAME`` the scheme), never replacing a built-in one: a new store is one module and one entry point. What a
plugin raises (its factory, or any method of the store it returns) becomes a :class:`StoreError` naming it
(:mod:`crafter._internal.plugins`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import attrs

from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.plugins import Family, Plugin, plugin_errors, scheme_of
from crafter._internal.storage.interface import ContentStore, Store, StoreError

__all__ = [
    "BUNDLE_STORES",
    "BUNDLE_STORE_GROUP",
    "CONTENT_STORES",
    "CONTENT_STORE_GROUP",
    "BundleStoreFactory",
    "ContentStoreFactory",
    "StoreContext",
    "open_bundle_store",
    "open_content_store",
    "store_scheme",
]

_F = TypeVar("_F")

BUNDLE_STORE_GROUP = "crafter.bundle_stores"
CONTENT_STORE_GROUP = "crafter.content_stores"


@attrs.frozen
class StoreContext:
    """What a store factory may use besides the reference."""

    #: Plain HTTP instead of HTTPS (``--insecure``).
    insecure: bool = False
    #: Where environment lookups go (None: the process environment; see :attr:`env`).
    environ: Mapping[str, str] | None = None
    #: The deadline of each network request, in seconds (``--http-timeout``).
    timeout: float = DEFAULT_TIMEOUT

    @property
    def env(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ


BundleStoreFactory = Callable[[str, StoreContext], Store]
ContentStoreFactory = Callable[[str, StoreContext], ContentStore]


def _path(reference: str) -> Path:
    return Path(reference[len("file://") :] if scheme_of(reference) == "file" else reference)


def _bundle_file(reference: str, context: StoreContext) -> Store:
    from crafter._internal.storage.file import DirectoryStore, FileStore

    path = _path(reference)
    return DirectoryStore(path) if path.is_dir() else FileStore(path)


def _bundle_oci(reference: str, context: StoreContext) -> Store:
    from crafter._internal.storage.oci import OciStore

    return OciStore(reference, insecure=context.insecure, environ=context.environ, timeout=context.timeout)


def _content_file(reference: str, context: StoreContext) -> ContentStore:
    from crafter._internal.storage.file import DirectoryContentStore

    return DirectoryContentStore(_path(reference))


def _content_oci(reference: str, context: StoreContext) -> ContentStore:
    from crafter._internal.storage.oci import OciContentStore

    return OciContentStore(
        reference, insecure=context.insecure, environ=context.environ, timeout=context.timeout
    )


BUNDLE_STORES: Family[BundleStoreFactory] = Family(
    "bundle store", BUNDLE_STORE_GROUP, StoreError, {"file": _bundle_file, "oci": _bundle_oci}
)
CONTENT_STORES: Family[ContentStoreFactory] = Family(
    "content store", CONTENT_STORE_GROUP, StoreError, {"file": _content_file, "oci": _content_oci}
)


def store_scheme(reference: str) -> str:
    """The scheme that picks the store: ``SCHEME`` of ``SCHEME://...``, ``file`` for a path."""
    return scheme_of(reference) or "file"


def _find(family: Family[_F], reference: str) -> Plugin[_F]:
    scheme = store_scheme(reference)
    plugin = family.find(scheme)
    if plugin is None:
        known = [*family.builtin_names(), *family.plugin_names()]
        raise StoreError(
            f"{scheme}:// is not a known {family.what} scheme ({reference!r})",
            hint="known: a path, " + ", ".join(f"{name}://" for name in known),
        )
    return plugin


def open_bundle_store(
    reference: str,
    *,
    insecure: bool = False,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Store:
    """The bundle store ``reference`` names: a path (a file, or an existing directory), ``oci://...``, or a
    scheme an installed plugin adds."""
    plugin = _find(BUNDLE_STORES, reference)
    store = BUNDLE_STORES.call(plugin, reference, StoreContext(insecure, environ, timeout))
    if plugin.origin is None:
        return store  # type: ignore[no-any-return]
    if not isinstance(store, Store):
        raise StoreError(f"bundle store plugin {plugin.label} returned {type(store).__name__}, not a Store")
    return PluginStore(store, f"bundle store plugin {plugin.label}")


def open_content_store(
    spec: str,
    *,
    insecure: bool = False,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ContentStore:
    """The content store ``spec`` names: a directory, ``oci://REGISTRY/REPO``, or a scheme an installed plugin
    adds."""
    plugin = _find(CONTENT_STORES, spec)
    store = CONTENT_STORES.call(plugin, spec, StoreContext(insecure, environ, timeout))
    if plugin.origin is None:
        return store  # type: ignore[no-any-return]
    if not isinstance(store, ContentStore):
        raise StoreError(
            f"content store plugin {plugin.label} returned {type(store).__name__}, not a ContentStore"
        )
    return PluginContentStore(store, f"content store plugin {plugin.label}")


class PluginStore(Store):
    """A third-party bundle store, every call of which turns a stray exception into :class:`StoreError`."""

    def __init__(self, inner: Store, label: str) -> None:
        self.inner = inner
        self._label = label

    def put(self, bundle: bytes, *, statement_digest: str) -> str:
        with plugin_errors(StoreError, f"{self._label}: storing the bundle"):
            return self.inner.put(bundle, statement_digest=statement_digest)

    def get(self) -> bytes:
        with plugin_errors(StoreError, f"{self._label}: reading the bundle"):
            return self.inner.get()


class PluginContentStore(ContentStore):
    """A third-party content store, every call of which turns a stray exception into :class:`StoreError`."""

    def __init__(self, inner: ContentStore, label: str) -> None:
        self.inner = inner
        self._label = label

    def upload(self, digest: str, path: Path) -> None:
        with plugin_errors(StoreError, f"{self._label}: uploading {digest}"):
            self.inner.upload(digest, path)

    def download(self, digest: str) -> bytes:
        with plugin_errors(StoreError, f"{self._label}: downloading {digest}"):
            return self.inner.download(digest)

    def download_to(self, digest: str, path: Path) -> None:
        with plugin_errors(StoreError, f"{self._label}: downloading {digest}"):
            self.inner.download_to(digest, path)

    def location(self) -> str:
        with plugin_errors(StoreError, f"{self._label}: its location"):
            return self.inner.location()
