"""Why a WASM policy failed, in one line a policy author can act on, and where the real cause is found.

The Python SDK raises ``extism.Error`` with little text: ``timeout``, ``oom``, the guest's own ``error_set``
message, or a bare ``error while executing at wasm backtrace:`` for both a trap and a refused HTTP host. The
cause is only in Extism's own log (``Caused by: wasm trap: ...``, ``HTTP request to URL is not allowed``), so
this module also captures that log (:class:`ExtismLog`) and :func:`classify` reads both. It recognises the
texts of the Python SDK and its runtime (libextism on wasmtime) as well as those of Chainloop's Go engine
(wazero), whose ``errors.go`` it follows: same categories, same user messages, same pattern order (reference
chainloop-policies.md section 4.8), plus the categories the Go engine reports elsewhere or not at all.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import attrs

from crafter.errors import PolicyError

DEBUG_HINT = "Enable debug logging with --debug for more details."
TIMEOUT_HINT = (
    "The policy took too long to execute. Consider optimizing network calls or reducing data processing, "
    "or give it more time with --policy-timeout, or with `timeout` on the policy attachment."
)
MEMORY_HINT = (
    "Review data structures and avoid loading large files entirely into memory. Consider streaming or "
    "processing data in chunks. The cap counts the input document too (Extism keeps a copy in the plugin's "
    "memory); see docs/policies/wasm.md to raise it."
)
PANIC_HINT = "The policy encountered an unexpected error. Enable debug logging with --debug to see detailed stack traces."
TRAP_HINT = (
    "The module aborted: a panic (Go, TinyGo, Rust), an abort (AssemblyScript) or a bug such as an "
    "out-of-bounds access. --debug shows the policy's log."
)
GUEST_HINT = (
    "The policy stopped with this error itself (error_set). Check the material and the policy's arguments."
)
IMPORTS_HINT = (
    "WASM policies may import Extism's kernel (extism:host/env), WASI preview 1 and chainloop_discover "
    "(env or extism:host/user); nothing else."
)
REBUILD_HINT = (
    "The policy's path, ref or embedded script must hold a WebAssembly binary (or its base64); rebuild it."
)

_LEVELS = {"ERROR": logging.ERROR, "WARN": logging.WARNING, "INFO": logging.INFO, "DEBUG": logging.DEBUG}


class Category(StrEnum):
    """The kinds of failure (Chainloop's five first, with its names)."""

    HTTP_FORBIDDEN = "http_forbidden"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    PANIC = "panic"  # a Go-style "runtime error: ..." reached the host
    UNKNOWN = "unknown"
    TRAP = "trap"  # a WebAssembly trap: unreachable (aborts, TinyGo/Rust panics), out-of-bounds access...
    GUEST_ERROR = "guest_error"  # the policy called error_set
    MISSING_EXPORT = "missing_export"
    INVALID_MODULE = "invalid_module"  # not WebAssembly, does not compile, or imports what is not provided


@attrs.frozen
class Failure:
    """One classified failure: its category, a one-line message, and a hint saying what to do."""

    category: Category
    message: str
    hint: str
    url: str = ""  # http_forbidden: the URL the policy asked for, and its host
    host: str = ""

    def error(self, policy: str) -> WasmPolicyError:
        return WasmPolicyError(policy, self)


class WasmPolicyError(PolicyError):
    """A WASM policy failed; ``failure`` says how. The original exception is its ``__cause__``."""

    def __init__(self, policy: str, failure: Failure) -> None:
        super().__init__(f'policy "{policy}": {failure.message}', hint=failure.hint)
        self.policy = policy
        self.failure = failure

    @property
    def category(self) -> Category:
        return self.failure.category


@attrs.frozen
class Context:
    """What the messages say about the limits in force (0 / empty: not known)."""

    timeout: float = 0.0
    memory_bytes: int = 0
    allowed_hosts: tuple[str, ...] = ()


@attrs.frozen
class LogEntry:
    """One event of Extism's log that belongs to one plugin instance."""

    level: int  # a Python logging level
    target: str  # "extism::pdk" for the guest's own log_* calls, other extism::* targets for the runtime
    message: str

    @property
    def from_guest(self) -> bool:
        return self.target == "extism::pdk"


# -- classification ------------------------------------------------------------------------------------------
_HTTP = re.compile(r"HTTP request to '(.+?)' is not allowed|request to (\S+) is not allowed")
_RUNTIME = re.compile(r"runtime error: ([^(\n]+?)(?:\s+\(recovered by wazero\)|\s*$)", re.MULTILINE)
_TRAP = re.compile(r"^wasm trap: (.+)$", re.MULTILINE)
_NOT_FOUND = re.compile(r"Function not found: (\S+)")
_COMPILE = "Unable to compile Extism plugin: "
_CREATE = "Unable to create Extism plugin: "
_UNKNOWN_IMPORT = re.compile(r"unknown import: `([^`]+)` has not been defined")
_KERNEL_IMPORT = re.compile(r"Invalid function import from extism:host/env: (\S+)")
_INCOMPATIBLE = re.compile(r"incompatible import type for `([^`]+)`|types incompatible: (.+)")
_GUEST = re.compile(r"^call to \S+ returned with error message: (.*)", re.DOTALL)
_CALL_ERROR = re.compile(r"^call to \S+ encountered an error: ", re.DOTALL)
_BACKTRACE_STARTS = ("wasm stack trace:", "error while executing at wasm backtrace", "Stack backtrace:")


def classify(text: str, log: Sequence[LogEntry] = (), context: Context = Context()) -> Failure:
    """The failure behind ``text`` (an ``extism.Error`` text, or a Go engine's error text) and this call's log.

    Order as in Chainloop's ``parseWasmError`` (forbidden host, timeout, memory, runtime error), then what only
    the Python SDK can tell apart (the guest's own error, traps, exports, modules), then the first clean line.
    """
    causes = [c for entry in log for c in causes_of(entry)]
    guest = _guest_error(log)
    full = "\n".join([text, *causes])
    if m := _HTTP.search(full):
        return forbidden_host(m.group(1) or m.group(2), context)
    if "Host not allowed" in full:
        return forbidden_host("", context)
    plain = text.strip()
    trap = _TRAP.search(full)
    # a guest may call error_set("timeout"): the exact runtime texts count only when the guest set no error;
    # an epoch interrupt that wasmtime reports as a trap (not as Extism's "timeout") is the time limit too
    timed_out = (plain == "timeout" and guest is None) or (trap is not None and trap.group(1) == "interrupt")
    if "context deadline exceeded" in full or timed_out:
        limit = f" (limit {context.timeout:g} s)" if context.timeout else ""
        return Failure(Category.TIMEOUT, f"Policy execution timeout exceeded{limit}", TIMEOUT_HINT)
    if "out of memory" in full or (plain == "oom" and guest is None):
        mib = f" (limit {context.memory_bytes / (1 << 20):g} MiB)" if context.memory_bytes else ""
        return Failure(Category.MEMORY, f"Policy exceeded memory limits{mib}", MEMORY_HINT)
    if m := _RUNTIME.search(full):
        return Failure(Category.PANIC, f"Runtime error in policy: {m.group(1).strip()}", PANIC_HINT)
    if guest is not None:
        return Failure(
            Category.GUEST_ERROR, _first_line(guest) or "the policy set an empty error", GUEST_HINT
        )
    if trap is not None:
        return _trap(trap.group(1).strip(), log)
    if m := _NOT_FOUND.search(full):
        return missing_export(m.group(1))
    if _COMPILE in full or _CREATE in full:
        return _module_failure(full)
    return _fallback(text, causes)


def forbidden_host(url: str, context: Context = Context()) -> Failure:
    allowed = ", ".join(context.allowed_hosts) or "none"
    where = f"Allow it in the verifier's allowed hosts (VerifierOptions.allowed_hosts; now: {allowed})."
    if not url:
        return Failure(
            Category.HTTP_FORBIDDEN, "HTTP request blocked - hostname is not in the allowed hosts list", where
        )
    host = hostname(url)
    return Failure(
        Category.HTTP_FORBIDDEN,
        f"HTTP request blocked - hostname '{host}' is not in the allowed hosts list",
        f"{where} Attempted URL: {url}",
        url=url,
        host=host,
    )


def missing_export(name: str) -> Failure:
    return Failure(
        Category.MISSING_EXPORT,
        f"wasm module validation failed: missing required '{name}' function export",
        f"Export a function {name}() -> i32 (TinyGo: //go:wasmexport {name}; AssemblyScript: "
        f"export function {name}(): i32).",
    )


def invalid_module(detail: str, hint: str = REBUILD_HINT) -> Failure:
    return Failure(Category.INVALID_MODULE, f"failed to create WASM plugin: {detail}", hint)


def hostname(url: str) -> str:
    """The host of ``url`` (of ``host/path`` when it has no scheme), lower-cased as Extism matches it.

    Chainloop's ``extractHostname`` cuts at the first ``:``, so it reports ``user`` for
    ``https://user:pass@example.com/``; this reports ``example.com``.
    """
    parts = urlsplit(url if "//" in url else "//" + url)
    return parts.hostname or url


def causes_of(entry: LogEntry) -> list[str]:
    """The ``Caused by:`` lines of a runtime error event (anyhow's format: indented, numbered when several)."""
    if entry.from_guest or not _CALL_ERROR.match(entry.message):
        return []
    lines = entry.message.split("\n")
    if "Caused by:" not in lines:
        return []
    out = []
    for line in lines[lines.index("Caused by:") + 1 :]:
        if not line.startswith("    ") or not line.strip():
            break
        out.append(re.sub(r"^\s+(\d+:\s+)?", "", line))
    return out


def _guest_error(log: Sequence[LogEntry]) -> str | None:
    for entry in log:
        if not entry.from_guest and (m := _GUEST.match(entry.message)):
            return m.group(1)
    return None


def _trap(reason: str, log: Sequence[LogEntry]) -> Failure:
    # A trap carries no message of the guest's; its last error-level log line often says why it aborted.
    said = [e.message for e in log if e.from_guest and e.level >= logging.ERROR]
    last = f"; the policy last logged: {_first_line(said[-1])}" if said else ""
    return Failure(Category.TRAP, f"Policy trapped: {reason}{last}", TRAP_HINT)


def _module_failure(text: str) -> Failure:
    if m := _UNKNOWN_IMPORT.search(text):
        return invalid_module(
            f"the module imports {m.group(1)}, which crafter does not provide", IMPORTS_HINT
        )
    if m := _KERNEL_IMPORT.search(text):
        return invalid_module(
            f"the module imports extism:host/env::{m.group(1)}, which this Extism runtime does not have",
            "The module was built with a newer Extism PDK than the runtime installed; upgrade extism-sys.",
        )
    if m := _INCOMPATIBLE.search(text):
        return invalid_module(
            f"an import has the wrong signature: {_first_line(m.group(1) or m.group(2))}", IMPORTS_HINT
        )
    detail = text.split(_COMPILE if _COMPILE in text else _CREATE, 1)[1]
    return invalid_module(_first_line(detail) or "the runtime gave no reason")


def _fallback(text: str, causes: Sequence[str] = ()) -> Failure:
    """Chainloop's fallback: the first line before any stack trace; else, unlike Chainloop, the runtime's
    cause (such as ``io: Connection refused`` from an allowed host); else a generic message."""
    line = _clean_first_line(text) or (causes[0].strip() if causes else "")
    if line:
        return Failure(Category.UNKNOWN, line, DEBUG_HINT)
    return Failure(
        Category.UNKNOWN,
        "Policy execution failed",
        "Enable debug logging with --debug for detailed error information.",
    )


def _clean_first_line(text: str) -> str:
    for raw in text.strip().split("\n"):
        line = raw.strip()
        if not line or line.startswith(_BACKTRACE_STARTS):
            return ""
        line = line.replace(" (recovered by wazero)", "").strip()
        if line:
            return line
    return ""


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


# -- Extism's log --------------------------------------------------------------------------------------------
MAX_ENTRY = 16 * 1024  # characters kept of one event; the head and the tail (where its plugin field is)
MAX_ENTRIES = 1000  # runtime events kept per evaluation; the rest are counted and dropped
PUMP_INTERVAL = 0.05  # seconds between drains while evaluations run, so events cannot pile up
_EVENT = re.compile(r"^\S+\s+(TRACE|DEBUG|INFO|WARN|ERROR)\s+([\w:]+): (.*)$", re.DOTALL)
_PLUGIN = re.compile(r'\s?plugin="([0-9a-f-]{36})"\s*$')
_TAIL = 128


class _Sink:
    """The events of one plugin instance, as they arrive."""

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []
        self.dropped = 0

    def add(self, entry: LogEntry) -> None:
        if len(self.entries) < MAX_ENTRIES:
            self.entries.append(entry)
        else:
            self.dropped += 1


class ExtismLog:
    """Extism's log, captured once per process and routed to the evaluation whose plugin wrote each event.

    Extism has one log for the whole process (``extism_log_custom``: a buffer, installed once; a second install
    silently loses it), so a single instance exists (:data:`EXTISM_LOG`). Every event Extism writes for a plugin
    ends with that plugin's id, and each evaluation watches its own instance's id; events of plugins nobody
    watches (other users of Extism in the process) are dropped. It is installed at level ``debug``, so that
    Extism's account of each call can reach ``--debug``: measured, that adds about 10 us to a call. The
    guest's own log lines do not come this way: the engine replaces Extism's ``log_*`` host functions
    (wasm_log.py), because this buffer is unbounded and draining it holds a lock the logging guest waits on,
    inside a host call where the time limit cannot reach it. What remains are the runtime's few events per
    call; still, while evaluations run a daemon thread drains the buffer every 50 ms, and each evaluation
    keeps at most 1,000 events of at most 16 KiB.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._state = "new"  # "new", "on", or "off" when another component owns Extism's log
        self._sinks: dict[str, _Sink] = {}
        self._pending: list[str] = []
        self._callback: Any = None
        self._lib: Any = None

    @property
    def enabled(self) -> bool:
        self._install()
        return self._state == "on"

    @contextlib.contextmanager
    def watch(self, plugin_id: str) -> Iterator[_Sink]:
        """Collect the events of ``plugin_id`` while the block runs; they are all in the sink when it ends."""
        self._install()
        sink = _Sink()
        with self._lock:
            self._sinks[plugin_id] = sink
            self._wake.notify()
        try:
            yield sink
        finally:
            with self._lock:
                self._drain_locked()  # the events of a finished call are already in Extism's buffer
                del self._sinks[plugin_id]

    def _install(self) -> None:
        if self._state != "new":
            return
        with self._lock:
            if self._state != "new":
                return
            from extism_sys import ffi, lib  # type: ignore[import-untyped]

            @ffi.callback("void(char*, ExtismSize)")  # type: ignore[untyped-decorator]
            def on_event(ptr: Any, size: int) -> None:
                buf = ffi.buffer(ptr, size)
                raw = (
                    buf[:]
                    if size <= MAX_ENTRY
                    else buf[: MAX_ENTRY - _TAIL] + b"\n[...]\n" + buf[size - _TAIL :]
                )
                self._pending.append(raw.decode("utf-8", "replace"))

            self._lib, self._callback = lib, on_event
            self._state = "on" if lib.extism_log_custom(b"debug") else "off"
            if self._state == "on":
                threading.Thread(target=self._pump, name="crafter-wasm-log", daemon=True).start()
            else:
                logging.getLogger("crafter.policies.wasm").debug(
                    "Extism's log is taken by another component: WASM failures are classified without it"
                )

    def _pump(self) -> None:
        while True:
            with self._lock:
                while not self._sinks:
                    self._wake.wait()
            time.sleep(PUMP_INTERVAL)
            with self._lock:
                self._drain_locked()

    def _drain_locked(self) -> None:
        if self._state != "on":
            return
        self._lib.extism_log_drain(self._callback)
        pending, self._pending = self._pending, []
        for raw in pending:
            routed = parse_event(raw)
            if routed is not None and (sink := self._sinks.get(routed[0])) is not None:
                sink.add(routed[1])


def parse_event(raw: str) -> tuple[str, LogEntry] | None:
    """``(plugin id, entry)`` of one formatted event, None when it names no plugin."""
    event = _EVENT.match(raw)
    if event is None:
        return None
    level, target, body = event.groups()
    plugin = _PLUGIN.search(body)
    if plugin is None:
        return None
    message = body[: plugin.start()].rstrip("\n")
    return plugin.group(1), LogEntry(_LEVELS.get(level, logging.DEBUG), target, message)


#: The process's one capture of Extism's log.
EXTISM_LOG = ExtismLog()
