"""Reading the small files users name (keys, certificates, bundles, trust roots): bounded, one-line errors."""

from __future__ import annotations

from pathlib import Path

from crafter.errors import CrafterError

__all__ = ["read_small_file"]


def read_small_file(path: Path, *, what: str, limit: int, error: type[CrafterError] = CrafterError) -> bytes:
    """The bytes of ``path``, or ``error`` naming ``what`` and the file: not found, unreadable, over ``limit``.

    The limit keeps a wrong argument (a disk image given as a key) from being read whole into memory.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError as exc:
        raise error(f"{what} {path} not found") from exc
    except IsADirectoryError as exc:
        raise error(f"{what} {path} is a directory") from exc
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise error(f"{what} {path} is larger than {limit} bytes: not a {what}")
    return data
