"""What a WASM policy logs, kept within caps, and the time limit enforced from inside the host functions.

Extism's own ``log_*`` host functions hand every line to the process-wide log that ``wasm_errors.ExtismLog``
drains into Python. A module logging in a loop writes lines faster than Python can route them: Extism's
buffer grew without bound (300-550 MB of formatted events), routing the backlog after the call took seconds
past the time limit, and while a drain held Extism's buffer lock the module sat inside ``log_info``, a host
call, where Extism's time limit (an epoch interrupt, checked only while WebAssembly code runs) cannot stop it.

So the engine links its own ``log_trace``/``log_debug``/``log_info``/``log_warn``/``log_error`` in
``extism:host/env`` (Extism's linker lets a host function shadow a kernel one), and gives each call a
:class:`HostState` through Extism's host context. Its :class:`GuestLog` keeps the first :data:`MAX_LOG_LINES`
lines and :data:`MAX_LOG_BYTES` bytes (each line cut at :data:`MAX_LINE_BYTES`) and only counts the rest: past
the caps a log call costs a counter, a clock read and the free of the guest's block, nothing grows. Every
call of these host functions also compares the clock with the call's deadline and, once it is past, cancels
the call as Extism's timer would, so the module traps as soon as it is back in WebAssembly.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from crafter._internal.policies.engines.wasm_errors import LogEntry

#: Lines of one evaluation's log that are kept; the others are counted ("N more log lines dropped").
MAX_LOG_LINES = 1000
#: Bytes of one evaluation's log that are kept (UTF-8, after cutting long lines).
MAX_LOG_BYTES = 64 << 10
#: Bytes kept of one line; the rest of the line is cut and said to be.
MAX_LINE_BYTES = 4 << 10
#: Bytes kept of the last error line when it is past the caps (a trap's message quotes it).
LAST_ERROR_BYTES = 1 << 10
#: The target of the guest's own lines (Extism's, so that LogEntry.from_guest holds for them).
GUEST_TARGET = "extism::pdk"

TRACE = 5  # below logging.DEBUG: log_trace lines are never kept
_LEVELS = {
    "log_trace": TRACE,
    "log_debug": logging.DEBUG,
    "log_info": logging.INFO,
    "log_warn": logging.WARNING,
    "log_error": logging.ERROR,
}
_SIGNATURE = "void(ExtismCurrentPlugin*, const ExtismVal*, ExtismSize, ExtismVal*, ExtismSize, void*)"

Reader = Callable[[int], tuple[bytes, int]]  # at most n bytes of the line, and its whole length


class GuestLog:
    """One call's log lines: the first ones within the caps; the rest counted, never stored.

    ``threshold``: lines below it would not be shown (the level of the ``crafter.policies.wasm`` logger), so
    they are neither kept nor counted, except that the last error line is remembered whatever happens.
    """

    def __init__(
        self,
        threshold: int = logging.DEBUG,
        *,
        max_lines: int = MAX_LOG_LINES,
        max_bytes: int = MAX_LOG_BYTES,
        max_line: int = MAX_LINE_BYTES,
    ) -> None:
        self.threshold = max(threshold, logging.DEBUG)
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.max_line = max_line
        self.entries: list[LogEntry] = []
        self.size = 0  # bytes kept
        self.dropped = 0  # lines past the caps
        self.full = False
        self.last_error: LogEntry | None = None  # the last error line, when it was not kept

    def write(self, level: int, read: Reader) -> None:
        if level < self.threshold:
            if level >= logging.ERROR:
                self.last_error = _entry(level, read, LAST_ERROR_BYTES)
            return
        if not self.full:
            entry = _entry(level, read, self.max_line)
            cost = len(entry.message.encode("utf-8", "replace"))
            if len(self.entries) < self.max_lines and self.size + cost <= self.max_bytes:
                self.entries.append(entry)
                self.size += cost
                if level >= logging.ERROR:
                    self.last_error = None
                return
            self.full = True  # from here on nothing is read, except error lines (and only their start)
        self.dropped += 1
        if level >= logging.ERROR:
            self.last_error = _entry(level, read, LAST_ERROR_BYTES)

    @property
    def for_classification(self) -> list[LogEntry]:
        """The kept lines, and the last error line if it was not kept (a trap's message quotes it)."""
        return [*self.entries, self.last_error] if self.last_error is not None else list(self.entries)


class HostState:
    """What the engine's host functions know of the call they serve: its deadline and its log.

    ``cancel`` stops the call (Extism's cancel handle: the module traps at its next instruction); it is
    called once, by the first host function that runs past ``deadline`` (``time.monotonic()``).
    """

    def __init__(self, deadline: float, cancel: Callable[[], object], log: GuestLog) -> None:
        self.deadline = deadline
        self.log = log
        self.cancelled = False
        self._cancel = cancel

    def check_deadline(self) -> None:
        if not self.cancelled and time.monotonic() >= self.deadline:
            self.cancelled = True
            self._cancel()


def _entry(level: int, read: Reader, limit: int) -> LogEntry:
    data, size = read(limit)
    text = data.decode("utf-8", "replace")
    if size > len(data):
        text += f" [... {size - len(data):,} more bytes cut]"
    return LogEntry(level, GUEST_TARGET, text)


def state_of(plugin: Any) -> HostState | None:
    """The HostState the engine passed as the host context of the running call (None without one)."""
    from extism_sys import ffi, lib  # type: ignore[import-untyped]

    context = lib.extism_current_plugin_host_context(plugin)
    if context == ffi.NULL:
        return None
    state = ffi.from_handle(context)
    return state if isinstance(state, HostState) else None


def _ignore(_kind: Any, value: BaseException | None, _traceback: Any) -> None:
    # An exception in a host function must not reach the module (cffi would print a traceback and answer 0):
    # the line is lost, the call goes on.
    logging.getLogger("crafter.policies.wasm").debug("a WASM host function failed: %r", value)


@functools.cache
def log_functions() -> list[Any]:
    """``extism:host/env::log_*``, replacing Extism's. Built once per process (cffi callbacks)."""
    from extism.extism import Function, ValType
    from extism_sys import ffi, lib

    def make(level: int) -> Any:
        @ffi.callback(_SIGNATURE, onerror=_ignore)  # type: ignore[untyped-decorator]
        def log_line(plugin: Any, inputs: Any, n_in: int, _outputs: Any, _n_out: int, _data: Any) -> None:
            offset = int(inputs[0].v.i64) if n_in else 0
            state = state_of(plugin)
            if state is not None:
                state.check_deadline()
                if state.cancelled:
                    # The call is over: touch nothing of it. Reading or freeing the block calls into
                    # Extism's kernel, which now traps (about 40 us each, swallowed by Extism), and a module
                    # calling log_* in straight-line code (no loop, no call: no interrupt check) would run on.
                    return

            def read(limit: int) -> tuple[bytes, int]:
                size = int(lib.extism_current_plugin_memory_length(plugin, offset))
                if not size:  # not a block of the module's (Extism would trap): an empty line
                    return b"", 0
                base = lib.extism_current_plugin_memory(plugin)
                return ffi.buffer(base + offset, min(size, limit))[:], size

            try:
                if state is not None:
                    state.log.write(level, read)
            finally:
                lib.extism_current_plugin_memory_free(plugin, offset)  # the log functions own the block

        return log_line

    return [
        Function("extism:host/env", name, [ValType.I64], [], make(level)) for name, level in _LEVELS.items()
    ]
