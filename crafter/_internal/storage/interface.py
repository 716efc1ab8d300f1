"""Where bundles and material contents go: one :class:`Store` interface for bundles, one
:class:`ContentStore` interface for material bytes (the CAS), and the error both raise.

Implementations: :mod:`crafter._internal.storage.file` (a file, a directory named by statement digest, a directory CAS)
and :mod:`crafter._internal.storage.oci` (an OCI registry). See docs/storage.md.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from crafter.errors import CrafterError, ExitCode

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


class StoreError(CrafterError):
    """A store cannot be reached, refuses the credentials, or does not hold what was asked for."""

    exit_code = ExitCode.STORE


class ContentNotFoundError(StoreError):
    """The content store holds nothing under the digest asked for."""


class ContentDigestError(StoreError):
    """The bytes a content store returned under a digest have another digest (a corrupted or altered store)."""


class Store(ABC):
    """A place a signed bundle is written to and read back from."""

    @abstractmethod
    def put(self, bundle: bytes, *, statement_digest: str) -> str:
        """Store the bundle's exact bytes; returns where it went (a path or an ``oci://`` reference).
        ``statement_digest`` is ``sha256:<hex>`` of the signed statement."""

    @abstractmethod
    def get(self) -> bytes:
        """The bundle this store's location names (for a registry: the newest bundle attached to it)."""


class ContentStore(ABC):
    """A content-addressed store of material bytes, keyed by ``sha256:<hex>``."""

    @abstractmethod
    def upload(self, digest: str, path: Path) -> None:
        """Store the file's bytes under ``digest`` (the caller computed it); a no-op when already there."""

    @abstractmethod
    def download(self, digest: str) -> bytes:
        """The bytes stored under ``digest``, checked against it: :class:`ContentNotFoundError` when absent,
        :class:`ContentDigestError` when they have another digest."""

    def download_to(self, digest: str, path: Path) -> None:
        """Write the bytes stored under ``digest`` to ``path``, checked as :meth:`download` checks them
        (nothing is left at ``path`` when that fails). Stores that can stream (a registry) do so without
        holding the bytes in memory; the others write what :meth:`download` returns."""
        path.write_bytes(self.download(digest))

    @abstractmethod
    def location(self) -> str:
        """The store, as the user named it (for messages)."""


def split_digest(digest: str) -> str:
    """``sha256:<hex>`` to ``<hex>``; anything else is an error."""
    algo, sep, hexpart = digest.partition(":")
    if algo != "sha256" or not sep or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise StoreError(f"unsupported digest {digest!r}: expected sha256:<64 hex digits>")
    return hexpart
