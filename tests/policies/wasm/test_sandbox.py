"""Hostile modules: each failure has its category and a message naming the policy, and the process survives."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from crafter._internal.policies.engines.interface import EngineResult, Limits, Script, Violation
from crafter._internal.policies.engines.wasm import WasmEngine
from crafter._internal.policies.engines.wasm_errors import Category, WasmPolicyError
from crafter.errors import ExitCode, PolicyError
from tests.policies.conftest import Route, Server
from tests.policies.wasm.conftest import LIMITS

Make = Callable[[str], Script]
MARGIN = 1.5  # seconds allowed beyond a time limit (thread scheduling on a busy 2-core machine)


def failure(
    engine: WasmEngine, module: Script, input_json: bytes = b"{}", limits: Limits = LIMITS
) -> WasmPolicyError:
    with pytest.raises(WasmPolicyError) as info:
        engine.evaluate(module, input_json, {}, limits)
    error = info.value
    assert error.message.startswith(f'policy "{module.policy}": ')
    assert error.exit_code is ExitCode.POLICY
    return error


def test_endless_loop_is_stopped_by_the_timeout(engine: WasmEngine, script: Make) -> None:
    start = time.perf_counter()
    error = failure(engine, script("loop"), limits=Limits(timeout=1.0))
    elapsed = time.perf_counter() - start
    assert 1.0 <= elapsed < 1.0 + MARGIN
    assert error.category is Category.TIMEOUT
    assert error.message == 'policy "loop": Policy execution timeout exceeded (limit 1 s)'
    assert "--policy-timeout" in (error.hint or "")
    assert str(error.__cause__) == "timeout"


def test_memory_growth_is_stopped_by_the_cap(engine: WasmEngine, script: Make) -> None:
    start = time.perf_counter()
    error = failure(engine, script("oom"), limits=Limits(timeout=30.0, memory_bytes=64 << 20))
    assert time.perf_counter() - start < 2.0  # without a cap it runs ~11 s up to 4 GiB
    assert error.category is Category.MEMORY
    assert error.message == 'policy "oom": Policy exceeded memory limits (limit 64 MiB)'
    assert str(error.__cause__) == "oom"


def test_default_memory_cap_is_256_mib(engine: WasmEngine, script: Make) -> None:
    error = failure(engine, script("oom"), limits=Limits())  # the verifier's default: 1 GiB, capped
    assert error.message == 'policy "oom": Policy exceeded memory limits (limit 256 MiB)'


def test_trap_reports_the_trap_and_what_the_policy_last_logged(engine: WasmEngine, script: Make) -> None:
    error = failure(engine, script("trap"))
    assert error.category is Category.TRAP
    assert error.message == (
        'policy "trap": Policy trapped: wasm `unreachable` instruction executed; '
        "the policy last logged: cannot read the SBOM"
    )
    # the SDK's own text is a bare backtrace; the runtime's account is kept on the cause
    assert str(error.__cause__).startswith("error while executing at wasm backtrace:")
    notes = "\n".join(getattr(error.__cause__, "__notes__", []))
    assert "Caused by:\n    wasm trap: wasm `unreachable` instruction executed" in notes
    assert "Stack backtrace:" not in notes


def test_error_set_message_is_the_guest_s(engine: WasmEngine, script: Make) -> None:
    error = failure(engine, script("error_set"))
    assert error.category is Category.GUEST_ERROR
    assert error.message == 'policy "error_set": policy engine failed: bad args'
    assert str(error.__cause__) == "policy engine failed: bad args"


def request(url: str) -> bytes:
    return json.dumps({"url": url, "method": "GET"}).encode()


def test_request_to_a_host_not_allowed_is_refused(engine: WasmEngine, script: Make) -> None:
    limits = Limits(timeout=5.0, allowed_hosts=("*.example.org", "api.example.com"))
    error = failure(engine, script("http"), request("https://example.org/advisories?id=1"), limits)
    assert error.category is Category.HTTP_FORBIDDEN
    assert error.failure.host == "example.org" and error.failure.url == "https://example.org/advisories?id=1"
    assert (
        "HTTP request to https://example.org/advisories?id=1 is not allowed" in error.__cause__.__notes__[0]
    )
    assert error.message == (
        "policy \"http\": HTTP request blocked - hostname 'example.org' is not in the allowed hosts list"
    )
    assert error.hint == (
        "Allow it in the verifier's allowed hosts (VerifierOptions.allowed_hosts; now: *.example.org, "
        "api.example.com). Attempted URL: https://example.org/advisories?id=1"
    )


def test_no_host_is_allowed_by_default(engine: WasmEngine, script: Make, http_server: Server) -> None:
    http_server.routes["/x"] = Route(b'"fetched"')
    error = failure(engine, script("http"), request(http_server.url("/x")))
    assert error.category is Category.HTTP_FORBIDDEN and error.failure.host == "127.0.0.1"
    assert http_server.requests == []


@pytest.mark.parametrize("allowed", ["127.0.0.1", "*"])
def test_an_allowed_host_is_reached(
    engine: WasmEngine, script: Make, http_server: Server, allowed: str
) -> None:
    http_server.routes["/advisories"] = Route(b'"fetched"')
    limits = Limits(timeout=5.0, allowed_hosts=(allowed,))
    result = engine.evaluate(script("http"), request(http_server.url("/advisories")), {}, limits)
    assert result.violations == (Violation("fetched"),)
    assert http_server.requests == ["/advisories"]


def test_a_silent_allowed_host_is_stopped_by_the_timeout(
    engine: WasmEngine, script: Make, silent_server: str
) -> None:
    start = time.perf_counter()
    limits = Limits(timeout=1.0, allowed_hosts=("127.0.0.1",))
    error = failure(engine, script("http"), request(silent_server), limits)
    assert error.category is Category.TIMEOUT
    assert time.perf_counter() - start < 1.0 + MARGIN


def test_a_refused_connection_is_reported_with_the_runtime_s_cause(engine: WasmEngine, script: Make) -> None:
    limits = Limits(timeout=5.0, allowed_hosts=("127.0.0.1",))
    error = failure(engine, script("http"), request("http://127.0.0.1:1/"), limits)
    assert error.category is Category.UNKNOWN
    assert error.message.startswith('policy "http": io: Connection refused')


def test_filesystem_is_not_reachable(engine: WasmEngine, script: Make) -> None:
    result = engine.evaluate(script("fs_probe"), b"{}", {}, LIMITS)
    # no preopened directory (fd_prestat_get 3), /etc/passwd and etc/passwd not openable, nor "." via fd 4
    assert result == EngineResult(skip_reason="errno 08 08 08 08")  # 8 = EBADF: no such descriptor


def test_wasi_sleep_is_refused_instead_of_outliving_the_timeout(engine: WasmEngine, script: Make) -> None:
    start = time.perf_counter()
    result = engine.evaluate(script("sleep"), b"{}", {}, Limits(timeout=1.0))
    assert time.perf_counter() - start < 1.0
    assert result.skip_reason == "errno 58"  # ENOTSUP: Extism's timeout cannot interrupt a host-side sleep


def test_missing_execute(engine: WasmEngine, script: Make) -> None:
    error = failure(engine, script("no_execute"))
    assert error.category is Category.MISSING_EXPORT
    assert error.message == (
        "policy \"no_execute\": wasm module validation failed: missing required 'Execute' function export"
    )


def test_invalid_bytes(engine: WasmEngine) -> None:
    error = failure(engine, Script(b"\x00asm\x01\x00\x00\x00garbage", "bad", "bad.wasm", "wasm"))
    assert error.category is Category.INVALID_MODULE
    assert error.message.startswith('policy "bad": failed to create WASM plugin: ')
    assert "Unable to compile Extism plugin" in str(error.__cause__)
    assert engine.cache.stats().entries == 0  # failures are not cached


def test_source_text_is_not_a_module(engine: WasmEngine) -> None:
    # Extism would compile WAT text; a policy must ship the binary, as Chainloop requires
    module = Script(b'(module (func (export "Execute") (result i32) (i32.const 0)))', "text", "p.wat", "wasm")
    for call in (engine.prepare, lambda s: engine.evaluate(s, b"{}", {}, LIMITS)):
        with pytest.raises(WasmPolicyError) as info:
            call(module)
        assert info.value.category is Category.INVALID_MODULE
        assert "not a WebAssembly binary" in info.value.message
        assert info.value.hint == "in p.wat: give the compiled module (or its base64), not source text"


def test_imports_beyond_the_sandbox_are_refused(engine: WasmEngine) -> None:
    wasmtime = pytest.importorskip("wasmtime")
    wat = '(module (import "env" "getenv" (func (param i32) (result i32))) (func (export "Execute") (result i32) (i32.const 0)))'
    error = failure(engine, Script(bytes(wasmtime.wat2wasm(wat)), "imp", "imp.wasm", "wasm"))
    assert error.category is Category.INVALID_MODULE
    assert (
        error.message
        == 'policy "imp": failed to create WASM plugin: the module imports env::getenv, which crafter does not provide'
    )


def test_the_process_survives_every_failure_and_keeps_evaluating(engine: WasmEngine, script: Make) -> None:
    quick = Limits(timeout=0.5)
    for name in ("loop", "oom", "trap", "error_set", "http", "no_execute"):
        with pytest.raises(PolicyError):
            engine.evaluate(script(name), request("https://evil.example/"), {}, quick)
    assert engine.evaluate(script("counter"), b"{}", {}, quick).violations == (Violation("call 1"),)
