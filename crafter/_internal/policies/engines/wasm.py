"""The WASM engine: Chainloop's WebAssembly policy contract (reference chainloop-policies.md, section 4) on Extism.

A policy is a module exporting ``Execute() -> i32``. It reads the input document with Extism's ``input_*``
kernel functions, its arguments from the config key ``args`` (a JSON object; absent when there are none), and
writes ``{"violations": [...], "findings": [...], "skipped": bool, "skip_reason": str, "ignore": bool}`` with
``output_set``. The optional exports ``MatchesParameters`` and ``MatchesEvaluation`` answer the matchers.
docs/policies/wasm.md is the user's view of all this.

Speed: each module is compiled once per process (:class:`ModuleCache`, keyed by its SHA-256 and the sandbox
settings Extism bakes into a compiled plugin), and every call gets a fresh instance of it (about 0.15 ms): an
instance's memory is never reused, so a policy that leaks cannot run out of memory on the tenth material.
Calls run in the caller's thread; the SDK releases the GIL, and Extism enforces the time and memory limits.

Sandbox: WASI without preopened directories, environment or arguments; HTTP only to the allowed hosts; the
time limit (``timeout_ms``) and a memory cap (``memory.max_pages``) on every call. The only host functions are
Extism's own, ``chainloop_discover`` answering "not available" (0), a ``poll_oneoff`` that refuses to sleep
(WASI's own sleeps in a host call that Extism's timeout cannot interrupt), and the engine's own ``log_*``
(wasm_log.py), which keep a capped log per call and cancel the call once its deadline is past.

Time limit: Extism's timeout interrupts WebAssembly code only, so every host function the engine provides
returns at once, and a call that still returns after its limit is reported as a timeout, never as a result.
Why in-process rather than in a killable worker (as Rego): docs/policies/wasm.md, "Limits".
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from crafter._internal.policies.engines.interface import (
    WASM_MAGIC,
    Args,
    EngineResult,
    Limits,
    PolicyEngine,
    Script,
)
from crafter._internal.policies.engines.rego import parse_result
from crafter._internal.policies.engines.wasm_errors import (
    EXTISM_LOG,
    Context,
    Failure,
    LogEntry,
    classify,
    invalid_module,
    missing_export,
)
from crafter._internal.policies.engines.wasm_log import GuestLog, HostState, log_functions, state_of
from crafter.errors import PolicyError

log = logging.getLogger("crafter.policies.wasm")

ENTRY = "Execute"
MATCHES_PARAMETERS = "MatchesParameters"
MATCHES_EVALUATION = "MatchesEvaluation"
#: Linear memory a policy may use unless the engine is built with another cap (see :class:`WasmEngine`).
DEFAULT_MEMORY_CAP = 256 << 20
PAGE = 64 << 10
MAX_PAGES = 1 << 16  # wasm32 addresses 4 GiB
WASI_ENOTSUP = 58
_HOST = re.compile(r"^(\*|(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*)$")
# The output keys of the contract and their JSON types; keys are matched case-insensitively, as Go's decoder does.
_OUTPUT = {"violations": list, "findings": list, "skipped": bool, "skip_reason": str, "ignore": bool}
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}


class WasmEngine(PolicyEngine):
    """WebAssembly policies, run in-process by Extism.

    ``memory_cap``: the linear memory one evaluation may use is ``min(limits.memory_bytes, memory_cap)``. The
    verifier's ``memory_bytes`` (1 GiB by default) is sized for a Rego worker's whole address space; a policy's
    linear memory needs far less, so the engine applies its own tighter default (256 MiB) and the verifier's
    value stays a ceiling that can only lower it. ``memory_cap=None`` uses ``limits.memory_bytes`` as is.
    ``cache``: compiled modules; by default one cache for the whole process.
    """

    name: ClassVar[str] = "wasm"

    def __init__(
        self, *, memory_cap: int | None = DEFAULT_MEMORY_CAP, cache: ModuleCache | None = None
    ) -> None:
        if memory_cap is not None and memory_cap < PAGE:
            raise PolicyError(f"WASM memory cap must be at least one page (64 KiB), got {memory_cap}")
        self.memory_cap = memory_cap
        self.cache = cache if cache is not None else SHARED_CACHE

    # -- PolicyEngine ------------------------------------------------------------------------------------------
    def prepare(self, script: Script) -> Script:
        _check_binary(script)  # fail at loading time, before any material is read
        return script

    def evaluate(self, script: Script, input_json: bytes, args: Args, limits: Limits) -> EngineResult:
        config = {"args": args_config(args)} if args else None
        output = self._call(script, ENTRY, input_json, config, limits)
        if output is None:
            raise missing_export(ENTRY).error(script.policy)
        return parse_output(script.policy, output)

    def matches_parameters(
        self, script: Script, evaluation_args: Args, expected_args: Args, limits: Limits
    ) -> bool:
        """The module's ``MatchesParameters``; without it, the default (the arguments are equal)."""
        document = {"args": _plain(evaluation_args), "expected_args": _plain(expected_args)}
        answer = self._matcher(script, MATCHES_PARAMETERS, document, limits)
        if answer is None:
            return super().matches_parameters(script, evaluation_args, expected_args, limits)
        return answer

    def matches_evaluation(
        self, script: Script, violations: Sequence[str], expected_args: Args, limits: Limits
    ) -> bool:
        """The module's ``MatchesEvaluation``; without it, the default (there are no violations)."""
        document = {"violations": list(violations), "expected_args": _plain(expected_args)}
        answer = self._matcher(script, MATCHES_EVALUATION, document, limits)
        if answer is None:
            return super().matches_evaluation(script, violations, expected_args, limits)
        return answer

    # -- internals ---------------------------------------------------------------------------------------------
    def _matcher(
        self, script: Script, export: str, document: Mapping[str, Any], limits: Limits
    ) -> bool | None:
        output = self._call(script, export, json.dumps(document).encode(), None, limits)
        if output is None:
            return None
        try:
            answer = json.loads(output)
        except (UnicodeDecodeError, json.JSONDecodeError):
            answer = output
        if not isinstance(answer, bool):
            raise PolicyError(
                f'policy "{script.policy}": {export} must write true or false (JSON), got {_shorten(output)!r}'
            )
        return answer

    def _settings(self, limits: Limits) -> _Settings:
        memory = limits.memory_bytes if self.memory_cap is None else min(limits.memory_bytes, self.memory_cap)
        return _Settings(
            timeout_ms=max(1, math.ceil(limits.timeout * 1000)),
            max_pages=min(MAX_PAGES, memory // PAGE),
            allowed_hosts=allowed_hosts(limits.allowed_hosts),
        )

    def _module(self, script: Script, limits: Limits) -> CompiledModule:
        wasm = _check_binary(script)
        settings = self._settings(limits)
        key = (_digest(wasm), settings)
        return self.cache.get(key, lambda: _compile(script, wasm, settings))

    def _call(
        self,
        script: Script,
        export: str,
        data: bytes,
        config: Mapping[str, str] | None,
        limits: Limits,
    ) -> bytes | None:
        """The output of ``export`` called on a fresh instance; None when the module does not export it."""
        import extism

        module = self._module(script, limits)
        context = Context(limits.timeout, module.settings.max_pages * PAGE, module.settings.allowed_hosts)
        try:
            plugin = extism.Plugin(module.compiled, config=config)
        except extism.Error as exc:  # linking: imports the sandbox does not provide
            raise classify(str(exc), (), context).error(script.policy) from exc
        with plugin:
            if not plugin.function_exists(export):
                return None
            guest = GuestLog(_threshold())
            with EXTISM_LOG.watch(str(plugin.id)) as sink:
                rc, error, output, elapsed = _invoke(plugin, export, data, limits.timeout, guest)
        _forward(script.policy, guest, sink.entries, sink.dropped)
        if error is not None:
            cause = extism.Error(error)  # what the SDK would have raised
            if account := _runtime_account(sink.entries):
                cause.add_note(account)  # with its "Caused by", for --debug
            entries = [*guest.for_classification, *sink.entries]
            raise classify(error, entries, context).error(script.policy) from cause
        if elapsed > limits.timeout:  # back from a host call after the deadline: no result counts then
            cause = extism.Error("timeout")
            cause.add_note(f"{export} returned after {elapsed:.3f} s, past its limit of {limits.timeout:g} s")
            raise classify("timeout", (), context).error(script.policy) from cause
        if rc != 0:  # as in Chainloop: only error_set or a trap fail a call; the code is only logged
            log.debug("policy %s: %s returned %d", script.policy, export, rc)
        return output


@attrs.frozen
class _Settings:
    """What Extism fixes when it compiles a plugin, so part of the cache key."""

    timeout_ms: int
    max_pages: int
    allowed_hosts: tuple[str, ...]

    def manifest(self, wasm: bytes) -> dict[str, Any]:
        return {
            "wasm": [{"data": wasm, "name": "main"}],
            "timeout_ms": self.timeout_ms,
            "memory": {"max_pages": self.max_pages},
            "allowed_hosts": list(self.allowed_hosts),  # empty: no host at all
        }


class CompiledModule:
    """A module compiled with one set of sandbox settings; instances are made from it per call."""

    def __init__(self, compiled: Any, settings: _Settings) -> None:
        self.compiled = compiled
        self.settings = settings


@attrs.frozen
class CacheStats:
    compiled: int  # modules compiled (cache misses)
    hits: int
    entries: int


class ModuleCache:
    """Compiled modules by (SHA-256, sandbox settings), least recently used evicted; thread-safe.

    Two threads asking for the same new module compile it once: the second waits for the first.
    """

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._slots: OrderedDict[Any, _Slot] = OrderedDict()
        self._compiled = 0
        self._hits = 0

    def get(self, key: Any, build: Callable[[], CompiledModule]) -> CompiledModule:
        while True:
            with self._lock:
                slot = self._slots.get(key)
                if slot is not None:
                    self._slots.move_to_end(key)
                    self._hits += 1
                    owner = False
                else:
                    slot = self._slots[key] = _Slot()
                    owner = True
                    while len(self._slots) > self.max_entries:
                        self._slots.popitem(last=False)
            if owner:
                try:
                    slot.module = build()
                except BaseException:
                    with self._lock:  # failures are not cached: each caller gets its own error
                        if self._slots.get(key) is slot:
                            del self._slots[key]
                    raise
                finally:
                    slot.ready.set()
                with self._lock:
                    self._compiled += 1
                return slot.module
            slot.ready.wait()
            if slot.module is not None:
                return slot.module
            with self._lock:  # the compile this thread waited for failed; it tries (and fails) itself
                self._hits -= 1

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._compiled, self._hits, len(self._slots))

    def clear(self) -> None:
        with self._lock:
            self._slots.clear()


class _Slot:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.module: CompiledModule | None = None


#: The compiled modules of this process, shared by every WasmEngine built without its own cache.
SHARED_CACHE = ModuleCache()


def parse_output(policy: str, output: bytes) -> EngineResult:
    """The policy's output read as Chainloop's Go decoder reads it, then checked like a Rego result.

    Keys match case-insensitively (the last of several spellings wins); unknown keys are ignored; ``null``
    leaves a field unset; any other type than the contract's, or output that is not a JSON object, is an error.
    """
    problem = "failed to parse policy output"
    try:
        doc = json.loads(output, parse_constant=_not_json)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
        what = "it is empty" if not output.strip() else f"not JSON ({exc})"
        raise PolicyError(
            f'policy "{policy}": {problem}: {what}',
            hint='Execute must write a JSON object such as {"violations": []} with output_set',
        ) from exc
    if not isinstance(doc, dict):
        raise PolicyError(f'policy "{policy}": {problem}: expected a JSON object, got {_json_type(doc)}')
    fields: dict[str, Any] = {}
    for key, value in doc.items():
        name = key.casefold()
        if name in _OUTPUT:
            fields[name] = value
    for name, value in list(fields.items()):
        if value is None:
            del fields[name]
        elif not isinstance(value, _OUTPUT[name]):
            expected = _JSON_TYPES[_OUTPUT[name]]
            raise PolicyError(
                f'policy "{policy}": {problem}: "{name}" must be {_article(expected)} {expected}, '
                f"got {_json_type(value)}"
            )
    return parse_result(policy, fields)


def args_config(args: Args) -> str:
    """The config value ``args``: the arguments as Go's ``json.Marshal`` writes them (sorted, HTML-safe)."""
    text = json.dumps(_plain(args), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)  # these only occur inside JSON strings, so escaping them is exact
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def allowed_hosts(hosts: Sequence[str]) -> tuple[str, ...]:
    """The hosts as Extism matches them (lower case), each an exact name, ``*.`` + a domain, or ``*``.

    Extism matches entries as globs; other glob characters (``?``, ``[...]``) would mean something else to
    Chainloop's matcher, so they are refused rather than guessed at.
    """
    out = []
    for host in hosts:
        name = host.strip().lower()
        if not _HOST.match(name):
            raise PolicyError(
                f"allowed host {host!r} is neither a host name nor a *.domain pattern",
                hint="give exact names (api.example.com) or subdomain patterns (*.example.com)",
            )
        out.append(name)
    return tuple(dict.fromkeys(out))


def _check_binary(script: Script) -> bytes:
    if not script.source.startswith(WASM_MAGIC):
        raise invalid_module(
            "not a WebAssembly binary (it does not start with \\0asm)",
            f"in {script.origin}: give the compiled module (or its base64), not source text",
        ).error(script.policy)
    return script.source


@functools.lru_cache(maxsize=64)
def _digest(wasm: bytes) -> str:
    # Remembered per module: hashing a 770 KB TinyGo module is 0.5 ms, more than an instance and its call. The
    # lookup is by the bytes object, whose own hash Python computes once and keeps.
    return hashlib.sha256(wasm).hexdigest()


def _compile(script: Script, wasm: bytes, settings: _Settings) -> CompiledModule:
    import extism
    from extism.extism import CompiledPlugin

    try:
        functions = [*_host_functions(), *log_functions()]
        compiled = CompiledPlugin(settings.manifest(wasm), wasi=True, functions=functions)
    except extism.Error as exc:
        failure: Failure = classify(str(exc))
        raise failure.error(script.policy) from exc
    return CompiledModule(compiled, settings)


@functools.cache
def _host_functions() -> list[Any]:
    """chainloop_discover in both namespaces the reference registers, and a poll_oneoff that never sleeps.

    Built once per process: Extism calls back into these (cffi callbacks) from any evaluation thread. Both
    answer at once, and cancel a call that is past its deadline (see wasm_log.HostState).
    """
    from extism.extism import Function, ValType
    from extism_sys import ffi  # type: ignore[import-untyped]

    signature = "void(ExtismCurrentPlugin*, const ExtismVal*, ExtismSize, ExtismVal*, ExtismSize, void*)"

    @ffi.callback(signature)  # type: ignore[untyped-decorator]
    def discover(plugin: Any, _inputs: Any, _n_in: int, outputs: Any, n_out: int, _data: Any) -> None:
        if (state := state_of(plugin)) is not None:
            state.check_deadline()
        if n_out:
            outputs[0].v.i64 = 0  # "not available": the reference's answer when it has no control plane

    @ffi.callback(signature)  # type: ignore[untyped-decorator]
    def poll_oneoff(plugin: Any, _inputs: Any, _n_in: int, outputs: Any, n_out: int, _data: Any) -> None:
        if (state := state_of(plugin)) is not None:
            state.check_deadline()
        if n_out:
            outputs[0].v.i32 = WASI_ENOTSUP  # a sleep in the host would outlast the timeout

    i64, i32 = ValType.I64, ValType.I32
    return [
        Function("env", "chainloop_discover", [i64, i64], [i64], discover),
        Function("extism:host/user", "chainloop_discover", [i64, i64], [i64], discover),
        Function("wasi_snapshot_preview1", "poll_oneoff", [i32, i32, i32, i32], [i32], poll_oneoff),
    ]


def _invoke(
    plugin: Any, export: str, data: bytes, timeout: float, guest: GuestLog
) -> tuple[int, str | None, bytes, float]:
    """``(return code, error text or None, output, seconds)`` of one call; its log lines go to ``guest``.

    The SDK's ``Plugin.call`` raises ``Error code: N`` when ``Execute`` returns non-zero without setting an
    error, and then loses the output; Chainloop reads the output anyway, so the C API is called directly. The
    host functions find the call's :class:`HostState` (deadline, log) through Extism's host context.
    """
    from extism_sys import ffi, lib

    handle = plugin.plugin
    cancel_handle = lib.extism_plugin_cancel_handle(handle)
    start = time.monotonic()
    state = HostState(start + timeout, functools.partial(lib.extism_plugin_cancel, cancel_handle), guest)
    context = ffi.new_handle(state)  # alive until the call returns
    rc = int(lib.extism_plugin_call_with_host_context(handle, export.encode(), data, len(data), context))
    elapsed = time.monotonic() - start
    error = lib.extism_plugin_error(handle)
    if error != ffi.NULL:
        return rc, ffi.string(error).decode("utf-8", "replace"), b"", elapsed
    size = int(lib.extism_plugin_output_length(handle))
    output = bytes(ffi.buffer(lib.extism_plugin_output_data(handle), size)) if size else b""
    return rc, None, output, elapsed


def _runtime_account(entries: Sequence[LogEntry]) -> str:
    """Extism's error events for a failed call, without Rust's native frames (printed when RUST_BACKTRACE is
    set), which say nothing about the policy."""
    return "\n".join(
        e.message.split("\n\nStack backtrace:", 1)[0]
        for e in entries
        if not e.from_guest and e.level >= logging.ERROR
    )


def _threshold() -> int:
    """The lowest level of a guest line that Python logging would show now (above ERROR: none)."""
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR):
        if log.isEnabledFor(level):
            return level
    return logging.CRITICAL


def _forward(policy: str, guest: GuestLog, runtime: Sequence[LogEntry], runtime_dropped: int) -> None:
    """The guest's kept log lines to Python logging at their level, then how many were dropped; the
    runtime's own events at debug."""
    extra = {"policy": policy}
    for entry in guest.entries:
        log.log(entry.level, "policy %s: %s", policy, entry.message, extra=extra)
    if guest.dropped:
        log.warning("policy %s: %s more log lines dropped", policy, f"{guest.dropped:,}", extra=extra)
    for entry in runtime:
        log.debug("policy %s: extism: %s", policy, entry.message, extra=extra)
    if runtime_dropped:
        log.debug("policy %s: extism: %s more events dropped", policy, f"{runtime_dropped:,}", extra=extra)


def _not_json(name: str) -> None:
    # Python reads NaN and Infinity; Go's decoder, and JSON, do not
    raise ValueError(f"{name} is not JSON")


def _plain(args: Args) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list | tuple) else v for k, v in args.items()}


def _json_type(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _shorten(data: bytes, limit: int = 80) -> str:
    text = data.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "..."
