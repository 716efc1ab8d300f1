"""Policy evaluation speed: the shipped banned-license policy against OPA itself, and the verifier's parallelism.

- The shipped ``cyclonedx-banned-licenses`` policy over generated CycloneDX SBOMs of 1,000, 5,000 and 10,000
  components, one evaluation each through crafter's Rego engine (regopy backend, sandboxed worker), against
  OPA's own bindings evaluating the same prepared source on the same input in this process (target: within 3
  times OPA; with ``--rego-backend opa``, equal to OPA).
- The same rule written set-style (``violations contains msg if``), as users often write it.
- A repeated evaluation, served from the verifier's cache.
- A push-like run: 50 materials and 100 attachments, parallel against one worker.

Needs the OPA bindings for the baseline (``pip install --ignore-requires-python -r tests/requirements-opa.txt``).
Usage: ``python bench/policies.py [--sizes 1000,5000,10000] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
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
    args = parser.parse_args()
    from crafter.policies.engines.interface import Limits, Script
    from crafter.policies.engines.rego import RegoEngine

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


def cache_and_parallel(runs: int) -> None:
    """A repeated evaluation from the cache; 50 materials x 2 attachments each, parallel vs one worker."""
    from crafter.contract import Contract
    from crafter.crafting_state import Attestation, CraftingState, Material, WorkflowMetadata
    from crafter.policies.verifier import PolicyVerifier, VerifierOptions

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
