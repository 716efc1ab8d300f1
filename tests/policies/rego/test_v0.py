"""Rego v0 policies: converted to v1 with the same meaning, or refused; never evaluated with another meaning.

The oracle is OPA itself (the opa-golib-python-bindings wheel, OPA v1.20.2). That build parses Rego v1 only:
it has no switch for v0, so "OPA on the v0 source parsed as v0" is reached through each fixture's twin
``<name>.v1.rego``, written by hand from OPA's documented v0 -> v1 rules (``if`` before bodies, ``contains``
for partial sets). For every fixture and input:

* OPA rejects the v0 source (it is not v1; in ``future_keywords`` it reads ``deny[msg] if`` as an object);
* the converted source is valid v1 for OPA, and OPA gives the same package document for it as for the twin;
* regopy, in crafter's sandbox, gives that same document for the converted source;
* regopy on the unconverted source gives a different document (which is why the conversion exists).

Without the bindings these tests skip (and fail in CI): see tests/requirements-opa.txt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crafter._internal.policies.engines.interface import Limits
from crafter._internal.policies.engines.rego import RegoEngine
from crafter._internal.policies.engines.rego_syntax import RegoSyntaxError, read_module, to_v1
from crafter._internal.policies.engines.sandbox import Sandbox
from crafter.errors import PolicyError

from .conftest import HERE, opa_bindings, query, script

V0 = HERE / "v0"
INPUTS: dict[str, list[dict[str, Any]]] = {
    "workflow": [{}, {"workflow": {"name": "policytest"}}, {"workflow": {"name": "other"}}],
    "sbom_rules": [
        {},
        {"metadata": {}, "components": [{"name": "a", "license": "MIT"}]},
        {
            "components": [{"name": "a", "license": "GPL-3.0-only"}, {"name": "b", "license": "MIT"}],
            "vulnerabilities": [{"score": 9.1}, {"score": 2}],
        },
    ],
    "future_keywords": [
        {},
        {"kind": "Deployment", "spec": {}},
        {"kind": "Deployment", "spec": {"replicas": 2}},
    ],
    "matches_parameters": [
        {"args": {"severity": "low"}, "expected_args": {"severity": "high"}},
        {"args": {"severity": "high"}, "expected_args": {"severity": "medium"}},
        {"args": {}, "expected_args": {}},
    ],
}
CASES = sorted(INPUTS)


def _opa_document(source: str, document: Any) -> Any:
    bindings = opa_bindings()
    package = read_module(source).package
    with bindings.OpaEngine() as opa:
        opa.print_handler = lambda *_: None
        opa.add_policy("policy.rego", source)
        return opa.eval_document(package, document)


def _sources(case: str) -> tuple[str, str]:
    return (V0 / f"{case}.rego").read_text(), (V0 / f"{case}.v1.rego").read_text()


@pytest.mark.parametrize("case", CASES)
def test_converted_policy_means_what_opa_gives_for_the_v1_twin(case: str, sandbox: Sandbox) -> None:
    v0, twin = _sources(case)
    converted = to_v1(v0)
    package = f"data.{read_module(v0).package}"
    for document in INPUTS[case]:
        expected = _opa_document(twin, document)
        assert _opa_document(converted, document) == expected, document
        assert query(sandbox, converted, package, document) == expected, document


@pytest.mark.parametrize("case", CASES)
def test_opa_does_not_read_the_v0_source_as_the_same_policy(case: str) -> None:
    """OPA 1.x refuses each v0 fixture: `if` / `contains` are required; in future_keywords, `deny[msg] if` is
    a v1 object rule, which conflicts with the module's `deny contains` rule."""
    bindings = opa_bindings()
    v0, _ = _sources(case)
    with pytest.raises(bindings.OpaError, match=r"rego_parse_error|conflicting rules"):
        _opa_document(v0, INPUTS[case][-1])


def test_regopy_misreads_unconverted_v0_partial_sets(sandbox: Sandbox) -> None:
    v0, _ = _sources("workflow")
    misread = query(sandbox, v0, "data.main.violations", {})
    assert misread == {"incorrect workflow": True}  # an object: the hazard the conversion removes
    assert query(sandbox, to_v1(v0), "data.main.violations", {}) == ["incorrect workflow"]


def test_conversion_keeps_every_line_in_place() -> None:
    for path in V0.glob("*.rego"):
        original = path.read_text()
        converted = to_v1(original)
        assert converted.count("\n") == original.count("\n")
        for before, after in zip(original.splitlines(), converted.splitlines(), strict=True):
            assert before.strip()[:1] == after.strip()[:1], (before, after)


@pytest.mark.parametrize("path", sorted(V0.glob("*.rego")), ids=lambda p: p.name)
def test_conversion_is_idempotent(path: Path) -> None:
    once = to_v1(path.read_text())
    assert to_v1(once) == once


def test_v1_twins_need_no_conversion() -> None:
    for path in V0.glob("*.v1.rego"):
        assert to_v1(path.read_text()) == path.read_text()


def test_engine_evaluates_the_embedded_v0_policy(regopy_engine: RegoEngine) -> None:
    prepared = regopy_engine.prepare(script((V0 / "workflow.rego").read_text(), "workflow"))
    bad = regopy_engine.evaluate(prepared, b'{"workflow": {"name": "x"}}', {}, Limits())
    good = regopy_engine.evaluate(prepared, b'{"workflow": {"name": "policytest"}}', {}, Limits())
    assert [v.message for v in bad.violations] == ["incorrect workflow"] and good.violations == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "package p\nimport rego.v1\ndeny[msg] { msg := 1 }\n",
            "line 3: `contains` keyword is required for partial set rules (the policy imports rego.v1): "
            "write `deny[msg] { msg := 1 }` as `deny contains msg if { msg := 1 }`",
        ),
        (
            "package p\nimport rego.v1\nallow { true }\n",
            "line 3: `if` keyword is required before rule body (the policy imports rego.v1): "
            "write `allow { true }` as `allow if { true }`",
        ),
        (
            "package p\na.b[x] { x := 1 }\n",
            "line 2: `a.b[x] {` is ambiguous in Rego v0 (a set or an object); write `a.b contains x if {` "
            "for a set, or `a.b[x] := true if {` for an object",
        ),
    ],
)
def test_unsafe_forms_are_refused_with_the_v1_form(
    text: str, message: str, regopy_engine: RegoEngine
) -> None:
    with pytest.raises(RegoSyntaxError) as caught:
        to_v1(text)
    assert str(caught.value) == message
    with pytest.raises(PolicyError, match=r'^policy "v0": line '):
        regopy_engine.prepare(script(text, "v0"))


def test_bracket_head_with_if_in_a_v1_module_is_an_object(sandbox: Sandbox) -> None:
    """Without future.keywords, ``name[x] if`` is Rego v1: an object, as OPA 1.x reads it. Kept unchanged."""
    text = 'package p\nflags[name] if { some name in ["a", "b"] }\n'
    assert to_v1(text) == text
    assert query(sandbox, text, "data.p.flags") == {"a": True, "b": True}
    assert _opa_document(text, {}) == {"flags": {"a": True, "b": True}}
