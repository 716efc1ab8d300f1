"""Cross-engine conformance: the WASM versions of library policies answer exactly as their Rego versions.

``policies/NAME-wasm`` is built from ``policies/wasm/src/NAME.ts`` by ``policies/wasm/build.sh`` (CI checks the
committed modules are what a rebuild gives). Here, for each pair:

* the documents declare the same inputs and kinds, and the WASM version's cases are the Rego version's;
* on every fixture case, the module called directly through the Extism SDK (the WASM contract: input document,
  ``args`` config, ``output_set`` result) gives the Rego evaluation's violations, skip and skip reason;
* on edge inputs (objects where arrays are expected, wrong types, odd arguments, nesting limits, non-ASCII and
  escaped text), the Rego engine and the module agree;
* end to end, through :func:`crafter._internal.policies.verifier.evaluate_policy` and ``run_cases``: every case of both
  versions passes, and the two evaluations of every fixture are the same. These need the WASM engine
  (``crafter/_internal/policies/engines/wasm.py``) registered, and are skipped, saying so, until it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from crafter._internal.policies.args import engine_args
from crafter._internal.policies.engines.interface import Limits, Script
from crafter._internal.policies.engines.rego import RegoEngine
from crafter._internal.policies.testing import Case, find_cases, run_cases
from crafter._internal.policies.verifier import VerifierOptions, default_engines, evaluate_policy

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
PAIRS = ["cyclonedx-banned-licenses", "cyclonedx-vulnerabilities", "junit-all-passed"]
LIMITS = Limits(timeout=30)


def _wasm_engine_registered() -> bool:
    return "wasm" in default_engines(VerifierOptions())


NEEDS_WASM_ENGINE = pytest.mark.skipif(
    not _wasm_engine_registered(),
    reason="end to end through evaluate_policy needs the WASM engine, not registered yet "
    "(crafter/_internal/policies/engines/wasm.py); the modules are checked through the Extism SDK directly meanwhile",
)

Answer = tuple[list[str], bool, str]  # violations, skipped, skip reason


def _wasm_dir(name: str) -> Path:
    return POLICIES / f"{name}-wasm"


def _call_module(wasm: bytes, input_json: bytes, args: Mapping[str, Any]) -> Answer:
    """The WASM contract, by hand: a fresh instance, ``args`` config only when there are arguments."""
    import extism

    manifest: dict[str, Any] = {"wasm": [{"data": wasm}], "memory": {"max_pages": 16384}, "timeout_ms": 30000}
    if args:
        manifest["config"] = {"args": json.dumps(dict(args))}
    plugin = extism.Plugin(manifest, wasi=True)
    out = json.loads(plugin.call("Execute", input_json))
    assert set(out) == {"violations", "skipped", "skip_reason", "ignore"}, out
    assert out["ignore"] is False
    return out["violations"], out["skipped"], out["skip_reason"]


def _rego_answer(engine: RegoEngine, name: str, input_json: bytes, args: Mapping[str, Any]) -> Answer:
    source = (POLICIES / name / "policy.rego").read_bytes()
    prepared = engine.prepare(Script(source, name, f"{name}/policy.rego", "rego"))
    result = engine.evaluate(prepared, input_json, args, LIMITS)
    return [v.message for v in result.violations], result.skipped, result.skip_reason


def _wasm_answer(name: str, input_json: bytes, args: Mapping[str, Any]) -> Answer:
    wasm = (_wasm_dir(name) / "policy.wasm").read_bytes()
    engines = default_engines(VerifierOptions())
    if "wasm" not in engines:
        return _call_module(wasm, input_json, args)
    try:
        engine = engines.get("wasm")
        result = engine.evaluate(
            Script(wasm, f"{name}-wasm", "policy.wasm", "wasm"), input_json, args, LIMITS
        )
    finally:
        engines.close()
    return [v.message for v in result.violations], result.skipped, result.skip_reason


@pytest.fixture(scope="module")
def rego() -> Iterator[RegoEngine]:
    engine = RegoEngine()
    yield engine
    engine.close()


# -- the documents and their cases -------------------------------------------------------------------------
@pytest.mark.parametrize("name", PAIRS)
def test_same_document_but_the_script(name: str) -> None:
    rego_doc = yaml.safe_load((POLICIES / name / "policy.yaml").read_text())
    wasm_doc = yaml.safe_load((_wasm_dir(name) / "policy.yaml").read_text())
    assert wasm_doc["metadata"]["name"] == f"{name}-wasm"
    assert wasm_doc["metadata"]["annotations"] == rego_doc["metadata"]["annotations"]
    assert wasm_doc["spec"]["inputs"] == rego_doc["spec"]["inputs"]
    assert [s["kind"] for s in wasm_doc["spec"]["policies"]] == [
        s["kind"] for s in rego_doc["spec"]["policies"]
    ]
    digest = hashlib.sha256((_wasm_dir(name) / "policy.wasm").read_bytes()).hexdigest()
    for script in wasm_doc["spec"]["policies"]:
        assert script["path"] == f"policy.wasm@sha256:{digest}" and script["engine"] == "wasm"


@pytest.mark.parametrize("name", PAIRS)
def test_cases_are_the_rego_versions(name: str) -> None:
    """build.sh copies tests/ over; a case changed on one side only fails here before CI's rebuild check."""
    ours = sorted(p.relative_to(_wasm_dir(name) / "tests") for p in (_wasm_dir(name) / "tests").rglob("*"))
    theirs = sorted(p.relative_to(POLICIES / name / "tests") for p in (POLICIES / name / "tests").rglob("*"))
    assert ours == theirs
    for rel in ours:
        if (POLICIES / name / "tests" / rel).is_file():
            same = (_wasm_dir(name) / "tests" / rel).read_bytes() == (
                POLICIES / name / "tests" / rel
            ).read_bytes()
            assert same, f"{rel} differs: run policies/wasm/build.sh"


@pytest.mark.parametrize("name", PAIRS)
def test_module_contract(name: str) -> None:
    """One export to call, ``Execute``; no WASI or other imports beyond Extism's own."""
    import extism

    wasm = (_wasm_dir(name) / "policy.wasm").read_bytes()
    assert wasm.startswith(b"\x00asm")
    plugin = extism.Plugin({"wasm": [{"data": wasm}]}, wasi=False)  # links without WASI
    assert plugin.function_exists("Execute")
    assert not plugin.function_exists("_start")


# -- every fixture: the module, called directly, against the Rego evaluation --------------------------------
def _fixture_params() -> list[Any]:
    return [
        pytest.param(name, path, id=f"{name}/{path.stem}")
        for name in PAIRS
        for path in find_cases(POLICIES / name)
    ]


@pytest.mark.parametrize(("name", "path"), _fixture_params())
def test_fixture_module_answers_as_rego(name: str, path: Path) -> None:
    evaluation = Case.from_file(path).evaluate()
    assert evaluation is not None
    args = engine_args(evaluation.with_)
    wasm = (_wasm_dir(name) / "policy.wasm").read_bytes()
    violations, skipped, reason = _call_module(wasm, evaluation.input_json, args)
    assert violations == [v.message for v in evaluation.violations]
    assert skipped == evaluation.skipped
    assert ([reason] if skipped and reason else []) == list(evaluation.skip_reasons)


# -- edge inputs ----------------------------------------------------------------------------------------------
BL, VU, JU = PAIRS


def _cdx(**fields: Any) -> dict[str, Any]:
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", **fields}


def _lic(license_id: str) -> dict[str, Any]:
    return {"license": {"id": license_id}}


def _chain(depth: int, leaf: dict[str, Any], key: str) -> dict[str, Any]:
    node = leaf
    for level in range(depth, 0, -1):
        node = (
            {"name": f"l{level}", "testcases": [], key: [node]}
            if key == "suites"
            else {"name": f"l{level}", key: [node]}
        )
    return node


_FAIL = {"testcases": [{"name": "deep", "status": "failed"}]}
EDGE: list[tuple[str, str, Any, dict[str, Any]]] = [
    # cyclonedx-banned-licenses
    ("not an SBOM", BL, {}, {"licenses": "MIT"}),
    ("SPDX format", BL, {"bomFormat": "SPDX"}, {"licenses": "MIT"}),
    ("no components", BL, _cdx(), {"licenses": "MIT"}),
    ("empty licenses", BL, _cdx(components=[{"name": "a", "licenses": []}]), {"licenses": "MIT"}),
    (
        "first entry false",
        BL,
        _cdx(components=[{"name": "a", "licenses": [False, _lic("MIT")]}]),
        {"licenses": "MIT"},
    ),
    (
        "first entry false, another licensed",
        BL,
        _cdx(
            components=[
                {"name": "a", "licenses": [False, _lic("MIT")]},
                {"name": "b", "licenses": [_lic("X")]},
            ]
        ),
        {"licenses": "MIT"},
    ),
    (
        "first entry null",
        BL,
        _cdx(components=[{"name": "a", "licenses": [None, _lic("MIT")]}]),
        {"licenses": "mit"},
    ),
    (
        "components as an object",
        BL,
        _cdx(
            components={
                "b": {"name": "b", "licenses": [_lic("MIT")]},
                "a": {"name": "a", "licenses": [_lic("MIT")]},
            }
        ),
        {"licenses": "MIT"},
    ),
    (
        "licenses as an object",
        BL,
        _cdx(
            components=[
                {"name": "a", "licenses": {"z": _lic("MIT")}},
                {"name": "b", "licenses": [_lic("MIT")]},
            ]
        ),
        {"licenses": ["gpl", "MIT"]},
    ),
    (
        "id not a string",
        BL,
        _cdx(components=[{"name": "a", "licenses": [{"license": {"id": 5, "name": "MIT"}}]}]),
        {"licenses": "MIT"},
    ),
    (
        "id before name before expression",
        BL,
        _cdx(
            components=[
                {"name": "a", "licenses": [{"license": {"id": "MIT", "name": "GPL"}, "expression": "GPL"}]}
            ]
        ),
        {"licenses": "GPL"},
    ),
    (
        "expression operators and spacing",
        BL,
        _cdx(
            components=[
                {
                    "name": "a",
                    "licenses": [{"expression": "(MIT  OR  (GPL-3.0-only with X-exception)) and or"}],
                }
            ]
        ),
        {"licenses": ["x-exception", "gpl-3.0-only", "AND"]},
    ),
    (
        "labels",
        BL,
        _cdx(
            components=[
                {"purl": 3, "name": "n", "version": "1", "licenses": [_lic("MIT")]},
                {"version": "1", "licenses": [_lic("MIT")]},
                {"name": "only", "licenses": [_lic("MIT")]},
                {"licenses": [_lic("MIT"), _lic("MIT")]},
            ]
        ),
        {"licenses": "MIT"},
    ),
    (
        "three levels deep are not read",
        BL,
        _cdx(components=[_chain(3, {"name": "leaf", "licenses": [_lic("MIT")]}, "components")]),
        {"licenses": "MIT"},
    ),
    (
        "two levels deep are read",
        BL,
        _cdx(components=[_chain(2, {"name": "leaf", "licenses": [_lic("MIT")]}, "components")]),
        {"licenses": "MIT"},
    ),
    ("no licenses argument", BL, _cdx(components=[{"name": "a", "licenses": [_lic("MIT")]}]), {}),
    (
        "non-ASCII and escaped text",
        BL,
        _cdx(
            components=[
                {
                    "name": 'Ünï "q" \\ \t\u0001 ☃ 😀',
                    "purl": "pkg:x/é@1",
                    "licenses": [_lic("GPL-3.0-ONLY"), _lic("LİCENSE"), _lic("Éa")],
                }
            ]
        ),
        {"licenses": ["gpl-3.0-only", "lİcense", "éA"]},
    ),
    (
        "components of other types",
        BL,
        _cdx(
            components=[
                "s",
                5,
                None,
                {"name": "x", "licenses": "MIT"},
                {"name": "y", "licenses": [_lic("MIT")]},
            ]
        ),
        {"licenses": "MIT"},
    ),
    # cyclonedx-vulnerabilities
    ("not an SBOM", VU, {}, {}),
    ("no report", VU, _cdx(), {}),
    ("report as an object", VU, _cdx(vulnerabilities={}), {}),
    ("severity list", VU, _cdx(vulnerabilities=[]), {"severity": ["high", 'lo"w\\', "é"]}),
    ("severity list, HTML characters", VU, _cdx(vulnerabilities=[]), {"severity": ["<a>", "&b"]}),
    ("severity unknown", VU, _cdx(vulnerabilities=[]), {"severity": "unknown"}),
    (
        "upper-case names",
        VU,
        _cdx(vulnerabilities=[{"id": "A", "ratings": [{"severity": "HIGH"}]}]),
        {"severity": "CRITICAL"},
    ),
    (
        "mixed-case names",
        VU,
        _cdx(vulnerabilities=[{"id": "A", "ratings": [{"severity": "HIGH"}]}]),
        {"severity": "High"},
    ),
    (
        "ratings and affects as objects",
        VU,
        _cdx(
            vulnerabilities=[
                {
                    "id": "A",
                    "ratings": {"b": {"severity": "low"}, "a": {"severity": "critical"}},
                    "affects": {"x": {"ref": "r2"}, "a": {"ref": "r1"}},
                }
            ]
        ),
        {"severity": "none"},
    ),
    (
        "ids and refs of other types",
        VU,
        _cdx(
            vulnerabilities=[
                {"ratings": [{"severity": "none"}], "affects": [{"ref": 1}, {"ref": "ok"}, "s"]},
                {"id": 7, "ratings": [{"severity": "info"}]},
            ]
        ),
        {"severity": "none"},
    ),
    (
        "analysis states",
        VU,
        _cdx(
            vulnerabilities=[
                {"id": i, "ratings": [{"severity": "high"}], "analysis": a}
                for i, a in [
                    ("A", {"state": "resolved"}),
                    ("B", {"state": "in_triage"}),
                    ("C", "resolved"),
                    ("D", {"state": 3}),
                    ("E", {"state": None}),
                ]
            ]
        ),
        {},
    ),
    (
        "ratings without a known severity",
        VU,
        _cdx(
            vulnerabilities=[
                {"id": "A", "ratings": [{"severity": "unknown"}, {"severity": 4}, {}]},
                {"id": "B"},
            ]
        ),
        {"severity": "none"},
    ),
    # junit-all-passed
    ("no elements", JU, {}, {}),
    ("elements as an object", JU, {"elements": {}}, {}),
    ("suite without test cases", JU, {"elements": [{"tests": 1}]}, {}),
    ("count as a string", JU, {"elements": [{"tests": "1", "testcases": []}]}, {}),
    ("no suites", JU, {"elements": []}, {}),
    ("no suites, minimum 0", JU, {"elements": []}, {"min_tests": "0"}),
    ("no suites, many zeros", JU, {"elements": []}, {"min_tests": "0000000000000"}),
    ("no suites, bad minimum", JU, {"elements": []}, {"min_tests": "x"}),
    ("leading zeros", JU, {"elements": [{"tests": 3, "testcases": []}]}, {"min_tests": "007"}),
    ("ten digits", JU, {"elements": [{"tests": 3, "testcases": []}]}, {"min_tests": "1234567890"}),
    ("nine digits", JU, {"elements": [{"tests": 3, "testcases": []}]}, {"min_tests": "123456789"}),
    ("minimum list", JU, {"elements": [{"tests": 3, "testcases": []}]}, {"min_tests": ["1", "2"]}),
    ("plus sign", JU, {"elements": [{"tests": 3, "testcases": []}]}, {"min_tests": "+3"}),
    ("negative count", JU, {"elements": [{"tests": -1, "testcases": []}]}, {}),
    ("negative count, bad minimum", JU, {"elements": [{"tests": -1, "testcases": []}]}, {"min_tests": "x"}),
    ("zero count, bad minimum", JU, {"elements": [{"tests": 0, "testcases": []}]}, {"min_tests": "x"}),
    (
        "test case shapes and nesting",
        JU,
        {
            "elements": [
                {
                    "tests": 5,
                    "skipped": 2,
                    "failures": 1,
                    "testcases": [
                        {"name": "a", "classname": "", "status": "failed", "message": "\nsecond"},
                        {"name": "b", "classname": "C", "status": "error", "message": "l1\nl2"},
                        {"classname": "C", "status": "failed"},
                        {"name": "d", "status": "skipped"},
                        {"name": "e", "status": "failed", "message": ""},
                        "junk",
                    ],
                    "suites": [
                        _chain(2, _FAIL, "suites"),
                        _chain(3, _FAIL, "suites"),
                        _chain(4, _FAIL, "suites"),
                    ],
                }
            ]
        },
        {},
    ),
    (
        "failures counted from the suites",
        JU,
        {
            "elements": [
                {"tests": 5, "failures": 3, "errors": 2, "testcases": []},
                {"tests": 1, "failures": 1, "testcases": []},
            ]
        },
        {"min_tests": "7"},
    ),
    (
        "test cases as an object",
        JU,
        {
            "elements": [
                {
                    "tests": 2,
                    "failures": 1,
                    "errors": 0,
                    "skipped": "x",
                    "testcases": {
                        "b": {"name": "b", "status": "failed"},
                        "a": {"name": "a", "status": "failed"},
                    },
                }
            ]
        },
        {},
    ),
]


@pytest.mark.parametrize(
    ("name", "doc", "args"), [pytest.param(n, d, a, id=f"{n}/{what}") for what, n, d, a in EDGE]
)
def test_edge_input_same_answer(rego: RegoEngine, name: str, doc: Any, args: dict[str, Any]) -> None:
    input_json = json.dumps(doc, ensure_ascii=False).encode()
    assert _wasm_answer(name, input_json, args) == _rego_answer(rego, name, input_json, args)


# JSON text as written by other tools than crafter's encoder: escapes in names and values, spacing, a repeated key
# (the last one counts), non-ASCII names, exponents. The modules read the input bytes in place (src/lib/json.ts).
RAW = [
    rb'{"bomFormat":"CycloneDX","components":[{"na\u006de":"\ud83d\ude00x\"]}",'
    rb'"licenses":[{"license":{"id":"M\u0049T"}}]}]}',
    rb'{ "bomFormat" : "CycloneDX" , "components" : [ { "name" : "a\\\"" , "licenses" : [ { "license" : '
    rb'{ "id" : "MIT" } } ] , "x\"y" : [1, {"a": "]"}] } ] }',
    rb'{"bomFormat":"CycloneDX","components":[{"name":"a","name":"b","licenses":[{"license":{"id":"MIT"}}]}]}',
    '{"bomFormat":"CycloneDX","components":[{"nämé":"x","name":"ö\u00e9","licenses":[{"license":{"id":"MIT"}}]}]}'.encode(),
    rb'{"bomFormat":"CycloneDX","components":[{"name":"x","version":1.5e3,"licenses":[{"license":{"id":"MIT"}}]}]}',
]


@pytest.mark.parametrize("raw", RAW, ids=[f"raw-{i}" for i in range(len(RAW))])
def test_json_text_same_answer(rego: RegoEngine, raw: bytes) -> None:
    json.loads(raw)  # valid JSON
    args = {"licenses": "mit"}
    answer = _wasm_answer(BL, raw, args)
    assert answer[0], "a violation is expected"
    assert answer == _rego_answer(rego, BL, raw, args)


# -- end to end: run_cases and evaluate_policy ----------------------------------------------------------------
@NEEDS_WASM_ENGINE
@pytest.mark.parametrize("name", PAIRS)
def test_both_versions_pass_their_cases(name: str) -> None:
    for directory in (POLICIES / name, _wasm_dir(name)):
        results = run_cases(directory)
        assert results, directory
        failed = [f"{r.name}: {'; '.join(r.differences)}" for r in results if not r.passed]
        assert not failed, failed


@NEEDS_WASM_ENGINE
@pytest.mark.parametrize(("name", "path"), _fixture_params())
def test_fixture_same_evaluation(name: str, path: Path) -> None:
    case = Case.from_file(path)
    evaluations = {}
    for ref in (f"builtin://{name}", f"builtin://{name}-wasm"):
        evaluation = evaluate_policy(
            ref,
            material=str(case.material),
            kind=case.kind,
            args=case.args,
            cwd=path.parent,
            evaluation_time=case.evaluation_time or "2026-01-01T00:00:00Z",
        )
        assert evaluation is not None, ref
        evaluations[ref] = evaluation
    rego_ev, wasm_ev = evaluations.values()
    assert (rego_ev.engine, wasm_ev.engine) == ("rego", "wasm")
    assert wasm_ev.input_json == rego_ev.input_json
    assert dict(wasm_ev.with_) == dict(rego_ev.with_)
    assert [v.message for v in wasm_ev.violations] == [v.message for v in rego_ev.violations]
    assert wasm_ev.skipped == rego_ev.skipped
    assert wasm_ev.skip_reasons == rego_ev.skip_reasons
    assert wasm_ev.status == rego_ev.status
