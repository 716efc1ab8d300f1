"""Reading material files: each file is read once, hashed while it is read.

Only regular files are read (:func:`crafter._internal.files.open_regular`: a FIFO, a device or a socket is refused
before a byte is read), and a file that changes while it is read is refused (``X changed while it was read;
add it again``) instead of being recorded with a digest of no version of it.

Large opaque files (ARTIFACT...) are streamed through SHA-256 in fixed chunks: constant memory whatever the
size. XML reports are parsed as they are streamed (:class:`MaterialReader` is the file object the parser
reads). Other structured files (JSON, archives) are read into memory once, up to :data:`MAX_PARSED_BYTES`,
and the same bytes are hashed and parsed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Mapping
from typing import Any

import attrs

from crafter._internal.files import RegularFile, open_regular
from crafter._internal.materials.interface import ANN_SIZE, Crafted, MainComponent, ProgressCallback
from crafter._internal.redaction import json_problem
from crafter.errors import MaterialError

CHUNK = 1 << 20  # 1 MiB: large enough for OpenSSL's SHA-256 to run at full speed
#: Structured formats read into memory (JSON documents, archives) larger than this are refused before they
#: are read: parsing a JSON document takes several times its size in memory.
MAX_PARSED_BYTES = 256 << 20
_CHANGED_ADVICE = "add it again"
_EMPTY_HINT = "materials must have content"


class NamedFileError(MaterialError):
    """A material error whose message already names the file."""


class MaterialFileError(NamedFileError):
    """A problem with a material file itself (missing, not a regular file, unreadable, changed while it was
    read, empty): no kind could accept the file, so auto-detection stops at once."""


class TooLargeToParseError(NamedFileError):
    """The file is larger than a structured kind parses in memory; another kind (ARTIFACT) may take it."""


@attrs.frozen
class FileBytes:
    path: str
    data: bytes
    digest: str  # "sha256:<hex>"

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def filename(self) -> str:
        return os.path.basename(self.path)


class MaterialReader(io.RawIOBase):
    """A material file opened for one read from start to end: every byte read is hashed and counted.

    A binary file object (parsers can read it incrementally). :meth:`finish` reads what is left, refuses an
    empty file and a file that changed while it was read, and returns the digest.
    """

    def __init__(self, path: str, progress: ProgressCallback | None = None) -> None:
        super().__init__()
        self.path = path
        self._file: RegularFile = open_regular(path, error=MaterialFileError)
        self._hash = hashlib.sha256()
        self._progress = progress
        self.done = 0

    @property
    def size_at_open(self) -> int:
        return self._file.size

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes, without reading them (they are hashed when they are read)."""
        return self._file.pread(size, 0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._file.readinto(buffer)
        if n:
            with memoryview(buffer) as view:
                self._count(view[:n])
        return n

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (``-1``: refused, every read of a material is bounded)."""
        if size is None or size < 0:
            raise ValueError("MaterialReader.read needs a size")
        data = self._file.read(size)
        self._count(data)
        return data

    def _count(self, data: bytes | memoryview) -> None:
        if data:
            self._hash.update(data)
            self.done += len(data)
            if self._progress is not None:
                self._progress(self.done, self._file.size)

    def read_all(self, limit: int) -> bytes:
        """The rest of the file, refused when it is larger than ``limit`` (at most ``limit + 1`` bytes read)."""
        if self._file.size > limit:
            raise _too_large(self.path, self._file.size, limit)
        want = limit + 1
        data = self.read(min(want, self._file.size + 1))  # one allocation when the file did not grow
        while len(data) < want and (more := self.read(want - len(data))):
            data += more
        if len(data) > limit:
            raise _too_large(self.path, len(data), limit, at_least=True)
        return data

    def finish(self) -> str:
        """Read to the end, check the file, and return ``sha256:<hex>`` of every byte read."""
        buf = bytearray(CHUNK)
        while self.readinto(buf):
            pass
        if self.done == 0:
            self._file.check_unchanged(0, _CHANGED_ADVICE)
            raise MaterialFileError(f"{self.path}: file is empty", hint=_EMPTY_HINT)
        self._file.check_unchanged(self.done, _CHANGED_ADVICE)
        return "sha256:" + self._hash.hexdigest()


def _too_large(path: str, size: int, limit: int, *, at_least: bool = False) -> TooLargeToParseError:
    more = "at least " if at_least else ""
    return TooLargeToParseError(
        f"{path}: file too large to parse ({more}{size} bytes, limit {limit})",
        hint="add it as an ARTIFACT instead",
    )


def hash_file(path: str, progress: ProgressCallback | None = None) -> tuple[str, int]:
    """Stream ``path`` through SHA-256; returns ``("sha256:<hex>", size)``. Empty files are an error."""
    with MaterialReader(path, progress) as reader:
        digest = reader.finish()
        return digest, reader.done


def read_file(path: str) -> FileBytes:
    """Read ``path`` once into memory (up to :data:`MAX_PARSED_BYTES`) and hash those bytes. Empty files are
    an error."""
    with MaterialReader(path) as reader:
        data = reader.read_all(MAX_PARSED_BYTES)
        digest = reader.finish()
    return FileBytes(path=path, data=data, digest=digest)


def parse_json(fb: FileBytes, what: str) -> Any:
    """Parse the bytes as JSON; ``what`` names the expected format in the error, which gives the position and
    kind of a syntax error, never the file's content (:func:`crafter._internal.redaction.json_problem`)."""
    try:
        return json.loads(fb.data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MaterialError(f"{fb.path}: invalid {what}: not valid JSON ({json_problem(exc)})") from None
    except RecursionError as exc:
        raise MaterialError(f"{fb.path}: invalid {what}: JSON nested too deeply") from exc


def file_record(
    kind: str,
    fb: FileBytes,
    annotations: Mapping[str, str] | None = None,
    main_component: MainComponent | None = None,
) -> Crafted:
    """A file material recorded from bytes read once: digest, base name, size (also as an annotation)."""
    return streamed_file_record(kind, fb.path, fb.digest, fb.size, annotations, main_component)


def streamed_file_record(
    kind: str,
    path: str,
    digest: str,
    size: int,
    annotations: Mapping[str, str] | None = None,
    main_component: MainComponent | None = None,
) -> Crafted:
    """A file material from its digest and size (streamed kinds): digest, base name, size annotation."""
    return Crafted(
        kind=kind,
        digest=digest,
        filename=os.path.basename(path),
        main_component=main_component,
        annotations={**(annotations or {}), ANN_SIZE: str(size)},
        size=size,
    )
