"""The content store ``--replay --cas`` reads: opened from its spec, and the bytes of the materials a replay
reads fetched by digest and checked against it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.verify.result import MaterialCheck
from crafter._internal.verify.statement import policy_evaluations
from crafter.errors import UsageError

if TYPE_CHECKING:
    from crafter._internal.storage.interface import ContentStore


def open_content_store(
    spec: str, *, insecure: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> ContentStore:
    """The content store ``crafter add --cas SPEC`` wrote to; a directory must exist (a mistyped path would
    otherwise only show as materials "not in the content store"). ``timeout``: the deadline of each registry
    request (``--http-timeout``)."""
    from crafter._internal.storage import content_store
    from crafter._internal.storage.schemes import store_scheme

    if store_scheme(spec) == "file" and not Path(spec).is_dir():
        raise UsageError(f"content store {spec}: no such directory")
    return content_store(spec, insecure=insecure, timeout=timeout)


def fetch_from_cas(
    cas: ContentStore,
    predicate: Mapping[str, Any],
    descriptors: Mapping[str, Mapping[str, Any]],
    local: Mapping[str, Path],
    tmp: Path,
) -> tuple[dict[str, Path], dict[str, str], tuple[MaterialCheck, ...]]:
    """Fetch, by digest, the bytes of every material a replayed evaluation reads and no local file matches.

    Returns the files written under ``tmp`` (by hex digest), why the others could not be had (by hex digest),
    and one check per fetch: bytes that do not match their digest are a mismatch (exit code 12), whether the
    store itself noticed or this check did. A store that cannot be reached raises its :class:`StoreError`.
    """
    from crafter._internal.policies.inputs import _NOT_READ
    from crafter._internal.storage.interface import ContentDigestError, ContentNotFoundError, StoreError

    paths: dict[str, Path] = {}
    reasons: dict[str, str] = {}
    checks: list[MaterialCheck] = []
    for material, ev in policy_evaluations(predicate):
        descriptor = descriptors.get(material)
        if not material or descriptor is None or str(ev.get("type", "")) in _NOT_READ:
            continue
        sha = str((descriptor.get("digest") or {}).get("sha256", ""))
        if not sha or sha in local or sha in paths or sha in reasons:
            continue
        digest, label = f"sha256:{sha}", f"material {material!r}"
        blob = f"{cas.location()}@{digest}"
        path = tmp / sha
        try:
            cas.download_to(digest, path)  # streamed by stores that can: materials may be large
        except ContentNotFoundError:
            reasons[sha] = (
                f"no local file with the digest of {label} ({digest}) and not in the content store "
                f"{cas.location()} (not uploaded: skipUpload, or added without --cas)"
            )
            continue
        except ContentDigestError:
            path.unlink(missing_ok=True)
        except StoreError as exc:  # unreachable, refused: fatal, or every material would be "not replayed"
            raise StoreError(f"content store {cas.location()}: {exc.message}", hint=exc.hint) from exc
        got = _file_digest(path) if path.is_file() else ""
        if got != digest:
            path.unlink(missing_ok=True)
            found = f" (they hash to {got})" if got else ""
            checks.append(
                MaterialCheck(
                    blob,
                    got,
                    problem=f"{blob}: digest mismatch for {label}: the content store's bytes are not the "
                    f"recorded ones{found}",
                    source="cas",
                )
            )
            reasons[sha] = f"the content store's bytes for {label} do not match its digest {digest}"
            continue
        paths[sha] = path
        checks.append(MaterialCheck(blob, digest, matched=label, source="cas"))
    return paths, reasons, tuple(checks)


def _file_digest(path: Path) -> str:
    with path.open("rb") as fh:
        return "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()
