"""Reading material files: each file is read once, hashed while it is read.

Large opaque files (ARTIFACT...) are streamed through SHA-256 in fixed chunks: constant memory whatever the
size. Structured files (JSON, XML...) are read into memory once, and the same bytes are hashed and parsed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

import attrs

from crafter.errors import MaterialError
from crafter.materials.interface import ANN_SIZE, Crafted, MainComponent, ProgressCallback

CHUNK = 1 << 20  # 1 MiB: large enough for OpenSSL's SHA-256 to run at full speed
#: Structured formats are parsed in memory; beyond this size they are refused rather than exhausting memory.
MAX_PARSED_BYTES = 2 << 30


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


def _open_error(path: str, exc: OSError) -> MaterialError:
    if isinstance(exc, FileNotFoundError):
        return MaterialError(f"{path}: file not found")
    if isinstance(exc, IsADirectoryError):
        return MaterialError(f"{path}: is a directory, not a file")
    if isinstance(exc, PermissionError):
        return MaterialError(f"{path}: permission denied")
    return MaterialError(f"{path}: cannot read file: {exc.strerror or exc}")


def hash_file(path: str, progress: ProgressCallback | None = None) -> tuple[str, int]:
    """Stream ``path`` through SHA-256; returns ``("sha256:<hex>", size)``. Empty files are an error."""
    h = hashlib.sha256()
    done = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    try:
        with open(path, "rb", buffering=0) as fh:
            total = os.fstat(fh.fileno()).st_size
            while True:
                n = fh.readinto(buf)
                if not n:
                    break
                h.update(view[:n])
                done += n
                if progress is not None:
                    progress(done, total)
    except OSError as exc:
        raise _open_error(path, exc) from exc
    if done == 0:
        raise MaterialError(f"{path}: file is empty", hint="materials must have content")
    return "sha256:" + h.hexdigest(), done


def read_file(path: str) -> FileBytes:
    """Read ``path`` once into memory and hash those bytes. Empty files are an error."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_PARSED_BYTES:
                raise MaterialError(
                    f"{path}: file too large to parse ({size} bytes)",
                    hint="add it as an ARTIFACT instead",
                )
            data = fh.read()
    except OSError as exc:
        raise _open_error(path, exc) from exc
    if not data:
        raise MaterialError(f"{path}: file is empty", hint="materials must have content")
    return FileBytes(path=path, data=data, digest="sha256:" + hashlib.sha256(data).hexdigest())


def parse_json(fb: FileBytes, what: str) -> Any:
    """Parse the bytes as JSON; ``what`` names the expected format in the error."""
    try:
        return json.loads(fb.data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MaterialError(f"{fb.path}: invalid {what}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise MaterialError(f"{fb.path}: invalid {what}: JSON nested too deeply") from exc


def file_record(
    kind: str,
    fb: FileBytes,
    annotations: Mapping[str, str] | None = None,
    main_component: MainComponent | None = None,
) -> Crafted:
    """A file material recorded from bytes read once: digest, base name, size (also as an annotation)."""
    return Crafted(
        kind=kind,
        digest=fb.digest,
        filename=fb.filename,
        main_component=main_component,
        annotations={**(annotations or {}), ANN_SIZE: str(fb.size)},
        size=fb.size,
    )
