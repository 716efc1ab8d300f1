"""Failure classification: Chainloop's own cases (errors_test.go), the Python SDK's texts, Extism's log events."""

from __future__ import annotations

import logging

import pytest

from crafter._internal.policies.engines.wasm_errors import (
    Category,
    Context,
    LogEntry,
    WasmPolicyError,
    causes_of,
    classify,
    hostname,
    parse_event,
)

# Chainloop's TestParseWasmError inputs (wazero texts) with the category and the message fragments it asserts.
GO_CASES = [
    (
        "HTTP request to 'https://httpbin.org/json' is not allowed (recovered by wazero)\nwasm stack trace:\n"
        "\textism:host/env.http_request(i64,i64) i64\n\tmain.Execute() i32",
        Category.HTTP_FORBIDDEN,
        "HTTP request blocked - hostname 'httpbin.org' is not in the allowed hosts list",
    ),
    (
        "HTTP request to 'https://evil.com/malware' is not allowed\nwasm stack trace:\n\t...",
        Category.HTTP_FORBIDDEN,
        "HTTP request blocked - hostname 'evil.com' is not in the allowed hosts list",
    ),
    (
        "Host not allowed (recovered by wazero)\nwasm stack trace:\n\t...",
        Category.HTTP_FORBIDDEN,
        "HTTP request blocked - hostname is not in the allowed hosts list",
    ),
    (
        "context deadline exceeded (recovered by wazero)\nwasm stack trace:\n\t...",
        Category.TIMEOUT,
        "Policy execution timeout exceeded",
    ),
    (
        "out of memory (recovered by wazero)\nwasm stack trace:\n\t...",
        Category.MEMORY,
        "Policy exceeded memory limits",
    ),
    (
        "runtime error: index out of range (recovered by wazero)\nwasm stack trace:\n\t...",
        Category.PANIC,
        "Runtime error in policy: index out of range",
    ),
    (
        "runtime error: invalid memory address or nil pointer dereference (recovered by wazero)\n"
        "wasm stack trace:\n\t...",
        Category.PANIC,
        "Runtime error in policy: invalid memory address or nil pointer dereference",
    ),
    (
        "failed to parse JSON input (recovered by wazero)\nwasm stack trace:\n\t...",
        Category.UNKNOWN,
        "failed to parse JSON input",
    ),
    ("something went wrong\nwasm stack trace:\n\t...", Category.UNKNOWN, "something went wrong"),
    (
        "wasm stack trace:\n\textism:host/env.http_request(i64,i64) i64\n\tmain.Execute() i32",
        Category.UNKNOWN,
        "Policy execution failed",
    ),
    (  # TestRealWorldErrors
        "HTTP request to 'https://registry.npmjs.org/lodash' is not allowed (recovered by wazero)\n"
        "wasm stack trace:\n\textism:host/env.http_request(i64,i64) i64\n\tmain.Execute() i32",
        Category.HTTP_FORBIDDEN,
        "hostname 'registry.npmjs.org'",
    ),
    (
        "out of memory (recovered by wazero)\nwasm stack trace:\n\tmalloc(i32) i32\n\tmain.Execute() i32",
        Category.MEMORY,
        "Policy exceeded memory limits",
    ),
    (  # the order matters: memory before runtime error, as in errors.go
        "runtime error: out of memory",
        Category.MEMORY,
        "Policy exceeded memory limits",
    ),
]


@pytest.mark.parametrize(("text", "category", "message"), GO_CASES)
def test_chainloop_texts(text: str, category: Category, message: str) -> None:
    failure = classify(text)
    assert failure.category is category
    assert message in failure.message
    assert failure.hint


def test_go_hints_keep_their_substance() -> None:
    assert (
        "Attempted URL: https://httpbin.org/json"
        in classify("HTTP request to 'https://httpbin.org/json' is not allowed").hint
    )
    assert "increasing" not in classify("context deadline exceeded").hint  # ours names the crafter knobs
    assert "--policy-timeout" in classify("context deadline exceeded").hint
    assert "Review data structures" in classify("out of memory").hint
    assert "--debug" in classify("runtime error: x").hint
    assert classify("something went wrong").hint == "Enable debug logging with --debug for more details."


def runtime_error(cause: str) -> LogEntry:
    """The event libextism logs when a call fails (level error, target extism::plugin)."""
    message = (
        "call to Execute encountered an error: error while executing at wasm backtrace:\n"
        "    0:   0x14b6 - <unknown>!<wasm function 24>\n\nCaused by:\n    "
        + cause
        + "\n\nStack backtrace:\n   0: x"
    )
    return LogEntry(logging.ERROR, "extism::plugin", message)


BARE = "error while executing at wasm backtrace:\n    0:   0x14b6 - <unknown>!<wasm function 24>"


def test_python_sdk_texts_alone() -> None:
    assert classify("timeout").category is Category.TIMEOUT
    assert classify("oom").category is Category.MEMORY
    assert classify("Function not found: Execute").category is Category.MISSING_EXPORT
    compile_error = classify("Unable to compile Extism plugin: unexpected end-of-file (at offset 0xa)")
    assert compile_error.category is Category.INVALID_MODULE
    assert compile_error.message == "failed to create WASM plugin: unexpected end-of-file (at offset 0xa)"
    # without Extism's log a trap or a refused host is only a backtrace: nothing to say but the generic text
    assert classify(BARE).message == "Policy execution failed"


def test_python_sdk_texts_with_the_log() -> None:
    forbidden = classify(BARE, [runtime_error("HTTP request to https://example.com/x is not allowed")])
    assert (forbidden.category, forbidden.host, forbidden.url) == (
        Category.HTTP_FORBIDDEN,
        "example.com",
        "https://example.com/x",
    )
    disabled = classify(
        BARE, [runtime_error("http_request is not enabled, request to https://a.b/ is not allowed")]
    )
    assert disabled.category is Category.HTTP_FORBIDDEN and disabled.host == "a.b"
    interrupt = classify(BARE, [runtime_error("wasm trap: interrupt")])
    assert interrupt.category is Category.TIMEOUT
    trap = classify(BARE, [runtime_error("wasm trap: out of bounds memory access")])
    assert (trap.category, trap.message) == (Category.TRAP, "Policy trapped: out of bounds memory access")
    io = classify(
        BARE, [runtime_error("io: failed to lookup address information: Name or service not known")]
    )
    assert (io.category, io.message) == (
        Category.UNKNOWN,
        "io: failed to lookup address information: Name or service not known",
    )


def test_several_causes_are_read() -> None:
    entry = runtime_error(
        "0: failed to initialize wasi runtime\n    1: wasm trap: wasm `unreachable` instruction executed"
    )
    assert causes_of(entry) == [
        "failed to initialize wasi runtime",
        "wasm trap: wasm `unreachable` instruction executed",
    ]
    assert classify(BARE, [entry]).category is Category.TRAP


def test_a_guest_error_is_the_guest_s_even_when_it_reads_like_the_runtime() -> None:
    guest = LogEntry(logging.ERROR, "extism::plugin", "call to Execute returned with error message: timeout")
    failure = classify("timeout", [guest])
    assert (failure.category, failure.message) == (Category.GUEST_ERROR, "timeout")
    assert (
        classify(
            "oom", [LogEntry(40, "extism::plugin", "call to Execute returned with error message: oom")]
        ).category
        is Category.GUEST_ERROR
    )


def test_guest_log_lines_are_not_causes() -> None:
    # a policy cannot forge the runtime's account by logging it
    forged = LogEntry(logging.ERROR, "extism::pdk", "call to Execute returned with error message: all fine")
    assert causes_of(forged) == []
    assert classify("timeout", [forged]).category is Category.TIMEOUT


def test_link_failures() -> None:
    unknown = classify("Unable to create Extism plugin: unknown import: `env::getenv` has not been defined")
    assert (
        unknown.message
        == "failed to create WASM plugin: the module imports env::getenv, which crafter does not provide"
    )
    assert "chainloop_discover" in unknown.hint
    kernel = classify(
        "Unable to create Extism plugin: Invalid function import from extism:host/env: new_thing (type (func))\n\nNote: ..."
    )
    assert "extism:host/env::new_thing" in kernel.message and "upgrade extism-sys" in kernel.hint
    types = classify(
        "Unable to create Extism plugin: types incompatible: expected type `(func (param i32) (result i64))`, "
        "found type `(func (param i64 i64) (result i64))`"
    )
    assert types.message.startswith(
        "failed to create WASM plugin: an import has the wrong signature: expected type"
    )


def test_context_goes_into_the_messages() -> None:
    context = Context(timeout=2.5, memory_bytes=64 << 20, allowed_hosts=("a.example",))
    assert classify("timeout", (), context).message == "Policy execution timeout exceeded (limit 2.5 s)"
    assert classify("oom", (), context).message == "Policy exceeded memory limits (limit 64 MiB)"
    assert "now: a.example" in classify("Host not allowed", (), context).hint


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://httpbin.org/json", "httpbin.org"),
        ("http://example.com/api/data", "example.com"),
        ("https://localhost:8080/test", "localhost"),
        ("https://api.github.com/repos", "api.github.com"),
        ("example.com", "example.com"),
        ("httpbin.org/json", "httpbin.org"),
        ("https://user:pass@example.com:8080/path?query=1", "example.com"),  # Chainloop says "user"
        ("https://EXAMPLE.com/", "example.com"),
    ],
)
def test_hostname(url: str, host: str) -> None:
    assert hostname(url) == host


def test_log_events_are_parsed_and_routed_by_plugin() -> None:
    plugin = "4033f1c6-24f0-41e9-9418-31a99e64f3a3"
    raw = f'2026-11-25T21:27:11.630591Z  WARN extism::pdk: a "quoted" line\nand more plugin="{plugin}"\n'
    assert parse_event(raw) == (
        plugin,
        LogEntry(logging.WARNING, "extism::pdk", 'a "quoted" line\nand more'),
    )
    # the real field is the last one: a policy writing a fake one in its message does not move its line
    fake = f'2026-11-25T21:27:11Z  INFO extism::pdk: x plugin="{"0" * 8}-0000-0000-0000-{"0" * 12}" plugin="{plugin}"\n'
    routed = parse_event(fake)
    assert routed is not None and routed[0] == plugin
    assert parse_event("2026-11-25T21:27:12Z DEBUG extism::plugin: f69a8062 created\n") is None
    assert parse_event("garbage") is None


def test_the_error_names_the_policy_and_keeps_the_failure() -> None:
    failure = classify("timeout")
    error = failure.error("licenses")
    assert isinstance(error, WasmPolicyError)
    assert (error.policy, error.category, error.message) == (
        "licenses",
        Category.TIMEOUT,
        'policy "licenses": Policy execution timeout exceeded',
    )
    assert error.hint == failure.hint
