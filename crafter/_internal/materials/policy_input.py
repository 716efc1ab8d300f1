"""Reading a material's file for policies: the helpers behind :meth:`MaterialKind.policy_input`.

Only a regular file is read (the material may have been replaced by a FIFO since it was added), with a cap;
an empty file is ``{}``. Problems are :class:`~crafter.errors.PolicyError` naming the file and the material,
never quoting the file's content.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crafter.errors import PolicyError

if TYPE_CHECKING:
    from crafter._internal.materials.reports import Readable

__all__ = ["EMPTY", "json_document", "projected", "read_capped", "read_json"]

#: What :func:`read_json` returns for an empty file.
EMPTY: Any = object()


def read_json(path: str, name: str, kind: str) -> Any:
    """The JSON document in the file of material ``name`` (of ``kind``), or :data:`EMPTY` for an empty file."""
    from crafter._internal.files import open_regular
    from crafter._internal.materials.fileio import MAX_PARSED_BYTES

    with open_regular(path, what=f"material {name!r}", error=PolicyError) as fh:
        if fh.size == 0:
            return EMPTY
        data = fh.read_at_most(MAX_PARSED_BYTES)
        if len(data) > MAX_PARSED_BYTES:
            raise PolicyError(
                f"{path}: material {name!r} is larger than {MAX_PARSED_BYTES} bytes, "
                "too large for policies to read"
            )
    if not data:
        return EMPTY
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        from crafter._internal.redaction import json_problem  # position and kind: never the file's content

        # An ARTIFACT or EVIDENCE that is not JSON: policies see its metadata only, as the reference refuses it.
        raise PolicyError(
            f"{path}: material {name!r} ({kind}) is not JSON, so policies cannot read it "
            f"({json_problem(exc)})"
        ) from None


def json_document(path: str, name: str, kind: str) -> Any:
    """The JSON document in the file of material ``name``; ``{}`` for an empty file."""
    doc = read_json(path, name, kind)
    return {} if doc is EMPTY else doc


def projected(path: str, name: str, projection: Callable[[Readable], Any]) -> Any:
    """``projection`` of the file of material ``name``, parsed as it is read (memory does not grow with the
    file); ``{}`` for an empty file."""
    from crafter._internal.files import open_regular

    with open_regular(path, what=f"material {name!r}", error=PolicyError) as fh:
        if fh.size == 0:
            return {}
        return projection(fh)


def read_capped(source: Readable, path: str, name: str) -> bytes:
    """All of ``source`` (the open file of material ``name``), read in 1 MiB chunks (no buffer sized by the
    cap), refused beyond :data:`~crafter._internal.materials.fileio.MAX_PARSED_BYTES`: for kinds whose documents are
    parsed whole (CycloneDX XML, SPDX tag-value)."""
    from crafter._internal.materials.fileio import CHUNK, MAX_PARSED_BYTES

    chunks: list[bytes] = []
    total = 0
    while chunk := source.read(CHUNK):
        total += len(chunk)
        if total > MAX_PARSED_BYTES:
            raise PolicyError(
                f"{path}: material {name!r} is larger than {MAX_PARSED_BYTES} bytes, too large for policies to read"
            )
        chunks.append(chunk)
    return b"".join(chunks)
