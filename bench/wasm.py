"""WASM policy evaluation: the compiled-module cache, and WASM against Rego and OPA on the same policy.

- Per-evaluation overhead with the engine's compiled-module cache against a fresh ``extism.Plugin`` per call,
  for the smallest module (a hand-written WAT policy) and the largest (a module carrying a 4 MiB data segment,
  like a big TinyGo build) (target: under 2 ms per evaluation whatever the size).
- The banned-license policy over generated CycloneDX SBOMs of 1,000 / 5,000 / 10,000 components: the shipped
  WASM module against the shipped Rego policy (regopy) and against OPA itself where its bindings import
  (target: WASM at 5,000 components in a fifth of OPA's time or less).
- Memory: the peak resident size of this process while one 10,000-component evaluation runs.

Usage: ``python bench/wasm.py [--runs 5]``. Needs ``wasmtime`` (dev extra) for the WAT modules.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import machine

from policies import BANNED, opa_eval, sbom

ROOT = Path(__file__).resolve().parents[1]

# The smallest useful policy: reports no violation.
SMALL_WAT = """
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\\"violations\\":[]}")
  (func (export "Execute") (result i32)
    (local $off i64) (local $i i32)
    (local.set $off (call $alloc (i64.const 17)))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $i) (i32.const 17)))
      (call $store_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
                      (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (call $output_set (local.get $off) (i64.const 17))
    (i32.const 0)))
"""


def large_wat(size: int) -> str:
    """The small policy plus a data segment of ``size`` bytes: a module as big as a large TinyGo build."""
    blob = "\\00" * size
    return SMALL_WAT.replace(
        "(data (i32.const 0)", f'(data (i32.const 1024) "{blob}")\n  (data (i32.const 0)'
    ).replace('(memory (export "memory") 1)', f'(memory (export "memory") {size // 65536 + 2})')


def timed(fn: Callable[[], Any], runs: int) -> float:
    values = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        values.append(time.perf_counter() - start)
    return statistics.median(values)


def overhead(runs: int) -> None:
    import extism
    import wasmtime

    from crafter._internal.policies.engines.interface import Limits, Script
    from crafter._internal.policies.engines.wasm import WasmEngine

    engine = WasmEngine()
    limits = Limits(timeout=60)
    for label, wat in (("smallest", SMALL_WAT), ("largest", large_wat(4 << 20))):
        wasm = wasmtime.wat2wasm(wat)
        script = Script(bytes(wasm), "bench", "bench", "wasm")
        engine.evaluate(script, b"{}", {}, limits)  # compile once
        cached = timed(lambda s=script: engine.evaluate(s, b"{}", {}, limits), runs * 10)
        manifest = {"wasm": [{"data": bytes(wasm)}], "timeout_ms": 60000, "memory": {"max_pages": 4096}}
        fresh = timed(lambda m=manifest: extism.Plugin(m, wasi=True).call("Execute", b"{}"), runs * 2)
        verdict = "met" if cached < 0.002 else "NOT met"
        print(
            f"{label:<9} module {len(wasm) / 1024:9.1f} KiB: cached compile {cached * 1000:7.2f} ms/evaluation"
            f" (target < 2 ms: {verdict}), fresh plugin per call {fresh * 1000:8.2f} ms, ratio {fresh / cached:6.1f}"
        )


def license_policy(runs: int, sizes: list[int]) -> None:
    from crafter._internal.policies.engines.interface import Limits, Script
    from crafter._internal.policies.engines.rego import RegoEngine
    from crafter._internal.policies.engines.wasm import WasmEngine

    wasm_module = (ROOT / "policies" / "cyclonedx-banned-licenses-wasm" / "policy.wasm").read_bytes()
    rego_source = (ROOT / "policies" / "cyclonedx-banned-licenses" / "policy.rego").read_bytes()
    wasm_engine, rego_engine = WasmEngine(), RegoEngine(workers=1)
    try:
        import opa_bindings  # type: ignore[import-not-found]  # noqa: F401

        have_opa = True
    except ImportError:
        have_opa = False
    limits = Limits(timeout=600)
    args = {"licenses": [s.strip() for s in BANNED.split(",")]}
    wasm_script = Script(wasm_module, "bench", "bench", "wasm")
    rego_script = rego_engine.prepare(Script(rego_source, "bench", "bench", "rego"))
    try:
        for n in sizes:
            doc = sbom(n)
            doc["chainloop_metadata"] = {"name": "sbom.json"}
            data = json.dumps(doc).encode()
            w = timed(lambda d=data: wasm_engine.evaluate(wasm_script, d, args, limits), runs)
            r = timed(lambda d=data: rego_engine.evaluate(rego_script, d, args, limits), runs)
            result = wasm_engine.evaluate(wasm_script, data, args, limits)
            line = f"{n:>6} components: WASM {w:7.3f} s ({len(result.violations)} violations) | regopy {r:7.3f} s"
            if have_opa:
                o = timed(lambda d=doc: opa_eval(rego_script.source.decode(), {**d, "args": args}), runs)
                target = (
                    f" (target <= 0.2 at 5,000: {'met' if w / o <= 0.2 else 'NOT met'})" if n == 5000 else ""
                )
                line += f" | OPA {o:7.3f} s | WASM/OPA {w / o:5.2f}{target}"
            print(line, flush=True)
    finally:
        rego_engine.close()


def memory(n: int) -> None:
    """Run in a fresh process: the resident memory one evaluation over an ``n``-component SBOM adds."""
    from crafter._internal.policies.engines.interface import Limits, Script
    from crafter._internal.policies.engines.wasm import WasmEngine

    wasm_module = (ROOT / "policies" / "cyclonedx-banned-licenses-wasm" / "policy.wasm").read_bytes()
    engine, script = WasmEngine(), Script(wasm_module, "bench", "bench", "wasm")
    args = {"licenses": [s.strip() for s in BANNED.split(",")]}
    engine.evaluate(script, b"{}", args, Limits())  # compiled, runtime warm
    import gc
    import threading

    data = json.dumps(sbom(n)).encode()
    gc.collect()
    before = _rss()
    peak = [before]
    done = threading.Event()

    def sample() -> None:  # the resident size, sampled while the evaluation runs (ru_maxrss only grows)
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.0005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    engine.evaluate(script, data, args, Limits())
    done.set()
    sampler.join()
    print(
        f"resident memory added by one {n:,}-component WASM evaluation ({len(data) / 2**20:.1f} MiB input): "
        f"{(peak[0] - before) / 2**20:.1f} MiB"
    )


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--memory-only", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_only:
        memory(args.memory_only)
        return
    print(machine())
    overhead(args.runs)
    license_policy(args.runs, [int(x) for x in args.sizes.split(",")])
    import subprocess
    import sys

    subprocess.run([sys.executable, __file__, "--memory-only", "10000"], check=True)


if __name__ == "__main__":
    main()
