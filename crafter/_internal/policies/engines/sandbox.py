"""Where Rego runs: a thread-safe pool of worker processes with a time limit, a memory cap and a clean environment.

regopy has no timeout or cancel API, prints to file descriptor 1 from native code, and ``opa.runtime()`` hands
the whole process environment to the policy (libraries-measured.md, section 2 and Addendum). So policies never
run in crafter's process: each evaluation goes to a warm worker process that

* was started as a fresh interpreter (the ``spawn`` model: ``exec`` of ``sys.executable``, never a fork of
  crafter) with an environment holding at most PATH, LANG, LC_ALL and TZ. ``multiprocessing``'s spawn cannot be
  given an environment without changing crafter's own, so the worker is started with :mod:`subprocess` and
  talks over two pipes with :class:`multiprocessing.connection.Connection` framing;
* caps its address space (``RLIMIT_AS``) for the duration of each job: the worker's size when the job starts
  plus ``limits.memory_bytes`` (regopy reserves a very large arena at import, so an absolute cap would leave
  it no room at all), plus what regopy needs to hold the job's input (:func:`input_bytes`, at most
  :data:`INPUT_ALLOWANCE_MAX`): the cap bounds what a policy builds, and a large SBOM is not refused for its
  own size;
* redirects file descriptor 1 to a file around each evaluation: native prints never reach crafter's stdout,
  and ``print()`` output comes back as data.

The caller's thread waits at most ``limits.timeout`` for the answer; then the worker is killed (SIGKILL) and
a fresh one takes its place on the next job. A worker that dies (segfault, abort on ``std::bad_alloc``) is
replaced the same way. Workers die with crafter: they exit on end-of-file from the parent, a watchdog thread
in each worker ends it when its parent process is gone (mid-evaluation too), and a finalizer kills them all
at interpreter exit.

The worker side (what runs the policy) is in :mod:`crafter._internal.policies.engines._rego_worker`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import IO, Any

import attrs

from crafter.errors import PolicyError

ENV_KEPT = ("PATH", "LANG", "LC_ALL", "TZ")
STARTUP_TIMEOUT = 60.0  # seconds for a worker to import its engine; not part of any policy's time
TIMEOUT_HINT = "give it more time with --policy-timeout, or with `timeout` on the policy attachment"
MEMORY_HINT = (
    "the policy built documents larger than the memory cap of one evaluation; raise it with "
    "--rego-memory-mib (the verifier's memory_bytes)"
)
INPUT_BYTES_PER_VALUE = 800  # regopy's cost of one input value, with a margin (input_bytes)
#: The most a job's input may add to its memory cap: a 45 MB SBOM of 50,000 components needs about 3.4 GiB.
INPUT_ALLOWANCE_MAX = 6 << 30
_OOM_MARKS = ("bad_alloc", "MemoryError", "out of memory", "cannot allocate memory")
_FATAL_PREFIXES = ("fatal error", "terminate called", "Fatal Python error", "what():", "runtime:")
_BOOT = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "from crafter._internal.policies.engines._rego_worker import main; main(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])"
)


@attrs.frozen
class Job:
    """One query for a worker: a module, its input, and the limits that apply."""

    policy: str  # the policy's name, for messages
    source: str  # the Rego module as it will run
    query: str  # e.g. ``data.main.result``
    input_json: bytes
    args: Mapping[str, Any] | None  # set as ``input.args`` (None: leave the input as it is)
    timeout: float
    memory_bytes: int  # what the policy may build (--rego-memory-mib)
    backend: str = "regopy"  # "regopy" or "opa"
    # built-ins the module must not name (exact names, and name prefixes): the opa backend checks them again
    # on OPA's own parse of the module before loading it (regopy has no parser API and no network built-ins)
    denied_names: tuple[str, ...] = ()
    denied_prefixes: tuple[str, ...] = ()


@attrs.frozen
class Outcome:
    """A worker's answer: the query's value (``defined`` False when undefined) and the policy's prints."""

    defined: bool
    value: Any
    prints: tuple[str, ...] = ()


class Sandbox:
    """A pool of up to ``workers`` Rego worker processes (default: one per core), shared by threads."""

    def __init__(self, workers: int | None = None, *, preload: str = "regopy") -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.max_workers = workers or os.cpu_count() or 1
        self.preload = preload  # the backend each worker loads before it says it is ready
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._cond = threading.Condition()
        self._closed = False
        # at exit (or when the pool is dropped) every worker still alive is killed, busy ones included
        self._finalizer = weakref.finalize(self, _kill_all, self._all)

    def run(self, job: Job) -> Outcome:
        """Run ``job`` in a warm worker; :class:`PolicyError` on timeout, memory, crash or policy error."""
        worker = self._acquire(job.policy)
        try:
            return worker.run(job)
        finally:
            self._release(worker)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            self._forget(worker)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _acquire(self, policy: str) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise PolicyError(f'policy "{policy}": the Rego sandbox is closed')
                if self._idle:
                    return self._idle.pop()
                if len(self._all) < self.max_workers:
                    placeholder = _Starting()
                    self._all.add(placeholder)
                    break
                self._cond.wait()
        try:
            worker = _Worker.start(policy, self.preload)
        except BaseException:
            with self._cond:
                self._all.discard(placeholder)
                self._cond.notify()
            raise
        with self._cond:
            self._all.discard(placeholder)
            self._all.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if worker.alive and not self._closed:
                self._idle.append(worker)
                self._cond.notify()
                return
        self._forget(worker)

    def _forget(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            self._all.discard(worker)
            self._cond.notify()


class _Worker:
    """One worker process and its two pipes. Used by one thread at a time."""

    def __init__(self, proc: subprocess.Popen[bytes], send: Connection, recv: Connection, stderr: IO[bytes]):
        self.proc = proc
        self.send = send
        self.recv = recv
        self.stderr = stderr
        self.alive = True

    @classmethod
    def start(cls, policy: str, preload: str) -> _Worker:
        job_r, job_w = os.pipe()
        out_r, out_w = os.pipe()
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the worker's life, read after a crash
        argv = [
            sys.executable,
            "-I",
            "-c",
            _BOOT,
            json.dumps(sys.path),
            str(job_r),
            str(out_w),
            str(os.getpid()),
            preload,
        ]
        try:
            proc = subprocess.Popen(
                argv,
                env=clean_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                pass_fds=(job_r, out_w),
                close_fds=True,
            )
        except (OSError, ValueError) as exc:  # ValueError: no pass_fds on this platform (Windows)
            os.close(job_w)
            os.close(out_r)
            stderr.close()
            raise PolicyError(f'policy "{policy}": cannot start a Rego worker: {exc}') from exc
        finally:
            os.close(job_r)  # the worker holds its own copies now (or there is no worker)
            os.close(out_w)
        worker = cls(proc, Connection(job_w, readable=False), Connection(out_r, writable=False), stderr)
        worker._await_ready(policy)
        return worker

    def _await_ready(self, policy: str) -> None:
        try:
            if self.recv.poll(STARTUP_TIMEOUT):
                ready = json.loads(self.recv.recv_bytes())
                if ready.get("ready"):
                    return
        except (EOFError, OSError, ValueError):
            pass
        self.kill()
        raise PolicyError(
            f'policy "{policy}": the Rego worker did not start: {self._stderr_since(0).strip()[-500:]}',
            hint="check that regopy imports in this Python (python -c 'import regopy')",
        )

    def run(self, job: Job) -> Outcome:
        header: dict[str, Any] = {"query": job.query, "source": job.source, "module": f"{job.policy}.rego"}
        header |= {
            "args": job.args,
            "memory": job.memory_bytes + input_allowance(job),
            "backend": job.backend,
        }
        header["denied"] = {"names": list(job.denied_names), "prefixes": list(job.denied_prefixes)}
        since = self._stderr_size()
        started = time.monotonic()
        try:
            self.send.send_bytes(json.dumps(header).encode())
            self.send.send_bytes(job.input_json)
            remaining = job.timeout - (time.monotonic() - started)
            if not self.recv.poll(max(remaining, 0.0)):
                self.kill()
                raise PolicyError(
                    f'policy "{job.policy}" timed out after {job.timeout:g} s', hint=TIMEOUT_HINT
                )
            reply = json.loads(self.recv.recv_bytes())
            payload = self.recv.recv_bytes()
        except (EOFError, OSError, ValueError) as exc:  # ValueError: an answer that is not JSON
            raise self._died(job, since) from exc
        return self._outcome(job, reply, payload)

    def _outcome(self, job: Job, reply: Mapping[str, Any], payload: bytes) -> Outcome:
        prints = tuple(str(p) for p in reply.get("prints", ()))
        error = reply.get("error")
        if reply.get("retire"):
            self.kill()  # e.g. after a MemoryError: its heap is not worth keeping
        if error == "memory":
            raise _memory_error(job)
        if error is not None:
            raise PolicyError(f'policy "{job.policy}": {reply.get("message", "evaluation failed")}')
        if not reply.get("defined"):
            return Outcome(False, None, prints)
        try:  # regopy's answer: {"expressions": [value]}, or a list of such results
            decoded = json.loads(payload)
            first = decoded[0] if isinstance(decoded, list) else decoded
            value = first["expressions"][0]
        except (ValueError, LookupError, TypeError) as exc:
            raise PolicyError(
                f'policy "{job.policy}": the policy produced a value that is not JSON',
                hint="regopy mishandles some strings holding quotes, backslashes or control characters "
                "(docs/policies/rego.md); --rego-backend opa evaluates with OPA itself",
            ) from exc
        return Outcome(True, value, prints)

    def _died(self, job: Job, since: int) -> PolicyError:
        with suppress(subprocess.TimeoutExpired):  # the pipe closed: the worker is gone or going
            self.proc.wait(timeout=5)
        said = self._stderr_since(since)
        self.kill()
        if any(mark in said for mark in _OOM_MARKS):
            return _memory_error(job)
        code = self.proc.returncode
        how = (
            f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit status {code}"
        )
        lines = [line.strip() for line in said.splitlines() if line.strip()]
        first = next((line for line in lines if line.startswith(_FATAL_PREFIXES)), lines[0] if lines else "")
        return PolicyError(
            f'policy "{job.policy}": the Rego worker crashed ({how}){": " + first if first else ""}',
            hint="the worker was replaced; the same policy and input will crash it again",
        )

    def _stderr_size(self) -> int:
        with suppress(OSError, ValueError):
            return self.stderr.seek(0, os.SEEK_END)
        return 0

    def _stderr_since(self, offset: int) -> str:
        """What the worker wrote to stderr from ``offset`` (its last words are at the start, not the end:
        a Go runtime crash is followed by pages of goroutine stacks)."""
        try:
            self.stderr.seek(offset)
            return self.stderr.read(65536).decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def kill(self) -> None:
        """Kill the process (SIGKILL) and release its pipes; safe to call twice."""
        if not self.alive:
            return
        self.alive = False
        try:
            self.proc.kill()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for conn in (self.send, self.recv):
            conn.close()
        self.stderr.close()


class _Starting(_Worker):
    """Holds a pool slot while a worker starts outside the lock."""

    def __init__(self) -> None:
        self.alive = False

    def kill(self) -> None:
        return None


def input_allowance(job: Job) -> int:
    """What a job's cap grows by for its input: regopy's copy of it, within :data:`INPUT_ALLOWANCE_MAX`."""
    return min(input_bytes(job.input_json), INPUT_ALLOWANCE_MAX)


def _memory_error(job: Job) -> PolicyError:
    mib = job.memory_bytes / (1 << 20)
    message = f'policy "{job.policy}" ran out of memory (limit {mib:g} MiB'
    allowed = input_allowance(job)
    message += f" besides {allowed >> 20} MiB for its input)" if allowed >= (1 << 20) else ")"
    needed = input_bytes(job.input_json)
    if needed <= allowed + job.memory_bytes:
        return PolicyError(message, hint=MEMORY_HINT)
    # the input alone does not fit: say so, with a limit that would do (large SBOMs, docs/performance.md)
    size = len(job.input_json) / 1e6
    # what the policy's own limit must then also hold: the rest of the input, and room to build
    suggested = -(-(needed - allowed + job.memory_bytes) // (256 << 20)) * 256  # MiB, a multiple of 256
    return PolicyError(
        f"{message}: its {size:.1f} MB input alone needs about {needed >> 20} MiB in regopy",
        hint=f"raise the limit with --rego-memory-mib {suggested} (the verifier's memory_bytes); "
        "--rego-backend opa needs far less",
    )


def input_bytes(input_json: bytes) -> int:
    """About the memory regopy needs for this input document (its copy of it, nothing the policy builds).

    regopy's copy costs 550 to 700 bytes per JSON value on the worker's lean path (the one large inputs
    take); values are counted as the worker counts them (:func:`~._rego_worker.json_values`).
    """
    from crafter._internal.policies.engines._rego_worker import (
        json_values,
    )  # the worker's module: ctypes and all

    return json_values(input_json) * INPUT_BYTES_PER_VALUE


def _kill_all(workers: set[_Worker]) -> None:
    for worker in list(workers):
        worker.kill()


def clean_environment() -> dict[str, str]:
    """The environment a worker starts with: only the variables a locale and a clock need."""
    return {name: os.environ[name] for name in ENV_KEPT if name in os.environ}
