"""Opening and reading the files users name (materials, contracts, keys, certificates, bundles, trust roots).

The rules, for every such file (docs/security.md, "Files"):

1. Only regular files are read. The path is looked at first (``stat``, which opens nothing); the file is then
   opened with ``O_NONBLOCK`` (a FIFO would otherwise block the open itself until a writer comes) and checked
   again on the opened descriptor (``fstat`` + ``S_ISREG``), so what is read is what was checked. Anything
   else is refused with one line naming the file: ``X is not a regular file (a FIFO)``.
2. Every read is capped by its caller; the size ``fstat`` reports is not trusted (a file can grow): at most
   ``cap + 1`` bytes are read, and more than ``cap`` is refused.
3. A file that changes while it is read is refused rather than recorded: its identity (device, inode, size,
   modification time in ns) is compared before and after the read, on the descriptor and on the path.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path
from typing import Literal, overload

import attrs

from crafter.errors import CrafterError

__all__ = ["FileIdentity", "RegularFile", "describe_mode", "open_regular", "read_small_file"]

StrPath = str | os.PathLike[str]

_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = (
    os.O_RDONLY
    | _NONBLOCK
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def describe_mode(mode: int) -> str:
    """What a non-regular file is, for messages: ``a FIFO``, ``a character device``..."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "a special file"


@attrs.frozen
class FileIdentity:
    """What must not change while a file is read: which file it is, its size and its modification time."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(dev=st.st_dev, ino=st.st_ino, size=st.st_size, mtime_ns=st.st_mtime_ns)


class RegularFile:
    """A regular file opened by :func:`open_regular`; reads go through the descriptor that was checked.

    ``label`` names the file in messages (``key file k.key``, or the path alone); ``error`` is the
    :class:`CrafterError` subclass every problem is raised as.
    """

    def __init__(self, path: StrPath, fd: int, identity: FileIdentity, label: str, error: type[CrafterError]):
        self.path = path
        self.identity = identity
        self.label = label
        self.error = error
        self._raw = io.FileIO(fd, "rb", closefd=True)

    # -- context manager --------------------------------------------------------------------------------------
    def __enter__(self) -> RegularFile:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._raw.close()

    def fileno(self) -> int:
        return self._raw.fileno()

    @property
    def size(self) -> int:
        """The size ``fstat`` gave at open: a hint (progress, early refusal), never a bound on what is read."""
        return self.identity.size

    # -- reading ----------------------------------------------------------------------------------------------
    def _failed(self, exc: OSError) -> CrafterError:
        return self.error(f"cannot read {self.label}: {exc.strerror or exc}")

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Read into ``buffer``; 0 at the end of the file."""
        try:
            return self._raw.readinto(buffer) or 0
        except OSError as exc:
            raise self._failed(exc) from exc

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end of the file."""
        try:
            return self._raw.read(size) or b""
        except OSError as exc:
            raise self._failed(exc) from exc

    def read_at_most(self, limit: int) -> bytes:
        """At most ``limit + 1`` bytes from the current position: more than ``limit`` means "too large"."""
        want = limit + 1
        data = self.read(min(want, self.size + 1))  # one allocation when the file did not grow
        while len(data) < want and (more := self.read(want - len(data))):
            data += more
        return data

    def pread(self, size: int, offset: int) -> bytes:
        """``size`` bytes at ``offset`` (fewer at the end), without moving the position."""
        try:
            return os.pread(self.fileno(), size, offset)
        except OSError as exc:
            raise self._failed(exc) from exc

    # -- change detection -------------------------------------------------------------------------------------
    def check_unchanged(self, read: int | None = None, advice: str = "") -> None:
        """Raise ``error`` when the file changed since it was opened: on the descriptor (size, modification
        time), on the path (another file renamed over it, or it was removed), or, with ``read`` (the bytes
        read from the start to the end), when that count is not the size the file had at open."""
        try:
            now_fd = FileIdentity.of(os.fstat(self.fileno()))
            try:
                now_path: FileIdentity | None = FileIdentity.of(os.stat(self.path))
            except FileNotFoundError:
                now_path = None
        except OSError as exc:
            raise self._failed(exc) from exc
        if (
            now_fd != self.identity
            or now_path != self.identity
            or (read is not None and read != self.identity.size)
        ):
            message = f"{self.label} changed while it was read"
            raise self.error(f"{message}; {advice}" if advice else message)


def _label(path: StrPath, what: str | None) -> str:
    return f"{what} {os.fspath(path)}" if what else os.fspath(path)


def _not_regular(path: StrPath, what: str | None, mode: int, error: type[CrafterError]) -> CrafterError:
    name = os.fspath(path)
    if stat.S_ISDIR(mode):
        return error(f"{what} {name} is a directory" if what else f"{name}: is a directory, not a file")
    return error(f"{_label(path, what)} is not a regular file ({describe_mode(mode)})")


def _open_error(
    path: StrPath, what: str | None, exc: OSError, error: type[CrafterError], invalid: type[CrafterError]
) -> CrafterError:
    name = os.fspath(path)
    if isinstance(exc, FileNotFoundError):
        return error(f"{what} {name} not found" if what else f"{name}: file not found")
    if exc.errno == errno.ENXIO:  # a socket, or a device without a driver: say what it is
        try:
            return _not_regular(path, what, os.stat(path).st_mode, invalid)
        except OSError:
            pass
    reason = exc.strerror or str(exc)
    return error(f"cannot read {what} {name}: {reason}" if what else f"{name}: cannot read file: {reason}")


def open_regular(
    path: StrPath,
    *,
    what: str | None = None,
    error: type[CrafterError] = CrafterError,
    invalid: type[CrafterError] | None = None,
) -> RegularFile:
    """Open ``path`` for reading if it is a regular file.

    Raises ``error`` when it does not exist or cannot be opened, ``invalid`` (default: ``error``) when it is
    not a regular file, each naming the file and what went wrong. ``what`` (``"key file"``) prefixes the
    path in messages (``key file k.key not found``); without it messages start with the path
    (``k.key: file not found``, ``k.key is not a regular file (a FIFO)``). Later problems (a read error, a
    change while it is read) are raised as ``error``.
    """
    refused = invalid or error
    try:
        before = os.stat(path)  # opens nothing: a FIFO or a device is refused before it is ever opened
    except ValueError as exc:  # a NUL in the path
        raise error(f"{_label(path, what)}: invalid file name") from exc
    except OSError as exc:
        raise _open_error(path, what, exc, error, refused) from exc
    if not stat.S_ISREG(before.st_mode):
        raise _not_regular(path, what, before.st_mode, refused)
    try:
        fd = os.open(
            path, _OPEN_FLAGS
        )  # O_NONBLOCK: were it swapped for a FIFO since, the open still returns
    except OSError as exc:
        raise _open_error(path, what, exc, error, refused) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped between the stat and the open
            raise _not_regular(path, what, st.st_mode, refused)
        if _NONBLOCK:  # back to ordinary reads (no effect on a regular file, but nothing relies on that)
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return RegularFile(path, fd, FileIdentity.of(st), _label(path, what), error)


@overload
def read_small_file(
    path: Path,
    *,
    what: str,
    limit: int,
    error: type[CrafterError] = ...,
    invalid: type[CrafterError] | None = ...,
    missing_ok: Literal[False] = ...,
) -> bytes: ...


@overload
def read_small_file(
    path: Path,
    *,
    what: str,
    limit: int,
    error: type[CrafterError] = ...,
    invalid: type[CrafterError] | None = ...,
    missing_ok: Literal[True],
) -> bytes | None: ...


def read_small_file(
    path: Path,
    *,
    what: str,
    limit: int,
    error: type[CrafterError] = CrafterError,
    invalid: type[CrafterError] | None = None,
    missing_ok: bool = False,
) -> bytes | None:
    """The bytes of ``path``, or an error naming ``what`` and the file: ``error`` when it is not found
    (``None`` instead with ``missing_ok``), unreadable or changed while it was read; ``invalid`` (default:
    ``error``) when it is not a regular file or is larger than ``limit``.

    The limit keeps a wrong argument (a disk image given as a key, ``/dev/zero``) from being read whole into
    memory; at most ``limit + 1`` bytes are ever read.
    """
    refused = invalid or error
    try:
        opened = open_regular(path, what=what, error=error, invalid=refused)
    except CrafterError as exc:
        if missing_ok and isinstance(exc.__cause__, FileNotFoundError):
            return None
        raise
    with opened as fh:
        if fh.size > limit:
            raise refused(f"{what} {path} is larger than {limit} bytes: not a {what}")
        data = fh.read_at_most(limit)
        if len(data) > limit:
            raise refused(f"{what} {path} is larger than {limit} bytes: not a {what}")
        fh.check_unchanged(len(data))
    return data
