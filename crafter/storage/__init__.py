"""Stores for bundles and material contents, opened by reference (docs/storage.md)."""

from crafter._internal.storage import bundle_store, content_store
from crafter._internal.storage.interface import ContentStore, Store, StoreError

__all__ = ["ContentStore", "Store", "StoreError", "bundle_store", "content_store"]
