"""Local stores: a bundle file, a directory of bundles named by statement digest, a directory CAS."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from crafter._internal.storage.interface import (
    ContentDigestError,
    ContentNotFoundError,
    ContentStore,
    Store,
    StoreError,
    split_digest,
)


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise StoreError(f"{path}: no such file") from exc
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc


class FileStore(Store):
    """One bundle file (``--bundle PATH``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def put(self, bundle: bytes, *, statement_digest: str) -> str:
        _atomic_write(self.path, bundle)
        return str(self.path)

    def get(self) -> bytes:
        return _read(self.path)


class DirectoryStore(Store):
    """A directory of bundles, each named ``<hex of the statement digest>.sigstore.json``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, statement_digest: str) -> Path:
        return self.directory / f"{split_digest(statement_digest)}.sigstore.json"

    def put(self, bundle: bytes, *, statement_digest: str) -> str:
        path = self.path_for(statement_digest)
        _atomic_write(path, bundle)
        return str(path)

    def get(self) -> bytes:
        """The newest bundle in the directory (by modification time)."""
        try:
            found = sorted(self.directory.glob("*.sigstore.json"), key=lambda p: p.stat().st_mtime)
        except OSError as exc:
            raise StoreError(f"cannot list {self.directory}: {exc.strerror or exc}") from exc
        if not found:
            raise StoreError(f"{self.directory}: no bundle (*.sigstore.json) in this directory")
        return _read(found[-1])

    def get_by_digest(self, statement_digest: str) -> bytes:
        return _read(self.path_for(statement_digest))


class DirectoryContentStore(ContentStore):
    """Material bytes under ``DIR/sha256/<hex>``; every download is checked against its digest."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, digest: str) -> Path:
        return self.directory / "sha256" / split_digest(digest)

    def location(self) -> str:
        return str(self.directory)

    def upload(self, digest: str, path: Path) -> None:
        target = self._path(digest)
        if target.is_file():
            return
        data = _read(path)
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise StoreError(f"{path} changed since it was recorded: its digest is no longer {digest}")
        _atomic_write(target, data)

    def download(self, digest: str) -> bytes:
        path = self._path(digest)
        if not path.is_file():
            raise ContentNotFoundError(f"{digest} is not in the content store {self.directory}")
        data = _read(path)
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise ContentDigestError(f"{path}: content does not match its digest {digest} (corrupted store)")
        return data
