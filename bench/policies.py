"""Policy evaluation speed: the shipped banned-license policy against OPA itself, and the verifier's parallelism.

- The shipped ``cyclonedx-banned-licenses`` policy over generated CycloneDX SBOMs of 1,000, 5,000 and 10,000
  components, one evaluation each through crafter's Rego engine (regopy backend, sandboxed worker), against
  OPA's own bindings evaluating the same prepared source on the same input in this process (target: within 3
  times OPA; with ``--rego-backend opa``, equal to OPA).
- The same rule written set-style (``violations contains msg if``), as users often write it.
- A repeated evaluation, served from the verifier's cache.
- A push-like run: 50 materials and 100 attachments, parallel against one worker.
- Large SBOMs (``--large``, default 10,000, 20,000 and 50,000 components shaped as syft writes them: hashes,
  references, properties): time and memory of one evaluation under the default cap, against the
  previous input path (the parsed document handed to regopy's ``set_input`` and kept through the query) run
  in a fresh process under the same cap. Memory is the address space the evaluation added (what the cap
  counts) and the worker's peak resident size. An input that does not fit is run again with the limit the
  error suggests.

Needs the OPA bindings for the baseline (``pip install --ignore-requires-python -r tests/requirements-opa.txt``).
Usage: ``python bench/policies.py [--sizes 1000,5000,10000] [--runs 3] [--large 10000,20000,50000]``
(``--large ''`` skips the large SBOMs; they take several minutes and up to 4 GB of memory).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import machine

ROOT = Path(__file__).resolve().parents[1]
LICENSES = [
    "MIT",
    "Apache-2.0",
    "BSD-3-Clause",
    "ISC",
    "GPL-3.0-only",
    "AGPL-3.0-only",
    "LGPL-2.1-only",
    "MPL-2.0",
]
BANNED = "GPL-3.0-only, AGPL-3.0-only"

SET_STYLE = """package main

import rego.v1

banned := {l | some l in input.args.licenses}

violations contains msg if {
    some comp in input.components
    some lic in comp.licenses
    lic.license.id in banned
    msg := sprintf("component %s uses banned license %s", [comp.name, lic.license.id])
}
"""


def sbom(n: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "timestamp": "2026-11-01T10:00:00Z",
            "component": {"type": "application", "name": "app"},
        },
        "components": [
            {
                "type": "library",
                "name": f"pkg-{i}",
                "version": f"1.{i % 17}.{i % 5}",
                "purl": f"pkg:pypi/pkg-{i}@1.0",
                "licenses": [{"license": {"id": rng.choice(LICENSES)}}],
            }
            for i in range(n)
        ],
    }


def syft_like_sbom(n: int, seed: int = 1) -> dict[str, Any]:
    """An SBOM whose components carry what syft writes (about 900 bytes of JSON each)."""
    rng = random.Random(seed)
    components = []
    for i in range(n):
        name, version = f"pkg-{i}", f"1.{i % 17}.{i % 5}"
        digest = hashlib.sha256(name.encode()).hexdigest()
        components.append(
            {
                "bom-ref": f"pkg:npm/{name}@{version}?package-id={digest[:16]}",
                "type": "library",
                "author": f"Author {i % 300} <author{i % 300}@example.com>",
                "name": name,
                "version": version,
                "description": f"A description of {name}, a library for things",
                "licenses": [{"license": {"id": rng.choice(LICENSES)}}],
                "cpe": f"cpe:2.3:a:{name}:{name}:{version}:*:*:*:*:*:*:*",
                "purl": f"pkg:npm/{name}@{version}",
                "hashes": [{"alg": "SHA-256", "content": digest}],
                "externalReferences": [
                    {
                        "type": "distribution",
                        "url": f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz",
                    },
                    {"type": "vcs", "url": f"git+https://github.com/example/{name}.git"},
                ],
                "properties": [
                    {"name": "syft:package:foundBy", "value": "javascript-lock-cataloger"},
                    {"name": "syft:package:language", "value": "javascript"},
                    {"name": "syft:package:type", "value": "npm"},
                    {"name": "syft:location:0:path", "value": "/app/package-lock.json"},
                ],
            }
        )
    doc = sbom(0)
    doc["components"] = components
    return doc


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    values = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        values.append(time.perf_counter() - start)
    return statistics.median(values), result


def opa_eval(source: str, doc: dict[str, Any]) -> Any:
    from opa_bindings import OpaEngine  # type: ignore[import-not-found]

    with OpaEngine() as engine:
        engine.add_policy("policy.rego", source)
        return engine.eval_document("main.result", doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large", default="10000,20000,50000", help="component counts of the large SBOMs")
    parser.add_argument("--only-large", action="store_true", help="run the large SBOMs only")
    args = parser.parse_args()
    if args.only_large:
        print(machine())
        large_sboms([int(x) for x in args.large.split(",") if x])
        return
    from crafter._internal.policies.engines.interface import Limits, Script
    from crafter._internal.policies.engines.rego import RegoEngine

    print(machine())
    try:
        import opa_bindings  # type: ignore[import-not-found]  # noqa: F401

        have_opa = True
    except ImportError:
        have_opa = False
        print("OPA bindings not installed: ratios against OPA are not printed")
    policy_dir = ROOT / "policies" / "cyclonedx-banned-licenses"
    shipped = (policy_dir / "policy.rego").read_bytes()
    engines = {"regopy": RegoEngine(backend="regopy", workers=1)}
    if have_opa:
        engines["opa"] = RegoEngine(backend="opa", workers=1)
    limits = Limits(timeout=600)
    argv = {"licenses": [s.strip() for s in BANNED.split(",")]}
    try:
        for n in [int(x) for x in args.sizes.split(",")]:
            doc = sbom(n)
            doc["chainloop_metadata"] = {"name": "sbom.json"}
            data = json.dumps(doc).encode()
            for style, source in (("shipped", shipped), ("set-style", SET_STYLE.encode())):
                script = engines["regopy"].prepare(Script(source, "bench", "bench", "rego"))
                ours, result = timed(
                    lambda s=script, d=data: engines["regopy"].evaluate(s, d, argv, limits), args.runs
                )
                line = f"{style:<9} {n:>6} components: regopy {ours:7.3f} s ({len(result.violations)} violations)"
                if have_opa:
                    doc_args = {**doc, "args": argv}
                    base, _ = timed(lambda s=script, d=doc_args: opa_eval(s.source.decode(), d), args.runs)
                    opa_engine, _ = timed(
                        lambda s=script, d=data: engines["opa"].evaluate(s, d, argv, limits), args.runs
                    )
                    line += (
                        f" | OPA in-process {base:7.3f} s | ratio {ours / base:5.2f} (target <= 3)"
                        f" | --rego-backend opa {opa_engine:7.3f} s ratio {opa_engine / base:5.2f} (target 1)"
                    )
                print(line, flush=True)
        cache_and_parallel(args.runs)
    finally:
        for engine in engines.values():
            engine.close()
    large_sboms([int(x) for x in args.large.split(",") if x])


# The worker's previous input path, as a script for a fresh process: the document parsed, handed to regopy's
# set_input and kept through the query, under the cap the worker applies (its size plus 1 GiB).
_BEFORE = """
import json, resource, sys, time
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
import regopy
source, path, licenses = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
start_vm = status("VmSize")
resource.setrlimit(resource.RLIMIT_AS, (start_vm + (1 << 30), resource.RLIM_INFINITY))
started = time.perf_counter()
data = open(path, "rb").read()
doc = json.loads(data)
doc["args"] = {"licenses": licenses}
interpreter = regopy.Interpreter()
interpreter.strict_built_in_errors = True
interpreter.add_module("policy.rego", source)
interpreter.set_input(doc)
out = str(interpreter.query("data.main.result"))
print(json.dumps({"seconds": time.perf_counter() - started, "added": status("VmPeak") - start_vm,
                  "hwm": status("VmHWM"), "ok": out.startswith("{")}))
"""


def large_sboms(sizes: list[int]) -> None:
    """One evaluation of the shipped policy on large syft-like SBOMs: before (previous input path) and now."""
    if not sizes:
        return
    from crafter._internal.policies.engines.interface import Limits, Script
    from crafter._internal.policies.engines.rego import RegoEngine
    from crafter._internal.policies.engines.sandbox import input_bytes

    shipped = (ROOT / "policies" / "cyclonedx-banned-licenses" / "policy.rego").read_bytes()
    argv = {"licenses": [s.strip() for s in BANNED.split(",")]}
    print(
        "large SBOMs, one evaluation each under the default cap: 1 GiB for the policy plus the input's estimated"
        " copy (added = address space the cap counts); before: the old input path under a flat 1 GiB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            doc = syft_like_sbom(n)
            doc["chainloop_metadata"] = {"name": "sbom.json"}
            data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
            del doc
            path = Path(tmp) / "sbom.json"
            path.write_bytes(data)
            prepared = RegoEngine(workers=1).prepare(Script(shipped, "bench", "bench", "rego"))
            proc = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _BEFORE,
                    prepared.source.decode(),
                    str(path),
                    json.dumps(argv["licenses"]),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode == 0:
                before = json.loads(proc.stdout)
                was = f"{before['seconds']:6.1f} s, +{before['added'] >> 20:5d} MiB, peak RSS {before['hwm'] >> 20:5d} MiB"
            else:
                before = None
                last = (proc.stderr.strip().splitlines() or ["?"])[-1]
                was = f"failed at 1 GiB ({last.strip()[:60]})"
            line = f"{n:>6} components ({len(data) / 1e6:5.1f} MB): before {was} | now "
            now, error = _evaluate_in_fresh_worker(prepared, data, argv, Limits(timeout=600))
            if error is not None and "out of memory" in error:
                suggested = -(-input_bytes(data) // (256 << 20)) * (256 << 20)
                line += f"out of memory at 1024 MiB; at {suggested >> 20} MiB: "
                now, error = _evaluate_in_fresh_worker(
                    prepared, data, argv, Limits(timeout=600, memory_bytes=suggested)
                )
            if error is not None:
                print(line + f"failed: {error}", flush=True)
                continue
            seconds, added, hwm = now
            line += f"{seconds:6.1f} s, +{added >> 20:5d} MiB, peak RSS {hwm >> 20:5d} MiB"
            if before is not None:
                line += (
                    f" | ratio time {seconds / before['seconds']:4.2f}, memory {added / before['added']:4.2f}"
                )
            print(line, flush=True)


def _evaluate_in_fresh_worker(
    prepared: Any, data: bytes, argv: dict[str, Any], limits: Any
) -> tuple[tuple[float, int, int], str | None]:
    """(seconds, address space added, peak RSS) of one evaluation in a new worker, or the error."""
    from crafter._internal.policies.engines.interface import Limits, Script
    from crafter._internal.policies.engines.rego import RegoEngine
    from crafter.errors import PolicyError

    engine = RegoEngine(workers=1)
    try:
        warm = engine.prepare(Script(b"package main\n\nviolations := []\n", "warm", "warm", "rego"))
        engine.evaluate(warm, b"{}", {}, Limits())  # start the worker: its size before the evaluation
        worker = engine._pool()._idle[0]  # bench only: the worker's /proc entry
        start_vm = _proc_status(worker.proc.pid, "VmSize")
        started = time.perf_counter()
        try:
            engine.evaluate(prepared, data, argv, limits)
        except PolicyError as exc:
            return (0.0, 0, 0), exc.message
        seconds = time.perf_counter() - started
        worker = engine._pool()._idle[0]
        pid = worker.proc.pid
        return (seconds, _proc_status(pid, "VmPeak") - start_vm, _proc_status(pid, "VmHWM")), None
    finally:
        engine.close()


def _proc_status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def cache_and_parallel(runs: int) -> None:
    """A repeated evaluation from the cache; 50 materials x 2 attachments each, parallel vs one worker."""
    from crafter._internal.contract import Contract
    from crafter._internal.crafting_state import Attestation, CraftingState, Material, WorkflowMetadata
    from crafter._internal.policies.verifier import PolicyVerifier, VerifierOptions

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        doc = sbom(200)
        path = work / "sbom.json"
        path.write_text(json.dumps(doc))
        # 100 attachments: two per material, selected by name.
        attachments = [
            attachment
            for i in range(50)
            for attachment in (
                {
                    "ref": "builtin://cyclonedx-banned-licenses",
                    "selector": {"name": f"sbom-{i}"},
                    "with": {"licenses": BANNED},
                },
                {
                    "ref": "builtin://sbom-min-components",
                    "selector": {"name": f"sbom-{i}"},
                    "with": {"min_components": str(i + 1)},
                },
            )
        ]
        contract = Contract.from_document(
            {"schemaVersion": "v1", "policies": {"materials": attachments}}, "bench"
        )
        state = CraftingState(
            contract=contract.document,
            attestation=Attestation(initialized_at="t", workflow=WorkflowMetadata(name="b", project="b")),
        )
        materials = [  # 50 materials of 200 components
            Material(name=f"sbom-{i}", kind="SBOM_CYCLONEDX_JSON", added_at="t", digest="sha256:" + "0" * 64)
            for i in range(50)
        ]
        for workers in (1, 2):
            verifier = PolicyVerifier(contract, cwd=work, options=VerifierOptions(max_workers=workers))
            try:
                start = time.perf_counter()
                for m in materials:
                    verifier.verify_material(state, m, str(path))
                label = "one worker" if workers == 1 else "parallel (2 workers)"
                print(f"50 materials x 2 attachments, {label:<24} {time.perf_counter() - start:7.3f} s")
            finally:
                verifier.close()
        verifier = PolicyVerifier(contract, cwd=work)
        try:
            first, _ = timed(lambda: verifier.verify_material(state, materials[0], str(path)), 1)
            again, _ = timed(lambda: verifier.verify_material(state, materials[0], str(path)), runs)
            print(
                f"repeated evaluation: first {first:7.3f} s, again {again:7.4f} s (from cache unless the clock moved)"
            )
        finally:
            verifier.close()


if __name__ == "__main__":
    main()
