"""Bounded, in-memory reading of untrusted archives (zip, tar.gz): never extracted to disk.

Limits (:class:`ArchiveLimits`) are Chainloop's archive-explode defaults: at most 10,000 entries and 1 GiB
uncompressed, counted from the headers before anything is decompressed; an entry may not yield more than it
declares, and the decompressed tar stream as a whole is capped. Paths that are absolute or climb with ``..``
are refused.
"""

from __future__ import annotations

import gzip
import io
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO

import attrs

from crafter.errors import MaterialError

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or the end record of an empty zip
GZIP_MAGIC = b"\x1f\x8b"
_READ_CHUNK = 1 << 20
_EOCD_SEARCH = 22 + 0xFFFF  # the end record, after which only a comment of at most 64 KiB may follow
#: Decompressed tar bytes allowed per entry beyond its data: its header, padding and PAX / long-name records.
_TAR_HEADER_ALLOWANCE = 8 << 10


@attrs.frozen
class ArchiveLimits:
    """Bounds on an archive read in memory (the same defaults as Chainloop's archive explode)."""

    max_entries: int = 10_000
    max_total_size: int = 1 << 30  # uncompressed bytes over all regular entries, as their headers declare


DEFAULT_LIMITS = ArchiveLimits()


def check_entry_path(name: str) -> None:
    """Refuse absolute paths and ``..`` components: such an archive was built to escape a directory."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or ".." in norm.split("/"):
        raise MaterialError(f"unsafe entry path in archive: {name!r}")


class _Budget:
    """Counts entries and declared uncompressed bytes against :class:`ArchiveLimits`."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.entries = 0
        self.total = 0

    def entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise MaterialError(f"archive exceeds the maximum number of entries ({self.limits.max_entries})")

    def size(self, declared: int) -> None:
        self.total += max(declared, 0)
        if self.total > self.limits.max_total_size:
            raise MaterialError(
                f"archive exceeds the maximum uncompressed size ({self.limits.max_total_size} bytes)"
            )


def _check_read(name: str, declared: int, max_read: int | None) -> None:
    if max_read is not None and declared > max_read:
        raise MaterialError(f"archive entry {name!r} is too large ({declared} bytes, limit {max_read})")


def read_bounded(fh: IO[bytes], declared: int, name: str) -> bytes:
    """Read an entry, refusing more bytes than its header declared (the budget was charged for those)."""
    buf = bytearray()
    while chunk := fh.read(min(_READ_CHUNK, declared + 1 - len(buf))):
        buf += chunk
        if len(buf) > declared:
            raise MaterialError(f"archive entry {name!r} is larger than its header declares")
    return bytes(buf)


# Encrypted entries (RuntimeError), unknown compression methods, CRC mismatch, truncated data.
_ZIP_READ_ERRORS = (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, EOFError, OSError)


def _zip_declared_entries(data: bytes) -> int | None:
    """The entry count of the end-of-central-directory record, read before ``zipfile`` builds an object
    per entry (millions of tiny entries would exhaust memory before the budget could count them)."""
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - _EOCD_SEARCH))
    if eocd < 0 or eocd + 22 > len(data):
        return None  # zipfile reports the damage
    (count,) = struct.unpack_from("<H", data, eocd + 10)
    if count != 0xFFFF:
        return int(count)
    zip64 = data.rfind(b"PK\x06\x06", 0, eocd)  # ZIP64 keeps the real count in its own record
    if zip64 < 0 or zip64 + 40 > len(data):
        return None
    (count64,) = struct.unpack_from("<Q", data, zip64 + 32)
    return int(count64)


def iter_zip(
    data: bytes, limits: ArchiveLimits, want: Callable[[str], bool], *, max_read: int | None = None
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, bytes)`` of the regular entries ``want`` selects, in archive order.

    ``max_read`` caps the size of each selected entry (they are held in memory one at a time)."""
    declared = _zip_declared_entries(data)
    if declared is not None and declared > limits.max_entries:
        raise MaterialError(f"archive exceeds the maximum number of entries ({limits.max_entries})")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise MaterialError(f"invalid zip archive: {exc}") from exc
    budget = _Budget(limits)
    with zf:
        for info in zf.infolist():
            budget.entry()
            is_symlink = (info.external_attr >> 16) & 0o170000 == 0o120000
            if info.is_dir() or is_symlink:
                continue
            check_entry_path(info.filename)
            budget.size(info.file_size)
            if not want(info.filename):
                continue
            _check_read(info.filename, info.file_size, max_read)
            try:
                with zf.open(info) as fh:
                    content = read_bounded(fh, info.file_size, info.filename)
            except _ZIP_READ_ERRORS as exc:
                raise MaterialError(f"cannot read zip entry {info.filename!r}: {exc}") from exc
            yield info.filename, content


class _CappedReader(io.BufferedIOBase):
    """Caps the whole decompressed stream, headers included: tarfile reads PAX and long-name headers into
    memory by their declared size, which the per-entry budget never sees."""

    def __init__(self, fh: io.BufferedIOBase, limits: ArchiveLimits) -> None:
        super().__init__()
        self._fh = fh
        self._left = limits.max_total_size + limits.max_entries * _TAR_HEADER_ALLOWANCE
        self._max = limits.max_total_size

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._fh.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise MaterialError(f"archive exceeds the maximum uncompressed size ({self._max} bytes)")
        return data


def iter_tar_gz(
    data: bytes, limits: ArchiveLimits, want: Callable[[str], bool], *, max_read: int | None = None
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, bytes)`` of the regular entries ``want`` selects, streaming the gzip once.

    ``max_read`` caps the size of each selected entry (they are held in memory one at a time)."""
    budget = _Budget(limits)
    try:
        # One streaming pass ("r|"), no seeking back through the decompressor. gzip.GzipFile rather than
        # tarfile's own "r|gz", which mis-reads gzip headers with an extra field (Helm writes one).
        gz = gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb")
        with gz, tarfile.open(fileobj=_CappedReader(gz, limits), mode="r|") as tf:
            for member in tf:
                budget.entry()
                if not member.isreg():
                    continue  # directories, links, devices: never followed
                check_entry_path(member.name)
                # Charged before the member is read or skipped: skipping still decompresses it.
                budget.size(member.size)
                if not want(member.name):
                    continue
                _check_read(member.name, member.size, max_read)
                fh = tf.extractfile(member)
                if fh is None:  # pragma: no cover - isreg() members always have data
                    continue
                yield member.name, read_bounded(fh, member.size, member.name)
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise MaterialError(f"invalid tar.gz archive: {exc}") from exc
