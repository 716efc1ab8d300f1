"""regopy against OPA itself: every shipped policy's cases, and the Rego engine's fixtures, must give the same result.

The regopy side is crafter as users run it (``evaluate_policy`` and the Rego engine, default backend, in its
worker processes). The OPA side loads the very source the engine prepared (v1 text plus injected boilerplate,
from ``RegoEngine.prepare``) into OPA's own bindings, with the same input document and arguments, and queries
``data.<package>.result``. Without the bindings these tests skip (fail when ``CI`` is set):
``pip install --ignore-requires-python -r tests/requirements-opa.txt``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.policies.args import engine_args
from crafter._internal.policies.engines.interface import EngineResult, Limits, Script
from crafter._internal.policies.engines.rego import RegoEngine, parse_result
from crafter._internal.policies.testing import Case, find_cases
from crafter.errors import PolicyError

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
REGO_FIXTURES = Path(__file__).parent / "rego"
OPA_MISSING = "OPA's Python bindings are not installed: pip install --ignore-requires-python -r tests/requirements-opa.txt"
LIMITS = Limits(timeout=30.0, memory_bytes=512 << 20)
FOUR_KEYS = {"skipped", "skip_reason", "violations", "ignore"}

#: Engine fixtures about limits and refusals, not about results: nothing to compare.
NOT_COMPARED = {"memory_bomb", "slow", "recursion", "restricted", "chainloop_builtin"}

#: Documents and arguments every engine fixture is evaluated on.
GENERIC_INPUTS: list[Any] = [
    {},
    {"foo": "bar"},
    {"bomFormat": "CycloneDX", "specVersion": "1.4", "components": [{"name": "a", "licenses": []}]},
    {"bomFormat": "CycloneDX", "specVersion": "1.5"},
    {"bomFormat": "CycloneDX", "specVersion": "1.0"},
    [{"name": "a"}, {"name": "b"}],
    {"references": [{"kind": "CONTAINER_IMAGE", "annotations": {"approved": "true", "released": "true"}}]},
]
GENERIC_ARGS: list[dict[str, Any]] = [{}, {"foo": "bar"}, {"foo": ["hello", "bar"]}]


def opa() -> Any:
    try:
        return importlib.import_module("opa_bindings")
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(OPA_MISSING + " (required in CI)")
        pytest.skip(OPA_MISSING)


@pytest.fixture(scope="module")
def engine() -> Iterator[RegoEngine]:
    rego = RegoEngine(workers=2)
    yield rego
    rego.close()


# -- both sides --------------------------------------------------------------------------------------------
def opa_result(source: str, document: Any) -> tuple[str, Any]:
    """("result", value), ("undefined", None) or ("error", message) of ``data.<package>.result`` in OPA."""
    bindings = opa()
    package = re.search(r"^package\s+([\w.]+)", source, re.MULTILINE).group(1)  # type: ignore[union-attr]
    with bindings.OpaEngine() as oe:
        try:
            oe.add_policy("policy.rego", source)
            return "result", oe.eval_document(f"{package}.result", document)
        except bindings.OpaUndefinedError:
            return "undefined", None
        except bindings.OpaError as exc:
            return "error", str(exc)


def regopy_result(
    engine: RegoEngine, script: Script, input_json: bytes, args: Mapping[str, Any]
) -> tuple[str, Any]:
    try:
        return "result", engine.evaluate(script, input_json, args, LIMITS)
    except PolicyError as exc:
        if "'result' rule not found" in exc.message:
            return "undefined", None
        return "error", exc.message


def parsed(policy: str, outcome: tuple[str, Any]) -> tuple[str, Any]:
    """OPA's raw result read by the engine's own result parser, so both sides are compared field by field."""
    kind, value = outcome
    if kind != "result":
        return kind, None
    try:
        return "result", without_prints(parse_result(policy, value))
    except PolicyError:
        return "error", None


def without_prints(result: EngineResult) -> EngineResult:
    return EngineResult(
        violations=result.violations,
        skipped=result.skipped,
        skip_reason=result.skip_reason,
        ignore=result.ignore,
        findings=result.findings,
    )


def document(input_json: bytes, args: Mapping[str, Any]) -> Any:
    doc = json.loads(input_json)
    if isinstance(doc, list):
        doc = {"elements": doc}
    doc["args"] = {k: list(v) if isinstance(v, list | tuple) else v for k, v in args.items()}
    return doc


# -- the shipped policies' cases ---------------------------------------------------------------------------
def _case_params() -> list[Any]:
    params = []
    for path in find_cases(POLICIES):
        if (path.parent.parent / "policy.wasm").is_file():
            continue  # a WASM version: compared with its Rego version in test_wasm_conformance.py
        params.append(pytest.param(path, id=f"{path.parent.parent.name}/{path.stem}"))
    return params


@pytest.mark.parametrize("path", _case_params())
def test_shipped_case_same_result_in_opa(path: Path, engine: RegoEngine) -> None:
    opa()
    from crafter._internal.policies.loader import PolicyLoader
    from crafter._internal.resources import policies_dir

    case = Case.from_file(path)
    evaluation = case.evaluate()  # regopy, the default backend, through the verifier
    assert evaluation is not None, f"{case.name}: no evaluation"
    policy = PolicyLoader(cwd=path.parent, builtin_dir=policies_dir(), cache_dir=None).load_policy(
        str(case.policy)
    )
    args = engine_args(evaluation.with_)
    merged_skipped, reasons, messages = True, [], []
    for entry in policy.scripts_for(evaluation.type):
        prepared = engine.prepare(Script(entry.source, policy.name, entry.origin, entry.engine))
        text = prepared.source.decode()
        raw = opa_result(text, document(evaluation.input_json, args))
        assert raw[0] == "result", f"OPA: {raw}"
        # The shipped policies build exactly the four-key result object: compare it whole, key by key.
        assert set(raw[1]) == FOUR_KEYS, raw[1]
        ours = engine.evaluate(prepared, evaluation.input_json, args, LIMITS)
        assert raw[1] == {
            "skipped": ours.skipped,
            "skip_reason": ours.skip_reason,
            "violations": [v.message for v in ours.violations],
            "ignore": ours.ignore,
        }
        if raw[1]["ignore"]:
            continue
        merged_skipped = merged_skipped and raw[1]["skipped"]
        reasons += [raw[1]["skip_reason"]] if raw[1]["skip_reason"] else []
        messages += raw[1]["violations"]
    # ...and the evaluation the verifier recorded agrees with OPA's, merged as the reference merges scripts.
    assert evaluation.skipped == merged_skipped
    assert list(evaluation.skip_reasons) == (reasons if merged_skipped else [])
    assert [v.message for v in evaluation.violations] == messages


# -- the Rego engine's fixtures ----------------------------------------------------------------------------
def _fixture_params() -> list[Any]:
    if not REGO_FIXTURES.is_dir():
        return []
    paths = sorted(p for p in REGO_FIXTURES.rglob("*.rego") if "output" not in p.parts)
    return [
        pytest.param(p, id=str(p.relative_to(REGO_FIXTURES))) for p in paths if p.stem not in NOT_COMPARED
    ]


@pytest.mark.skipif(not _fixture_params(), reason="no Rego engine fixtures under tests/policies/rego")
@pytest.mark.parametrize("path", _fixture_params())
def test_engine_fixture_same_result_in_opa(path: Path, engine: RegoEngine) -> None:
    opa()
    name = path.stem.replace("_", "-")
    try:
        prepared = engine.prepare(Script(path.read_bytes(), name, str(path), "rego"))
    except PolicyError as exc:
        pytest.skip(f"refused before evaluation, nothing to compare: {exc.message}")
    text = prepared.source.decode()
    differences = []
    for doc in GENERIC_INPUTS:
        input_json = json.dumps(doc).encode()
        for args in GENERIC_ARGS:
            ours = regopy_result(engine, prepared, input_json, args)
            if ours[0] == "result":
                ours = ("result", without_prints(ours[1]))
            elif ours[0] == "error":
                ours = ("error", None)
            theirs = parsed(name, opa_result(text, document(input_json, args)))
            if ours != theirs:
                differences.append(f"input {json.dumps(doc)} args {args}: regopy {ours} | OPA {theirs}")
    assert not differences, "\n".join(differences)


# -- known divergences, pinned -----------------------------------------------------------------------------
#: Small policies on which regopy (as the engine runs it) and OPA disagree today. Each is an expected failure,
#: strict: when a regopy or engine fix makes one agree, the test says so and the entry goes. The shipped
#: policies avoid every one of them (docs/policies/library.md, "Writing policies that behave the same").
DIVERGENCES: dict[str, tuple[str, Any]] = {
    "negated call on a missing field": (
        'result := {"skipped": false, "violations": ["missing" | not is_array(input.nothing)]}',
        {},
    ),
    "sprintf of a concat result": (
        'result := {"skipped": false, "violations": [sprintf("<%s>", [concat(",", ["a", "b"])])]}',
        {},
    ),
    "number parsed with a leading zero": (
        'result := {"skipped": false, "violations": ["two" | to_number(substring(input.m, 0, 2)) == 2]}',
        {"m": "02"},
    ),
    "time with Z offset": (
        'result := {"skipped": false, "violations": [sprintf("%d", [time.parse_rfc3339_ns(input.t)])]}',
        {"t": "2026-01-02T03:04:05Z"},
    ),
    "some with index and value in a comprehension": (
        'result := {"skipped": false, "violations": [x | some i, x in ["a", "b"]; i > 0]}',
        {},
    ),
}


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_known_divergence(name: str, engine: RegoEngine) -> None:
    body, doc = DIVERGENCES[name]
    source = f"package main\n\nimport rego.v1\n\n{body}\n"
    opa_side = parsed("divergence", opa_result(source, {**doc, "args": {}}))
    assert opa_side[0] == "result", f"OPA itself does not evaluate the snippet: {opa_side}"
    try:
        prepared = engine.prepare(Script(source.encode(), "divergence", "inline", "rego"))
    except PolicyError as exc:
        pytest.xfail(f"crafter refuses what OPA accepts: {exc.message}")
    ours = regopy_result(engine, prepared, json.dumps(doc).encode(), {})
    if ours[0] == "result":
        ours = ("result", without_prints(ours[1]))
    if ours != opa_side:
        pytest.xfail(f"regopy {ours} | OPA {opa_side}")
    pytest.fail(f"{name}: regopy and OPA now agree; remove it from DIVERGENCES")
