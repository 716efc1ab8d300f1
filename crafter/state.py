"""Where attestations in progress live between commands, and how they are changed safely.

Layout of the state directory (``--state-dir``, ``CRAFTER_STATE_DIR``, default ``./.crafter``)::

    .gitignore                   "*": the directory never dirties a git tree
    current                      the id of the current attestation
    attestations/<id>.json       one versioned state file per attestation
    attestations/<id>.json.lock  the lock held around every read-modify-write

Every change holds the file lock, reads the file, applies the change and replaces the file atomically (temp
file in the same directory, fsync, rename, fsync of the directory), so parallel ``crafter add`` processes
never lose a material and a process killed at any moment leaves either the old or the new file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from crafter.errors import StateError
from crafter.models import CraftingState

FORMAT = "crafter-state"
VERSION = 1
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LOCK_TIMEOUT = 120.0


def default_state_dir(environ: dict[str, str] | None = None, cwd: Path | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("CRAFTER_STATE_DIR"):
        return Path(env["CRAFTER_STATE_DIR"])
    return (cwd or Path.cwd()) / ".crafter"


def encode_state(state: CraftingState) -> bytes:
    doc = {"format": FORMAT, "version": VERSION, "state": state.to_dict()}
    # Compact: json's C encoder only runs without indentation (indenting is several times slower).
    # `crafter status -o json` is the readable view.
    return (json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def decode_state(data: bytes, path: Path) -> CraftingState:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise StateError(
            f"{path}: state file is corrupted (not valid JSON: {exc})",
            hint="it was not changed; inspect it, or discard it with 'crafter reset --attestation-id ID'",
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StateError(
            f"{path}: not a crafter state file",
            hint="it was not changed; point --state-dir at a directory that crafter owns",
        )
    if doc.get("version") != VERSION:
        raise StateError(
            f"{path}: state file version {doc.get('version')!r} is not supported (this crafter reads {VERSION})",
            hint="finish or reset it with the crafter version that created it",
        )
    try:
        return CraftingState.from_dict(doc["state"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StateError(f"{path}: state file is malformed ({type(exc).__name__}: {exc})") from exc


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new content, never a mix."""
    # A unique name beside the target (same filesystem, so the rename is atomic); O_EXCL never reuses one.
    tmp = str(path.parent / f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _write(path: Path, data: bytes) -> None:
    """:func:`write_atomic` for state files: a failure (a full disk, a read-only directory) leaves the
    previous file as it was and is a :class:`StateError`."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise StateError(
            f"{path}: cannot write the state: {exc.strerror or exc}",
            hint="the previous state is intact; free space (or fix permissions) and run the command again",
        ) from exc


@contextlib.contextmanager
def _exclusive_lock(path: str, timeout: float) -> Iterator[None]:
    """An exclusive advisory lock on ``path``, released when the process dies (even by SIGKILL).

    POSIX ``flock`` directly: the ``filelock`` package does the same but costs more to import than a whole
    ``crafter add`` of a string. Elsewhere, ``filelock``.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import filelock

        try:
            with filelock.FileLock(path, timeout=timeout):
                yield
        except filelock.Timeout as exc:
            raise TimeoutError(path) from exc
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(path) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@attrs.frozen
class StateEntry:
    """One attestation found in the state directory, or why it could not be read."""

    attestation_id: str
    path: Path
    state: CraftingState | None
    error: str | None = None


class StateStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._attestations = directory / "attestations"

    # -- paths ---------------------------------------------------------------------------------------
    def path_of(self, attestation_id: str) -> Path:
        if not _ID.match(attestation_id):
            raise StateError(f"invalid attestation id {attestation_id!r}")
        return self._attestations / f"{attestation_id}.json"

    def _ensure_dir(self) -> None:
        try:
            self._attestations.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                write_atomic(ignore, b"# created by crafter: attestation state never belongs in git\n*\n")
        except OSError as exc:
            raise StateError(f"{self.directory}: cannot create the state directory: {exc.strerror}") from exc

    @contextlib.contextmanager
    def _lock(self, attestation_id: str) -> Iterator[None]:
        path = str(self.path_of(attestation_id)) + ".lock"
        try:
            with _exclusive_lock(path, LOCK_TIMEOUT):
                yield
        except TimeoutError as exc:
            raise StateError(
                f"{self.path_of(attestation_id)}: could not lock the state file within {LOCK_TIMEOUT:.0f} s",
                hint="another crafter process holds it; retry when it has finished",
            ) from exc

    # -- current attestation -------------------------------------------------------------------------
    def current_id(self) -> str | None:
        pointer = self.directory / "current"
        try:
            raw = pointer.read_bytes()[:4096]  # an id is 36 characters; more is not a pointer file
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"{pointer}: cannot read: {exc.strerror}") from exc
        try:
            value = raw.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            raise StateError(
                f"{pointer}: not an attestation id (not UTF-8 text)",
                hint="pass --attestation-id ID ('crafter status --all' lists them), or remove the file",
            ) from exc
        return value or None

    def set_current(self, attestation_id: str | None) -> None:
        self._ensure_dir()
        target = self.directory / "current"
        if attestation_id is None:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
        else:
            _write(target, attestation_id.encode() + b"\n")

    def resolve(self, attestation_id: str | None) -> str:
        """The given id, or the current one; an error when there is none or it does not exist."""
        chosen = attestation_id or self.current_id()
        if chosen is None:
            raise StateError(
                f"no attestation in progress in {self.directory}",
                hint="start one with 'crafter init', or pass --attestation-id / --state-dir",
            )
        if not self.path_of(chosen).exists():
            raise StateError(
                f"attestation {chosen} not found in {self.directory}",
                hint="'crafter status --all' lists the attestations in progress",
            )
        return chosen

    # -- reading and writing -------------------------------------------------------------------------
    def create(self, state: CraftingState) -> Path:
        self._ensure_dir()
        path = self.path_of(state.attestation_id)
        with self._lock(state.attestation_id):
            if path.exists():
                raise StateError(f"{path}: attestation {state.attestation_id} already exists")
            _write(path, encode_state(state))
        return path

    def load(self, attestation_id: str) -> CraftingState:
        path = self.path_of(attestation_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StateError(f"attestation {attestation_id} not found in {self.directory}") from None
        except OSError as exc:
            raise StateError(f"{path}: cannot read: {exc.strerror}") from exc
        return decode_state(data, path)

    def update(self, attestation_id: str, change: Callable[[CraftingState], CraftingState]) -> CraftingState:
        """Apply ``change`` under the lock and persist its result atomically; returns the new state."""
        path = self.path_of(attestation_id)
        with self._lock(attestation_id):
            new = change(self.load(attestation_id))
            _write(path, encode_state(new))
        return new

    def delete(self, attestation_id: str) -> Path:
        """Remove an attestation (a corrupted one too: this is an explicit user action)."""
        path = self.path_of(attestation_id)
        with self._lock(attestation_id):
            try:
                path.unlink()
            except FileNotFoundError:
                raise StateError(f"attestation {attestation_id} not found in {self.directory}") from None
        with contextlib.suppress(OSError):
            Path(str(path) + ".lock").unlink()
        if self.current_id() == attestation_id:
            self.set_current(None)
        return path

    def entries(self) -> list[StateEntry]:
        """Every attestation in progress, oldest first; unreadable ones are listed with their error."""
        if not self._attestations.is_dir():
            return []
        out: list[StateEntry] = []
        for path in self._attestations.glob("*.json"):
            aid = path.name[: -len(".json")]
            try:
                out.append(StateEntry(aid, path, self.load(aid)))
            except StateError as exc:
                out.append(StateEntry(aid, path, None, exc.message))
        return sorted(
            out, key=lambda e: (e.state.attestation.initialized_at if e.state else "", e.attestation_id)
        )


def state_summary(state: CraftingState) -> dict[str, Any]:
    a = state.attestation
    return {
        "attestationID": state.attestation_id,
        "workflow": a.workflow.name,
        "project": a.workflow.project,
        "initializedAt": a.initialized_at,
        "materials": len(a.materials),
    }
