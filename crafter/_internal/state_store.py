"""Where attestations in progress live between commands, and how they are changed safely.

Layout of the state directory (``--state-dir``, ``CRAFTER_STATE_DIR``, default ``./.crafter``)::

    .gitignore                   "*": the directory never dirties a git tree
    current                      the id of the current attestation
    attestations/<id>.json       one versioned state file per attestation (the snapshot)
    attestations/<id>.journal    what was added since the snapshot, one framed record per add
    attestations/<id>.json.lock  the lock held around every change

An ``add`` holds the file lock and appends one record to the journal (one ``write``, then ``fsync``): its cost
does not grow with the attestation (a snapshot under :data:`JOURNAL_MIN_BYTES` is simply rewritten). Readers fold the snapshot and the journal's records. A record is framed
(``R <length> <sha256>`` line, then the JSON body) so that a record torn by a crash is recognised and ignored
with a warning; records are numbered, and the snapshot says up to which number it holds, so a journal folded
into a snapshot is never applied twice. Compaction (past :data:`COMPACT_RECORDS` records, or when the journal
outgrows the snapshot) and every other change replace the snapshot atomically (temp file in the same
directory, fsync, rename, fsync of the directory) and only then remove the journal. Parallel ``crafter add``
processes never lose a material, and a process killed at any moment leaves the old or the new state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from crafter._internal.crafting_state import CraftingState, Material
from crafter._internal.policy_record import PolicyEvaluation
from crafter.errors import StateError

log = logging.getLogger("crafter")

FORMAT = "crafter-state"
VERSION = 1
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LOCK_TIMEOUT = 120.0
#: Below this size, a snapshot without a journal is rewritten by ``add`` (as cheap as an append).
JOURNAL_MIN_BYTES = 64 << 10
#: A journal of this many records is folded into the snapshot by the add that writes the last one.
COMPACT_RECORDS = 64
#: ... and so is a journal larger than the snapshot and than this many bytes.
COMPACT_MIN_BYTES = 256 << 10


def default_state_dir(environ: dict[str, str] | None = None, cwd: Path | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("CRAFTER_STATE_DIR"):
        return Path(env["CRAFTER_STATE_DIR"])
    return (cwd or Path.cwd()) / ".crafter"


def encode_state(state: CraftingState, journal_seq: int = 0) -> bytes:
    """The snapshot file: ``journal_seq`` is the number of the last journal record it holds."""
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    if journal_seq:
        doc["journalSeq"] = journal_seq
    doc["state"] = state.to_dict()
    # Compact: json's C encoder only runs without indentation (indenting is several times slower).
    # `crafter status -o json` is the readable view.
    return (json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def decode_state(data: bytes, path: Path | str) -> CraftingState:
    return _decode_snapshot(data, path)[0]


def _decode_snapshot(data: bytes, path: Path | str) -> tuple[CraftingState, int]:
    """The state in a snapshot file and the number of the last journal record it holds."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise StateError(
            f"{path}: state file is corrupted (not valid JSON: {exc})",
            hint="it was not changed; inspect it, or discard it with 'crafter reset --attestation-id ID'",
        ) from exc
    return _decode_snapshot_doc(doc, path)


def _decode_snapshot_doc(doc: Any, path: Path | str) -> tuple[CraftingState, int]:
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
    seq = doc.get("journalSeq", 0)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise StateError(f"{path}: state file is malformed (journalSeq {seq!r})")
    try:
        return CraftingState.from_dict(doc["state"]), seq
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StateError(f"{path}: state file is malformed ({type(exc).__name__}: {exc})") from exc


_SEQ_PREFIX = re.compile(
    rb'\{"format":"crafter-state","version":1,(?:"journalSeq":([1-9][0-9]{0,17}),)?"state":'
)


def _decode_base(data: bytes, path: Path) -> tuple[CraftingState, int, frozenset[str]]:
    """A snapshot's state without its materials (and their evaluations' objects), the number of its last
    journal record, and the recorded materials' names: what an add needs, at the cost of ``json.loads``."""
    try:
        doc = json.loads(data)
        inner = doc["state"]
        attestation = dict(inner["attestation"])
        names = frozenset(attestation.get("materials") or {})
    except (ValueError, KeyError, TypeError):
        state, seq = _decode_snapshot(data, path)  # the whole decode reports what is wrong
        return state, seq, frozenset(state.attestation.materials)
    attestation["materials"] = {}
    light = {**doc, "state": {**inner, "attestation": attestation}}
    state, seq = _decode_snapshot_doc(light, path)
    return state, seq, names


def _snapshot_seq(data: bytes, path: Path) -> int:
    """The snapshot's record number, read from the start of the file as :func:`encode_state` writes it (a
    file written otherwise is decoded whole)."""
    match = _SEQ_PREFIX.match(data)
    if match is None:
        return _decode_snapshot(data, path)[1]
    return int(match.group(1) or 0)


# -- the journal ---------------------------------------------------------------------------------------------
def encode_record(
    seq: int, materials: Sequence[Material], evaluations: Mapping[str, Sequence[PolicyEvaluation]]
) -> bytes:
    """One journal record: a header line ``R <length> <sha256 hex of the body>``, the JSON body, a newline."""
    body = json.dumps(
        {
            "seq": seq,
            "materials": [m.to_dict() for m in materials],
            "evaluations": {k: [e.to_dict() for e in v] for k, v in evaluations.items()},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return b"R %d %s\n" % (len(body), hashlib.sha256(body).hexdigest().encode()) + body + b"\n"


@attrs.frozen
class JournalScan:
    """The whole records of a journal, where they end, and whether a torn record follows them."""

    records: tuple[dict[str, Any], ...]
    end: int  # bytes of whole records
    torn: bool  # bytes after `end` that are the beginning of a record a crash interrupted


def _corrupted(path: Path, offset: int, why: str) -> StateError:
    return StateError(
        f"{path}: journal is corrupted at byte {offset} ({why})",
        hint="it was not changed; inspect it, or discard the attestation with 'crafter reset --attestation-id ID'",
    )


def scan_journal(data: bytes, path: Path) -> JournalScan:
    """Parse a journal. A record cut short by the end of the file (a crash while appending: a prefix of the
    record, or its full length with wrong bytes) is a torn tail; a bad record followed by more data is
    corruption (a :class:`StateError`): nothing after it could be trusted."""
    records: list[dict[str, Any]] = []
    pos, size = 0, len(data)
    while pos < size:
        nl = data.find(b"\n", pos)
        if nl < 0:  # the rest has no newline: a header cut short (or blocks a crash left zeroed)
            return JournalScan(tuple(records), pos, True)
        parts = data[pos:nl].split(b" ")
        if len(parts) != 3 or parts[0] != b"R" or not parts[1].isdigit() or len(parts[2]) != 64:
            raise _corrupted(path, pos, "bad record header")
        length = int(parts[1])
        start, end = nl + 1, nl + 1 + length + 1
        if end > size:
            return JournalScan(tuple(records), pos, True)
        body = data[start : start + length]
        if data[end - 1 : end] != b"\n" or hashlib.sha256(body).hexdigest().encode() != parts[2]:
            if end == size:
                return JournalScan(tuple(records), pos, True)
            raise _corrupted(path, pos, "checksum mismatch")
        try:
            record = json.loads(body)
        except ValueError as exc:
            raise _corrupted(path, pos, f"not JSON: {exc}") from exc
        if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
            raise _corrupted(path, pos, "not a journal record")
        records.append(record)
        pos = end
    return JournalScan(tuple(records), pos, False)


def fold(
    state: CraftingState, seq: int, records: Sequence[Mapping[str, Any]], path: Path
) -> tuple[CraftingState, int]:
    """``state`` (holding records up to ``seq``) with the later records applied in order; the last number."""
    for record in records:
        n = record["seq"]
        if n <= seq:
            continue  # already in the snapshot (a compaction stopped before removing the journal)
        if n != seq + 1:
            raise StateError(f"{path}: journal is corrupted (record {n} follows record {seq})")
        try:
            materials = [Material.from_dict(str(d["id"]), d) for d in record["materials"]]
            evaluations = {
                str(k): tuple(map(PolicyEvaluation.from_dict, v))
                for k, v in dict(record["evaluations"]).items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(
                f"{path}: journal record {n} is malformed ({type(exc).__name__}: {exc})"
            ) from exc
        state = state.with_added(materials, evaluations)
        seq = n
    return state, seq


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


def _sync_dir(directory: Path) -> None:
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _write_error(path: Path, exc: OSError) -> StateError:
    return StateError(
        f"{path}: cannot write the state: {exc.strerror or exc}",
        hint="the previous state is intact; free space (or fix permissions) and run the command again",
    )


def _write(path: Path, data: bytes) -> None:
    """:func:`write_atomic` for state files: a failure (a full disk, a read-only directory) leaves the
    previous file as it was and is a :class:`StateError`."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise _write_error(path, exc) from exc


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
class _Read:
    """What a store read last of an attestation: the snapshot's bytes, the journal's whole records, the state."""

    snapshot: bytes
    journal: bytes
    state: CraftingState
    seq: int


@attrs.frozen
class Sealed:
    """The policy sources an attestation's ``init`` resolved (by location, as
    :meth:`crafter._internal.policies.loader.PolicyLoader.sources` keys them) and the directory relative references were
    resolved from: with remote state, every runner evaluates these, without the contract's files."""

    sources: Mapping[str, bytes]
    cwd: Path


@attrs.frozen
class BaseState:
    """What an ``add`` builds on: the attestation without its recorded materials (an add replaces them by
    name and reads none), and their names (to say when one is replaced). Its cost does not grow with the
    number of materials recorded, but for reading the snapshot."""

    state: CraftingState
    recorded: frozenset[str] = frozenset()


@attrs.frozen
class StateEntry:
    """One attestation found in the state directory (or a remote state's repository), or why it could not be
    read."""

    attestation_id: str
    path: Path | str  # the state file, or the registry tag of a remote state
    state: CraftingState | None
    error: str | None = None


class StateStore:
    """Attestations in progress in a local directory (the module docstring says how it is kept safe).

    :class:`crafter._internal.storage.remote_state.RemoteStateStore` has the same methods for a state in a registry."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._attestations = directory / "attestations"
        self._cache: dict[str, _Read] = {}

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
    def journal_of(self, attestation_id: str) -> Path:
        return self._attestations / f"{self.path_of(attestation_id).stem}.journal"

    def describe(self) -> str:
        return str(self.directory)

    def sealed(self, attestation_id: str) -> Sealed | None:
        """Local attestations load their policies from their references at each command."""
        return None

    def create(
        self, state: CraftingState, *, sources: Mapping[str, bytes] | None = None, cwd: Path | None = None
    ) -> Path:
        """Store a new attestation (``sources`` and ``cwd``, the policies init resolved, are for remote
        state: a local attestation reads its policies where its contract names them)."""
        self._ensure_dir()
        path = self.path_of(state.attestation_id)
        with self._lock(state.attestation_id):
            if path.exists():
                raise StateError(f"{path}: attestation {state.attestation_id} already exists")
            with contextlib.suppress(FileNotFoundError):  # left by a state removed by hand
                self.journal_of(state.attestation_id).unlink()
            _write(path, encode_state(state))
        return path

    def _read(self, path: Path, attestation_id: str) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"{path}: cannot read: {exc.strerror}") from exc

    def _read_files(self, attestation_id: str) -> tuple[bytes, bytes]:
        """The snapshot's bytes and the journal's. The journal is read first: a compaction in between only
        makes the snapshot newer, and its number then covers every record read."""
        journal = self._read(self.journal_of(attestation_id), attestation_id) or b""
        snapshot = self._read(self.path_of(attestation_id), attestation_id)
        if snapshot is None:
            raise StateError(f"attestation {attestation_id} not found in {self.directory}")
        return snapshot, journal

    def _load(self, attestation_id: str, locked: bool) -> tuple[CraftingState, int]:
        """The folded state and the number of its last record.

        Without the lock, a torn tail may be an append in progress: it is read again under the lock before it
        is reported. A snapshot identical to the one this store read last (byte for byte), with a journal that
        begins as it did, is not parsed again: only the new records are folded into the state read then."""
        path, journal = self.path_of(attestation_id), self.journal_of(attestation_id)
        snapshot, data = self._read_files(attestation_id)
        cached = self._cache.get(attestation_id)
        reuse = cached is not None and cached.snapshot == snapshot and data.startswith(cached.journal)
        skip = len(cached.journal) if reuse and cached is not None else 0
        scan = scan_journal(data[skip:], journal)
        if scan.torn and not locked:
            try:
                with self._lock(attestation_id):
                    return self._load(attestation_id, True)
            except OSError:
                pass  # the lock cannot be taken (a read-only directory): the journal as read
        if scan.torn:
            log.warning(
                "%s: the last record (from byte %d) is incomplete, left by an interrupted add: ignored",
                journal,
                skip + scan.end,
            )
        if reuse and cached is not None:
            state, seq = cached.state, cached.seq
        else:
            state, seq = _decode_snapshot(snapshot, path)
        state, seq = fold(state, seq, scan.records, journal)
        self._cache[attestation_id] = _Read(snapshot, data[: skip + scan.end], state, seq)
        return state, seq

    def load(self, attestation_id: str) -> CraftingState:
        return self._load(attestation_id, False)[0]

    def load_base(self, attestation_id: str) -> BaseState:
        """What an ``add`` builds on (:class:`BaseState`): the snapshot without its materials, and the
        journal's records. A torn last record is left for :meth:`append`, which removes it under the lock."""
        path, journal = self.path_of(attestation_id), self.journal_of(attestation_id)
        snapshot, data = self._read_files(attestation_id)
        state, seq, names = _decode_base(snapshot, path)
        records = scan_journal(data, journal).records
        state, _ = fold(state, seq, records, journal)
        return BaseState(state, names | frozenset(state.attestation.materials))

    def update(self, attestation_id: str, change: Callable[[CraftingState], CraftingState]) -> CraftingState:
        """Apply ``change`` under the lock and persist its result atomically (a new snapshot, the journal
        folded into it); returns the new state."""
        with self._lock(attestation_id):
            state, seq = self._load(attestation_id, True)
            new = change(state)
            self._replace(attestation_id, new, seq)
        return new

    def _replace(self, attestation_id: str, state: CraftingState, seq: int) -> None:
        """Under the lock: write the snapshot (holding records up to ``seq``), then remove the journal. A crash
        between the two leaves a journal whose records the snapshot's number says are already in it."""
        _write(self.path_of(attestation_id), encode_state(state, seq))
        journal = self.journal_of(attestation_id)
        try:
            journal.unlink()
        except FileNotFoundError:
            return
        except OSError:  # the snapshot holds it all; the journal is skipped until the next compaction
            return
        _sync_dir(journal.parent)

    def append(
        self,
        attestation_id: str,
        materials: Sequence[Material],
        evaluations: Mapping[str, Sequence[PolicyEvaluation]],
    ) -> None:
        """Record ``materials`` (replacing those of the same name) and their policy evaluations (replacing the
        ones stored for those names): one record appended to the journal under the lock, then ``fsync``.
        The cost does not grow with the attestation, but for the compaction every :data:`COMPACT_RECORDS`."""
        path, journal = self.path_of(attestation_id), self.journal_of(attestation_id)
        with self._lock(attestation_id):
            snapshot_size = _size(path)
            if snapshot_size is None:
                raise StateError(f"attestation {attestation_id} not found in {self.directory}")
            created = not journal.exists()
            if created and snapshot_size < JOURNAL_MIN_BYTES:  # rewriting a small snapshot costs no more
                state, seq = self._load(attestation_id, True)
                self._replace(attestation_id, state.with_added(materials, evaluations), seq)
                return
            try:
                fd = os.open(journal, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError as exc:
                raise _write_error(journal, exc) from exc
            try:
                with os.fdopen(fd, "r+b") as fh:
                    scan = scan_journal(fh.read(), journal)
                    if scan.records:
                        seq = int(scan.records[-1]["seq"])
                    else:  # a new journal continues the snapshot's numbering
                        seq = _snapshot_seq(path.read_bytes(), path)
                    if scan.torn:
                        log.warning(
                            "%s: removed an incomplete last record (from byte %d), left by an interrupted add",
                            journal,
                            scan.end,
                        )
                    record = encode_record(seq + 1, materials, evaluations)
                    try:
                        fh.seek(scan.end)
                        fh.truncate()
                        fh.write(record)
                        fh.flush()
                        os.fsync(fh.fileno())
                    except OSError as exc:
                        with contextlib.suppress(OSError):  # else readers ignore the torn record
                            fh.truncate(scan.end)
                            os.fsync(fh.fileno())
                        raise _write_error(journal, exc) from exc
                    size = scan.end + len(record)
            except OSError as exc:
                raise _write_error(journal, exc) from exc
            if created:
                _sync_dir(journal.parent)
            if len(scan.records) + 1 >= COMPACT_RECORDS or size > max(snapshot_size, COMPACT_MIN_BYTES):
                try:
                    self._compact(attestation_id)
                except StateError as exc:  # the record is safe in the journal: the add succeeded
                    log.warning("%s; the journal keeps the records", exc.message)

    def _compact(self, attestation_id: str) -> None:
        """Under the lock: fold the journal into a new snapshot."""
        state, seq = self._load(attestation_id, True)
        self._replace(attestation_id, state, seq)

    def compact(self, attestation_id: str) -> None:
        """Fold the journal into the snapshot now (``add`` does it when the journal grows)."""
        with self._lock(attestation_id):
            self._compact(attestation_id)

    def delete(self, attestation_id: str) -> Path:
        """Remove an attestation (a corrupted one too: this is an explicit user action)."""
        path = self.path_of(attestation_id)
        with self._lock(attestation_id):
            try:
                path.unlink()
            except FileNotFoundError:
                raise StateError(f"attestation {attestation_id} not found in {self.directory}") from None
            with contextlib.suppress(OSError):
                self.journal_of(attestation_id).unlink()
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
        return oldest_first(out)


def oldest_first(entries: Sequence[StateEntry]) -> list[StateEntry]:
    """Attestations in the order they were started (unreadable ones first), then by id."""
    return sorted(
        entries, key=lambda e: (e.state.attestation.initialized_at if e.state else "", e.attestation_id)
    )


class StateBackend(Protocol):
    """Where attestations in progress are kept: :class:`StateStore` (a directory) or
    :class:`crafter._internal.storage.remote_state.RemoteStateStore` (an OCI registry)."""

    def describe(self) -> str: ...
    def current_id(self) -> str | None: ...
    def set_current(self, attestation_id: str | None) -> None: ...
    def resolve(self, attestation_id: str | None) -> str: ...
    def create(
        self, state: CraftingState, *, sources: Mapping[str, bytes] | None = None, cwd: Path | None = None
    ) -> Path | str: ...
    def sealed(self, attestation_id: str) -> Sealed | None: ...
    def load(self, attestation_id: str) -> CraftingState: ...
    def load_base(self, attestation_id: str) -> BaseState: ...
    def append(
        self,
        attestation_id: str,
        materials: Sequence[Material],
        evaluations: Mapping[str, Sequence[PolicyEvaluation]],
    ) -> None: ...
    def update(
        self, attestation_id: str, change: Callable[[CraftingState], CraftingState]
    ) -> CraftingState: ...
    def delete(self, attestation_id: str) -> Path | str: ...
    def entries(self) -> list[StateEntry]: ...


def state_summary(state: CraftingState) -> dict[str, Any]:
    a = state.attestation
    return {
        "attestationID": state.attestation_id,
        "workflow": a.workflow.name,
        "project": a.workflow.project,
        "initializedAt": a.initialized_at,
        "materials": len(a.materials),
    }
