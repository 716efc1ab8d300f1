"""Property: any module built from the common Rego v0 rule forms converts to what OPA reads in its v1 twin.

The generator writes each rule twice, in v0 and in the v1 form OPA documents for it, with look-alikes in
comments and strings and varied spacing. For every generated module and input, OPA on the converted source,
OPA on the twin and regopy (in the sandbox) on the converted source give the same package document.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crafter._internal.policies.engines.rego_syntax import to_v1
from crafter._internal.policies.engines.sandbox import Sandbox

from .conftest import opa_bindings, query

CONDITIONS = ["input.n > 1", "input.flag", "count(input.xs) > 1", 'input.s == "a{b}"', "not input.missing"]
VALUES = ["1", '"s"', "[1, 2]", '{"k": "v"}', "true"]
DOCUMENTS: list[dict[str, Any]] = [
    {},
    {"n": 2, "flag": True, "xs": [1, 2, 3], "obj": {"a": 1, "b": 2}, "s": "a{b}"},
    {"n": 0, "xs": [], "obj": {}, "missing": 1},
]


def _body(cond: str, multiline: bool) -> str:
    return f"{{\n    {cond}\n}}" if multiline else f"{{ {cond} }}"


@st.composite
def rules(draw: st.DrawFn, index: int) -> tuple[str, str]:
    """One rule (or rule group) as (v0 text, v1 text)."""
    name = f"r{index}"
    kind = draw(st.integers(0, 9))
    c1, c2 = draw(st.sampled_from(CONDITIONS)), draw(st.sampled_from(CONDITIONS))
    multi = draw(st.booleans())
    gap = draw(st.sampled_from([" ", "", "  "]))  # space before a body brace
    b1, b2 = _body(c1, multi), _body(c2, multi)
    value = draw(st.sampled_from(VALUES))
    if kind == 0:
        return f"{name}{gap}{b1}", f"{name} if {b1}"
    if kind == 1:
        return f"{name} = {value}{gap}{b1}", f"{name} := {value} if {b1}"
    if kind == 2:
        body = "{ x := input.xs[_]; x > 1 }"
        return f"{name}[x]{gap}{body}", f"{name} contains x if {body}"
    if kind == 3:
        body = "{ v := input.obj[k] }"
        return f"{name}[k] = v{gap}{body}", f"{name}[k] := v if {body}"
    if kind == 4:
        fn = f"{name}(a) = b{gap}{{ b := a * 2 }}\n{name}_call := {name}(input.n)"
        return fn, f"{name}(a) := b if {{ b := a * 2 }}\n{name}_call := {name}(input.n)"
    if kind == 5:
        return f"{name} = 1 {b1} else = 2{gap}{b2}", f"{name} := 1 if {b1} else := 2 if {b2}"
    if kind == 6:
        return f'{name}["k"]', f'{name} contains "k"'
    if kind == 7:
        return f"{name} {b1} {b2}", f"{name} if {b1}\n{name} if {b2}"
    if kind == 8:
        return f"default {name} = false\n{name} {b1}", f"default {name} := false\n{name} if {b1}"
    noise = f"# {name}[x] {{ not a rule }}\n{name} := `deny[msg] {{ {c1} }}`"
    return noise, noise


@st.composite
def modules(draw: st.DrawFn) -> tuple[str, str]:
    count = draw(st.integers(1, 6))
    pairs = [draw(rules(i)) for i in range(count)]
    head = "package gen\n\n"
    return head + "\n\n".join(v0 for v0, _ in pairs) + "\n", head + "\n\n".join(v1 for _, v1 in pairs) + "\n"


def _opa(source: str, document: Any) -> Any:
    bindings = opa_bindings()
    with bindings.OpaEngine() as opa:
        opa.add_policy("gen.rego", source)
        try:
            return opa.eval_document("gen", document)
        except bindings.OpaUndefinedError:
            return None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=modules())
def test_generated_v0_modules_mean_what_their_v1_twin_means(pair: tuple[str, str], sandbox: Sandbox) -> None:
    v0, twin = pair
    converted = to_v1(v0)
    assert to_v1(converted) == converted
    for document in DOCUMENTS:
        expected = _opa(twin, document)
        assert _opa(converted, document) == expected
        assert query(sandbox, converted, "data.gen", document) == expected
