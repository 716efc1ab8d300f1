"""Hostile WASM policies flooding their log: the time limit holds, the log is capped in lines and bytes, and
the process's memory stays small.

The modules are built here from our own WAT sources (tests/hostile/wasm/*.wat, and one generated below) with
``wasmtime.wat2wasm`` from the dev extra, as tests/policies/wasm does. The CLI runs in a child process, so
that its peak RSS (``VmHWM``, written by the child itself) is its own.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from crafter._internal.policies.engines.interface import EngineResult, Limits, Script
from crafter._internal.policies.engines.wasm import ModuleCache, WasmEngine
from crafter._internal.policies.engines.wasm_errors import Category, WasmPolicyError
from crafter._internal.policies.engines.wasm_log import (
    MAX_LINE_BYTES,
    MAX_LOG_BYTES,
    MAX_LOG_LINES,
    GuestLog,
    HostState,
)
from crafter.errors import ExitCode
from tests.hostile.child import RUN_CLI

MODULES = Path(__file__).parent / "wasm"
MARGIN = 6.0  # seconds beyond a time limit: process start, imports, a busy 2-core machine
MAX_RSS = 160 << 20  # bytes; the CLI evaluating a quiet WASM policy peaks at about 45 MiB
JUNIT = '<?xml version="1.0"?><testsuite name="s" tests="1"><testcase name="a" classname="c"/></testsuite>\n'
LINE = "flooding the log"
DROPPED = re.compile(r"^crafter: policy (\S+): ([\d,]+) more log lines dropped$", re.MULTILINE)


@pytest.fixture(scope="module")
def modules() -> dict[str, bytes]:
    wasmtime = pytest.importorskip("wasmtime", reason="the dev extra (wasmtime) builds the test modules")
    return {wat.stem: bytes(wasmtime.wat2wasm(wat.read_text())) for wat in sorted(MODULES.glob("*.wat"))}


class Run:
    """One ``crafter`` run in a child process: exit code, output, wall time and peak RSS (bytes)."""

    def __init__(self, code: int, out: str, err: str, elapsed: float, peak_rss: int) -> None:
        self.code, self.out, self.err, self.elapsed, self.peak_rss = code, out, err, elapsed, peak_rss

    def kept(self, policy: str) -> int:
        return self.err.count(f"crafter: policy {policy}: {LINE}\n")

    def dropped(self, policy: str) -> str | None:
        found = [m.group(2) for m in DROPPED.finditer(self.err) if m.group(1) == policy]
        assert len(found) <= 1, self.err[-2000:]
        return found[0] if found else None

    def error_line(self) -> str:
        lines = [line for line in self.err.splitlines() if line.startswith("Error: ")]
        assert len(lines) == 1, self.err[-2000:]
        assert "Traceback" not in self.err
        return lines[0]


pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="peak memory from /proc/self/status: Linux")


def crafter(tmp_path: Path, *args: str) -> Run:
    out, err, peak = tmp_path / "stdout", tmp_path / "stderr", tmp_path / "peak-kib"
    env = {**os.environ, "CRAFTER_TEST_PEAK_FILE": str(peak)}
    start = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        code = subprocess.run(
            [sys.executable, "-c", RUN_CLI, *args], stdout=stdout, stderr=stderr, env=env
        ).returncode
    elapsed = time.monotonic() - start
    return Run(code, out.read_text(), err.read_text(), elapsed, int(peak.read_text()) << 10)


def policy(tmp_path: Path, name: str, wasm: bytes) -> Path:
    """A policy document NAME.yaml for the module, its name NAME (a DNS label)."""
    (tmp_path / f"{name}.wasm").write_bytes(wasm)
    document = tmp_path / f"{name}.yaml"
    document.write_text(
        "apiVersion: chainloop.dev/v1\nkind: Policy\n"
        f"metadata:\n  name: {name}\n"
        f"spec:\n  policies:\n    - kind: JUNIT_XML\n      path: {name}.wasm\n      engine: wasm\n"
    )
    return document


def evaluate(tmp_path: Path, modules: dict[str, bytes], module: str, *args: str) -> Run:
    """``crafter policy eval`` of the module (policy name: the module's with dashes) on a small JUnit report."""
    material = tmp_path / "junit.xml"
    material.write_text(JUNIT)
    document = policy(tmp_path, module.replace("_", "-"), modules[module])
    return crafter(tmp_path, "policy", "eval", "--policy", str(document), "--material", str(material), *args)


def assert_small(run: Run) -> None:
    assert run.peak_rss < MAX_RSS, f"peak RSS {run.peak_rss >> 20} MiB"


def assert_timeout(run: Run, policy_name: str, limit: str) -> None:
    assert run.code == int(ExitCode.POLICY) == 10
    line = run.error_line()
    assert line == f'Error: policy "{policy_name}": Policy execution timeout exceeded (limit {limit} s)'
    assert "timeout" in line


# -- through the CLI -------------------------------------------------------------------------------------------
def test_endless_logging_is_stopped_at_the_time_limit(
    cli_env: Path, tmp_path: Path, modules: dict[str, bytes]
) -> None:
    run = evaluate(tmp_path, modules, "log_endless", "--policy-timeout", "2")
    assert_timeout(run, "log-endless", "2")
    assert run.elapsed < 2 + MARGIN, f"took {run.elapsed:.1f} s"
    assert_small(run)
    # the first lines are shown where they always were (stderr, through logging), the rest counted
    assert run.kept("log-endless") == MAX_LOG_LINES
    dropped = run.dropped("log-endless")
    assert dropped is not None and int(dropped.replace(",", "")) > 0


def test_two_million_lines_pass_only_within_the_limit(
    cli_env: Path, tmp_path: Path, modules: dict[str, bytes]
) -> None:
    run = evaluate(tmp_path, modules, "log_two_million", "--policy-timeout", "30", "-o", "json")
    assert_small(run)
    assert run.kept("log-two-million") == MAX_LOG_LINES
    if run.code != 0:  # a slow machine: then it must be the time limit, reported as such
        assert_timeout(run, "log-two-million", "30")
        return
    result = json.loads(run.out)
    assert result["status"] == "passed" and result["result"]["violations"] == []
    assert result["duration_ms"] <= 30_000
    assert run.elapsed < 30 + MARGIN
    assert run.dropped("log-two-million") == "1,999,000"


def test_two_million_lines_past_a_short_limit_are_a_timeout(
    cli_env: Path, tmp_path: Path, modules: dict[str, bytes]
) -> None:
    run = evaluate(tmp_path, modules, "log_two_million", "--policy-timeout", "1", "-o", "json")
    assert_small(run)
    if run.code == 0:  # only a machine fast enough to log 2M lines within 1 s may pass
        result = json.loads(run.out)
        assert result["duration_ms"] <= 1000, result
        assert run.dropped("log-two-million") == "1,999,000"
        return
    assert_timeout(run, "log-two-million", "1")
    assert run.elapsed < 1 + MARGIN, f"took {run.elapsed:.1f} s"
    assert run.out == ""  # no result printed, "passed" least of all


# -- the engine directly ---------------------------------------------------------------------------------------
def straight_line_logger(calls: int) -> bytes:
    """A module that writes a passing output at once, then calls log_info ``calls`` times in straight-line
    code (no loop and no call of a WebAssembly function, so nowhere Extism's interrupt is checked), then
    returns 0: it comes back after its limit without ever trapping."""
    wasmtime = pytest.importorskip("wasmtime", reason="the dev extra (wasmtime) builds the test modules")
    wat = (
        '(module (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))\n'
        '(import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))\n'
        '(import "extism:host/env" "log_info" (func $log_info (param i64)))\n'
        '(import "extism:host/env" "output_set" (func $output_set (param i64 i64)))\n'
        '(memory (export "memory") 1)\n'
        '(func (export "Execute") (result i32) (local $off i64)\n'
        "  (local.set $off (call $alloc (i64.const 2)))\n"  # the output "{}": no violations
        "  (call $store_u8 (local.get $off) (i32.const 123))\n"
        "  (call $store_u8 (i64.add (local.get $off) (i64.const 1)) (i32.const 125))\n"
        "  (call $output_set (local.get $off) (i64.const 2))\n"
        + "  (call $log_info (i64.const 0))\n" * calls
        + "  (i32.const 0)))\n"
    )
    return bytes(wasmtime.wat2wasm(wat))


def test_a_call_that_returns_after_its_limit_is_a_timeout_not_a_pass() -> None:
    engine = WasmEngine(cache=ModuleCache())
    module = Script(straight_line_logger(50_000), "straight", "straight.wasm", "wasm")
    assert engine.evaluate(module, b"{}", {}, Limits(timeout=10.0)) == EngineResult()  # it does pass in time
    start = time.monotonic()
    with pytest.raises(WasmPolicyError) as info:
        engine.evaluate(module, b"{}", {}, Limits(timeout=0.002))
    assert info.value.category is Category.TIMEOUT
    assert info.value.message == 'policy "straight": Policy execution timeout exceeded (limit 0.002 s)'
    assert info.value.exit_code is ExitCode.POLICY
    # past the deadline each log call returns at once, touching nothing of the cancelled call
    assert time.monotonic() - start < 2.0


def test_an_error_line_past_the_caps_is_still_quoted_by_a_trap(
    modules: dict[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="crafter.policies.wasm")
    engine = WasmEngine(cache=ModuleCache())
    with pytest.raises(WasmPolicyError) as info:
        engine.evaluate(
            Script(modules["log_then_trap"], "t", "t.wasm", "wasm"), b"{}", {}, Limits(timeout=10)
        )
    assert info.value.message == (
        'policy "t": Policy trapped: wasm `unreachable` instruction executed; '
        "the policy last logged: cannot read the SBOM"
    )
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count(f"policy t: {LINE}") == MAX_LOG_LINES
    assert "policy t: 4,001 more log lines dropped" in messages  # 4,000 info lines and the error line


# -- the log's caps --------------------------------------------------------------------------------------------
def reader(text: str) -> Callable[[int], tuple[bytes, int]]:
    data = text.encode()
    return lambda limit: (data[:limit], len(data))


def test_lines_past_the_line_cap_are_counted_not_kept() -> None:
    log = GuestLog(logging.INFO)
    for i in range(2_000_000):
        log.write(logging.INFO, reader(f"line {i}"))
    assert len(log.entries) == MAX_LOG_LINES and log.dropped == 2_000_000 - MAX_LOG_LINES
    assert log.entries[-1].message == f"line {MAX_LOG_LINES - 1}" and log.entries[-1].from_guest


def test_lines_past_the_byte_cap_are_counted_not_kept() -> None:
    log = GuestLog(logging.INFO)
    line = "x" * 1000
    for _ in range(100):
        log.write(logging.WARNING, reader(line))
    assert len(log.entries) == MAX_LOG_BYTES // 1000 == 65 and log.size <= MAX_LOG_BYTES
    assert log.dropped == 35
    log.write(logging.INFO, reader("short"))  # once full, nothing more is kept, even what would fit
    assert len(log.entries) == 65 and log.dropped == 36


def test_a_long_line_is_cut() -> None:
    log = GuestLog(logging.INFO)
    log.write(logging.INFO, reader("y" * (MAX_LINE_BYTES + 500)))
    assert log.entries[0].message == "y" * MAX_LINE_BYTES + " [... 500 more bytes cut]"


def test_only_lines_the_logger_shows_count_but_the_last_error_is_remembered() -> None:
    log = GuestLog(logging.WARNING)
    for level in (5, logging.DEBUG, logging.INFO):  # trace, debug, info: not shown at WARNING
        log.write(level, reader("quiet"))
    assert log.entries == [] and log.dropped == 0
    log.write(logging.ERROR, reader("kept error"))
    assert log.last_error is None  # kept: classification sees it among the entries
    quiet = GuestLog(logging.CRITICAL)  # logging shows nothing: errors are still remembered for a trap
    quiet.write(logging.ERROR, reader("why it failed"))
    assert quiet.entries == [] and [e.message for e in quiet.for_classification] == ["why it failed"]


def test_the_host_state_cancels_the_call_once_past_its_deadline() -> None:
    cancels: list[int] = []
    state = HostState(time.monotonic() + 3600, lambda: cancels.append(1), GuestLog())
    state.check_deadline()
    assert cancels == [] and not state.cancelled
    state.deadline = time.monotonic() - 0.001
    state.check_deadline()
    state.check_deadline()
    assert cancels == [1] and state.cancelled  # once
