"""Hostile and broken policies: time, memory, crashes, the environment, stdout; pool behaviour and cost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from crafter._internal.policies.engines.interface import Limits
from crafter._internal.policies.engines.rego import RegoEngine
from crafter._internal.policies.engines.sandbox import ENV_KEPT, Job, Sandbox
from crafter.errors import PolicyError

from .conftest import fixture, query

ROOT = Path(__file__).resolve().parents[3]
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs /proc (memory cap, process state)"
)
TINY = 'package main\nresult := {"violations": [], "x": input.x}\n'


def _tiny_job(timeout: float = 30.0) -> Job:
    return Job("tiny", TINY, "data.main.result", b'{"x": 1}', {}, timeout, 256 << 20)


def test_endless_evaluation_is_stopped_and_the_worker_replaced() -> None:
    with Sandbox(workers=1) as pool:
        pool.run(_tiny_job())
        first = pool._idle[0].proc
        job = Job("slow", fixture("slow").source.decode(), "data.main.result", b"{}", {}, 2.0, 256 << 20)
        started = time.monotonic()
        with pytest.raises(PolicyError) as caught:
            pool.run(job)
        elapsed = time.monotonic() - started
        assert str(caught.value) == 'policy "slow" timed out after 2 s'
        assert caught.value.hint is not None and "--policy-timeout" in caught.value.hint
        assert 2.0 <= elapsed < 30.0
        assert first.poll() == -signal.SIGKILL
        assert pool.run(_tiny_job()).value == {"violations": [], "x": 1}  # a fresh worker
        assert pool._idle[0].proc.pid != first.pid


def test_engine_timeout_then_next_evaluation_works(regopy_engine: RegoEngine) -> None:
    with pytest.raises(PolicyError, match=r'^policy "slow" timed out after 1\.5 s$'):
        regopy_engine.evaluate(fixture("slow"), b"{}", {}, Limits(timeout=1.5))
    result = regopy_engine.evaluate(fixture("arguments"), b"{}", {"foo": "bar"}, Limits())
    assert [v.message for v in result.violations] == ["foo is bar"]


def test_recursion_is_an_error(engine: RegoEngine, limits: Limits) -> None:
    started = time.monotonic()
    with pytest.raises(
        PolicyError, match=r'^policy "recursion": failed to (parse|evaluate) policy: .*(ecursion|recursive)'
    ):
        engine.evaluate(fixture("recursion"), b"{}", {}, limits)
    assert time.monotonic() - started < 10


@linux_only
def test_memory_bomb_is_stopped_by_the_cap(engine: RegoEngine) -> None:
    with pytest.raises(PolicyError) as caught:
        engine.evaluate(fixture("memory_bomb"), b"{}", {}, Limits(timeout=60, memory_bytes=256 << 20))
    assert str(caught.value) == 'policy "memory-bomb" ran out of memory (limit 256 MiB)'
    assert engine.evaluate(fixture("arguments"), b"{}", {"foo": "x"}, Limits()).violations == ()


def test_a_crashing_worker_is_reported_and_replaced() -> None:
    with Sandbox(workers=1) as pool:
        pool.run(_tiny_job())
        victim = pool._idle[0].proc
        job = Job("victim", fixture("slow").source.decode(), "data.main.result", b"{}", {}, 30.0, 256 << 20)
        threading.Timer(0.5, os.kill, (victim.pid, signal.SIGSEGV)).start()
        with pytest.raises(
            PolicyError, match=r'^policy "victim": the Rego worker crashed \(signal SIGSEGV\)'
        ):
            pool.run(job)
        assert pool.run(_tiny_job()).defined


def test_worker_environment_holds_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the engine (which refuses opa.runtime), the worker itself has nothing to leak."""
    monkeypatch.setenv("CRAFTER_TEST_SECRET", "hunter2")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-policies")
    with Sandbox(workers=1) as pool:
        env = query(pool, "package main\nenv := opa.runtime().env\n", "data.main.env")
    assert "CRAFTER_TEST_SECRET" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert set(env) <= set(ENV_KEPT)
    assert "hunter2" not in repr(env)


def test_native_output_never_reaches_stdout(sandbox: Sandbox, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PolicyError, match="failed to parse policy"):
        query(sandbox, "package main\nx := {\n", "data.main.x")  # regopy prints its error report to fd 1
    outcome = sandbox.run(
        Job("p", 'package main\nx if print("to fd 1")\n', "data.main.x", b"{}", None, 30, 256 << 20)
    )
    assert outcome.prints == ("to fd 1",)
    out, err = capfd.readouterr()
    assert out == "" and "to fd 1" not in err


def test_parallel_evaluations_share_the_pool(regopy_engine: RegoEngine) -> None:
    results: dict[int, list[str]] = {}

    def work(i: int) -> None:
        value = "bar" if i % 2 else "baz"
        result = regopy_engine.evaluate(fixture("arguments"), b"{}", {"foo": value}, Limits())
        results[i] = [v.message for v in result.violations]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: (["foo is bar"] if i % 2 else []) for i in range(12)}
    pool = regopy_engine._sandbox
    assert pool is not None and len(pool._all) <= pool.max_workers


def test_close_kills_the_workers() -> None:
    pool = Sandbox(workers=2)
    pool.run(_tiny_job())
    procs = [w.proc for w in pool._all]
    pool.close()
    assert procs and all(p.poll() is not None for p in procs)
    with pytest.raises(PolicyError, match="closed"):
        pool.run(_tiny_job())


@linux_only
def test_workers_do_not_outlive_crafter(tmp_path: Path) -> None:
    """A crafter process that dies without closing anything takes its workers with it."""
    program = (
        "import os, sys\n"
        "from crafter._internal.policies.engines.sandbox import Job, Sandbox\n"
        "pool = Sandbox(workers=1)\n"
        f"pool.run(Job('t', {TINY!r}, 'data.main.result', b'{{}}', {{}}, 30, 1 << 28))\n"
        "print(pool._idle[0].proc.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    worker = int(done.stdout.strip())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.05)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_tiny_evaluation_overhead_is_small(regopy_engine: RegoEngine) -> None:
    """Warm worker, cached module: measured 0.6-1 ms on a 2-core VM; the bound is generous for CI noise."""
    script = fixture("arguments")
    regopy_engine.evaluate(script, b"{}", {"foo": "bar"}, Limits())
    times = []
    for _ in range(30):
        started = time.perf_counter()
        regopy_engine.evaluate(script, b"{}", {"foo": "bar"}, Limits())
        times.append(time.perf_counter() - started)
    assert sorted(times)[len(times) // 2] < 0.05
