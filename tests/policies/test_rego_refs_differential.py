"""crafter's Rego reader against OPA's own parser: every name a module uses, and how it is used.

The oracle is OPA's parser itself, reached through the Go bindings (tests/requirements-opa.txt): the built-in
``rego.parse_module`` returns a module's AST as JSON. An independent walker here (not crafter's code) lists
every name in that AST with its use: *called* (the operator of a call), *used as a with target* / *used as a
with value* (``with X as Y``), *used as a value* (any other variable or reference: arguments, operands, heads'
keys and values, comprehension terms, ``some``/``every`` variables and domains), *imported*, *used as an
import alias*, *defined as a rule*. A name is a variable with the constant strings after it (``opa.runtime``
is also ``opa["runtime"]`` and ``(opa).runtime``), and whether a non-constant segment follows. crafter's
:meth:`Module.references` must give the same multiset of (name, use, dynamic) for each module. OPA's AST has
no line numbers, so lines are checked by the refusal tests (tests/hostile/test_rego_escape.py).

Normalisations, all on OPA's side of things that are not in the source text: infix operators, which OPA's
parser writes as calls (``assign``, ``equal``, ``plus``, ``internal.member_2``...), are left out on both sides;
OPA numbers the wildcards (``$0``), crafter keeps ``_``; OPA copies a function's parameters and name into each
``else`` and the key of ``p[x] := v`` into ``head.key``, which are not uses of their own.

Corpus: every Rego file of the shipped library (policies/), of the tests (engine fixtures, v0 modules,
boilerplate goldens; the Chainloop reference data holds no Rego), the
hand-written tricky cases below, and generated modules (hypothesis). Rego v0 sources are compared in the v1
form crafter converts them to (:func:`to_v1`), which is what both engines evaluate; OPA 1.x's
``rego.parse_module`` reads v1 only.

Without the bindings these tests skip (fail when ``CI`` is set).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crafter._internal.policies.engines.rego import restricted
from crafter._internal.policies.engines.rego_syntax import (
    ALIAS,
    CALLED,
    IMPORTED,
    RULE,
    VALUE,
    WITH_TARGET,
    WITH_VALUE,
    RegoSyntaxError,
    read_module,
    to_v1,
)
from tests.policies.rego.conftest import opa_bindings

ROOT = Path(__file__).resolve().parents[2]

#: Calls OPA's parser makes out of operators (``x := 1`` is ``assign(x, 1)``): not names in the source.
OPERATORS = frozenset(
    {
        "assign",
        "eq",
        "equal",
        "neq",
        "lt",
        "gt",
        "lte",
        "gte",
        "plus",
        "minus",
        "mul",
        "div",
        "rem",
        "and",
        "or",
        "internal.member_2",
        "internal.member_3",
    }
)

Use = tuple[tuple[str, ...], str, bool]


@pytest.fixture(scope="module")
def parser() -> Iterator[Any]:
    with opa_bindings().OpaEngine() as engine:
        yield engine


class OpaRefused(Exception):
    pass


def opa_ast(parser: Any, source: str) -> dict[str, Any]:
    try:
        rows = parser.eval_query(
            "ast := rego.parse_module(input.name, input.source)", {"name": "m.rego", "source": source}
        )
    except opa_bindings().OpaError as exc:
        raise OpaRefused(exc.message) from exc
    return rows[0]["ast"]  # type: ignore[no-any-return]


# -- the oracle's walker (independent of crafter) --------------------------------------------------------------
def opa_uses(ast: dict[str, Any]) -> Counter[Use]:
    uses: Counter[Use] = Counter()

    def add(segments: list[str], usage: str, dynamic: bool) -> None:
        names = tuple("_" if s.startswith("$") else s for s in segments)
        if not (usage == CALLED and ".".join(names) in OPERATORS and not dynamic):
            uses[(names, usage, dynamic)] += 1

    def ref(terms: list[dict[str, Any]], usage: str) -> None:
        head = terms[0]
        if head["type"] != "var":  # e.g. f(x).y: the call is the head
            term(head)
            rest = terms[1:]
        else:
            segments, k = [head["value"]], 1
            while k < len(terms) and terms[k]["type"] == "string":
                segments.append(terms[k]["value"])
                k += 1
            add(segments, usage, k < len(terms))
            rest = terms[k:]
        for t in rest:
            if t["type"] != "string":
                term(t)

    def term(t: dict[str, Any], usage: str = VALUE) -> None:
        kind, value = t["type"], t["value"]
        if kind == "var":
            add([value], usage, False)
        elif kind == "ref":
            ref(value, usage)
        elif kind == "call":
            ref(value[0]["value"], CALLED)
            for arg in value[1:]:
                term(arg)
        elif kind in ("array", "set"):
            for item in value:
                term(item)
        elif kind == "object":
            for key, item in value:
                term(key)
                term(item)
        elif kind in ("arraycomprehension", "setcomprehension"):
            term(value["term"])
            body(value["body"])
        elif kind == "objectcomprehension":
            term(value["key"])
            term(value["value"])
            body(value["body"])
        elif kind == "templatestring":
            for part in value["parts"]:
                expr(part) if "terms" in part else term(part)

    def expr(e: dict[str, Any]) -> None:
        terms = e["terms"]
        if isinstance(terms, list):  # a call written as an expression, infix operators included
            ref(terms[0]["value"], CALLED)
            for arg in terms[1:]:
                term(arg)
        elif "symbols" in terms:  # some
            for symbol in terms["symbols"]:
                term(symbol)
        elif "domain" in terms:  # every
            if terms.get("key"):
                term(terms["key"])
            term(terms["value"])
            term(terms["domain"])
            body(terms["body"])
        else:
            term(terms)
        for modifier in e.get("with") or []:
            term(modifier["target"], WITH_TARGET)
            term(modifier["value"], WITH_VALUE)

    def body(literals: list[dict[str, Any]]) -> None:
        for literal in literals:
            expr(literal)

    def rule(r: dict[str, Any], first: bool = True) -> None:
        head = r["head"]
        if first:  # an else repeats the head's name and parameters
            ref(head["ref"], RULE)
            for arg in head.get("args") or []:
                term(arg)
        if "key" in head and not (len(head["ref"]) > 1 and head["key"] == head["ref"][-1]):
            term(head["key"])
        if "value" in head:
            term(head["value"])
        body(r["body"])
        if "else" in r:
            rule(r["else"], first=False)

    for imp in ast.get("imports") or []:
        ref(imp["path"]["value"], IMPORTED)
        if imp.get("alias"):
            add([imp["alias"]], ALIAS, False)
    for r in ast.get("rules") or []:
        rule(r)
    return uses


def crafter_uses(source: str) -> Counter[Use]:
    return Counter(
        (r.segments, r.usage, r.dynamic)
        for r in read_module(source).references()
        if not (r.usage == CALLED and r.name in OPERATORS and not r.dynamic)
    )


def assert_same(parser: Any, source: str) -> Counter[Use]:
    """Both sides on ``source`` (v1); returns the uses."""
    expected = opa_uses(opa_ast(parser, source))
    got = crafter_uses(source)
    assert got == expected, f"crafter only: {dict(got - expected)}; OPA only: {dict(expected - got)}"
    return got


# -- corpus: files -----------------------------------------------------------------------------------------
def rego_files() -> list[Path]:
    found = sorted((ROOT / "policies").rglob("*.rego")) + sorted((ROOT / "tests").rglob("*.rego"))
    return [p for p in found if "__pycache__" not in p.parts]


@pytest.mark.parametrize("path", rego_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_rego_files(parser: Any, path: Path) -> None:
    assert_same(parser, to_v1(path.read_text()))


def test_shipped_library_is_in_the_corpus() -> None:
    shipped = [p for p in rego_files() if p.is_relative_to(ROOT / "policies")]
    assert len(shipped) >= 9  # one per Rego policy of the library


# -- corpus: hand-written tricky cases -----------------------------------------------------------------------
TRICKY: dict[str, str] = {
    "with value": "x := y if { y := time.now_ns() with time.now_ns as opa.runtime }",
    "with value on its own lines": "x := y if {\n  y := time.now_ns()\n    with time.now_ns\n    as opa.runtime\n}",
    "with chain": "f := 1\nx := y if { y := time.now_ns() with time.now_ns as f with f as opa.runtime with input as {} }",
    "with value in brackets": 'x := y if { y := time.now_ns() with time.now_ns as opa["runtime"] }',
    "with value in parentheses": "x := y if { y := time.now_ns() with time.now_ns as (opa.runtime) }",
    "with target is a builtin": 'x := y if { y := opa.runtime() with opa.runtime as {"env": {}} }',
    "with data target": "f(a) := a\nx := y if { y := data.p.f(1) with data.p.f as http.send }",
    "with value an expression": "x := y if { y := 1 with input as opa.runtime + 1 }",
    "with value a call": "x := y if { y := 1 with input as opa.runtime() }",
    "with in comprehension": "x := [y | y := time.now_ns() with time.now_ns as opa.runtime]",
    "with in every": "x if { every k in [1] { k == time.now_ns() with time.now_ns as opa.runtime } }",
    "with in else": "x := 1 if { false } else := y if { y := time.now_ns() with time.now_ns as opa.runtime }",
    "with after not": "x if { not time.now_ns() with time.now_ns as trace }",
    "with after some": "x if {\n  some v in 1\n  -2 with time.now_ns as opa.runtime\n}",
    "with after every": "x if { every k in [1] { k } with input as opa.runtime }",
    "bracket call": 'x := opa["runtime"]()',
    "escaped bracket call": 'x := opa["r\\u0075ntime"]()',
    "raw string bracket call": "x := opa[`runtime`]()",
    "parenthesised head": "x := (opa).runtime()",
    "parenthesised key": 'x := opa[("runtime")]()',
    "call then ref": 'x := opa.runtime().env["HOME"]',
    "dynamic namespace": 'x := y if { k := "runtime"; y := opa[k]() }',
    "reference without call": "x := opa.runtime",
    "deep reference": "x := opa.runtime.env",
    "builtin as value": "x := count",
    "local named like a builtin": "x := y if { trace := 1; y := trace }",
    "some in": "x if { some v in [opa.runtime()]; v }",
    "some key value in": "x if { some k, v in {http.send: 1}; k; v }",
    "membership": 'x if { "a", 1 in {"a": 1} }\ny if { not 1 in [2] }',
    "every key value": "x if { every k, v in input { k != v } }",
    "object comprehension": "x := {k: v | some k, v in input; v != trace}",
    "set comprehension": "x := {v | some v in input}",
    "nested comprehensions": "x := [[y | some y in z] | some z in input]",
    "empty set": "x := set()",
    "collections": 'x := {"a": [1, {2, input.b}], input.c: {"d": opa.runtime}}',
    "object keys are refs": "x := {opa.runtime(): 1}",
    "unary minus": "x := -input.a\ny := - 1",
    "infix across lines": "x := 1 +\n  2\ny := input.a\n  == input.b",
    "function heads": 'f(a, {"b": c}) := c if { a }\ng(_) := 1\nh(x) := y if { y := x } else := 2',
    "default rules": "default allow := false\ndefault f(_) := 0",
    "ref heads": "a.b.c[d] if { d := input.d }\np.q[r] := s if { some r, s in input }",
    "contains heads": "deny contains msg if { msg := input.m }\nwarn contains input.w",
    "one line body": "x if input.a\ny if opa.runtime()\nz := 1",
    "bodies and else": "x := 1 if { input.a } else := 2 if { input.b } else := 3",
    "several bodies": "x if { input.a } { input.b }",
    "semicolons": "x if { a := 1; b := a; b > 0 }",
    "imports": "import rego.v1\nimport future.keywords.in\nimport data.lib as trace\nimport input.spec\nx := spec",
    "strings and comments": 'x := "opa.runtime() # not code"  # opa.runtime()\ny := `http.send({})`',
    "print and walk": "x if { walk(input, [p, v]); print(p, v) }",
    "chained calls": 'x := json.unmarshal(json.marshal(input))["a"][0].b',
    "call in a segment": "x := input[lower(input.k)].v",
    "numbers in segments": "x := input.a[0][1].b",
    "template string": 'x := $"hello {opa.runtime()}"',
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_cases(parser: Any, name: str) -> None:
    source = f"package p\n\n{TRICKY[name]}\n"
    try:
        opa_ast(parser, source)
    except OpaRefused:
        pytest.fail(f"the case is not valid Rego for OPA: fix the case ({name})")
    if "$" in source:  # template strings: crafter does not read them, it refuses the module
        with pytest.raises(RegoSyntaxError, match="template strings"):
            read_module(source).references()
        return
    assert_same(parser, source)


#: Forms regopy evaluates as ``opa.runtime()`` but OPA's parser refuses, so there is no oracle: crafter must
#: see the call, or refuse the module as unreadable (True: its outline reader already stops there).
REGOPY_ONLY = {
    "spaces around the dot": ("x := opa . runtime()", True),
    "spaces around the dot in a body": ("x := y if { y := opa . runtime() }", False),
    "line break after the dot": ("x := opa.\n  runtime()", False),
    "comment after the dot": ("x := opa. # here\n  runtime()", False),
    "line break before the dot": ("x := y if {\n  y := opa\n  .runtime()\n}", False),
    "space before the arguments": ("x := opa.runtime ()", True),
    "space before the bracket": ('x := opa ["runtime"]()', True),
    "space before the arguments in a body": ("x := y if { y := opa.runtime () }", False),
    "space before the bracket in a body": ('x := y if { y := opa ["runtime"]() }', False),
}


@pytest.mark.parametrize("name", sorted(REGOPY_ONLY))
def test_forms_only_regopy_reads(parser: Any, name: str) -> None:
    text, unreadable = REGOPY_ONLY[name]
    source = f"package p\n\n{text}\n"
    with pytest.raises(OpaRefused):
        opa_ast(parser, source)
    if unreadable:
        with pytest.raises(RegoSyntaxError):
            read_module(source)
        return
    names = [r.name for r in read_module(source).references() if r.usage == CALLED]
    assert "opa.runtime" in names


def test_v0_sources_are_compared_as_evaluated(parser: Any) -> None:
    v0 = (
        "package p\n\ndeny[msg] {\n  x := time.now_ns() with time.now_ns as opa.runtime\n"
        '  msg := sprintf("%v", [x])\n}\n\nallow = true { count(deny) == 0 }\n'
    )
    with pytest.raises(OpaRefused):  # OPA 1.x reads v1 only ...
        opa_ast(parser, v0)
    uses = assert_same(parser, to_v1(v0))  # ... and both engines evaluate the converted text
    assert ((("opa", "runtime"), WITH_VALUE, False)) in uses


# -- corpus: generated modules ----------------------------------------------------------------------------------
NAMES = [
    "opa.runtime",
    'opa["runtime"]',
    "(opa).runtime",
    "http.send",
    "net.cidr_contains",
    "trace",
    "time.now_ns",
    "count",
    "json.marshal",
    "input.a",
    'input["b-c"]',
    "data.lib.f",
    "x",
    "_",
]
SCALARS = ["1", '"s"', "`r`", "true", "null", "-2.5"]
VARS = ["x", "y", "k", "v"]


@st.composite
def terms(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 9 if depth < 2 else 2))
    if kind == 0:
        return draw(st.sampled_from(SCALARS))
    if kind == 1:
        return draw(st.sampled_from(NAMES))
    if kind == 2:
        return draw(st.sampled_from(NAMES)) + draw(st.sampled_from([".z", "[0]", "[k]", '["q"]', ""]))
    inner = draw(st.lists(terms(depth + 1), min_size=1, max_size=3))
    if kind == 3:
        return f"{draw(st.sampled_from(NAMES))}({', '.join(inner)})"
    if kind == 4:
        return f"[{', '.join(inner)}]"
    if kind == 5:  # OPA's parser folds equal keys and set elements: keep them distinct
        if len(inner) == 1:
            return f"{{{inner[0]}: {inner[0]}}}"
        return "{" + ", ".join(f'"k{i}": {t}' for i, t in enumerate(inner)) + "}"
    if kind == 6:
        return f"[{inner[0]} | {draw(literals(depth + 1))}]"
    if kind == 7:
        return f"{{{inner[0]}: {inner[-1]} | {draw(literals(depth + 1))}}}"
    if kind == 8:
        return f"({inner[0]} {draw(st.sampled_from(['+', '==', '|', 'in']))} {inner[-1]})"
    return "{" + ", ".join(f"[{i}, {t}]" for i, t in enumerate(inner)) + "}"


@st.composite
def literals(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        text = f"{draw(st.sampled_from(VARS))} := {draw(terms(depth))}"
    elif kind == 1:
        text = f"some {draw(st.sampled_from(VARS))} in {draw(terms(depth))}"
    elif kind == 2 and depth < 2:
        text = f"every k, v in {draw(terms(depth))} {{ {draw(literals(depth + 1))} }}"
    elif kind == 3:
        text = f"not {draw(terms(depth))}"
    else:
        text = draw(terms(depth))
    if kind != 1 and kind != 2:
        for _ in range(draw(st.integers(0, 2))):
            target = draw(st.sampled_from(["time.now_ns", "input", "data.lib.f", "count", "http.send"]))
            sep = draw(st.sampled_from([" ", "\n    "]))
            text += f"{sep}with {target} as {draw(terms(depth + 1))}"
    return text


@st.composite
def modules(draw: st.DrawFn) -> str:
    rules = []
    for index in range(draw(st.integers(1, 4))):
        body = draw(st.lists(literals(), min_size=1, max_size=3))
        kind = draw(st.integers(0, 4))
        name = f"r{index}"
        braced = "{\n    " + "\n    ".join(body) + "\n}"
        if kind == 0:
            rules.append(f"{name} := {draw(terms())} if {braced}")
        elif kind == 1:
            rules.append(f"{name} contains {draw(terms())} if {braced}")
        elif kind == 2:
            rules.append(f"{name}(a, b) := {draw(terms())} if {braced} else := {draw(terms())}")
        elif kind == 3:
            rules.append(f"{name} if {body[0]}")
        else:
            rules.append(f"default {name} := {draw(st.sampled_from(SCALARS))}")
    return "package gen\n\nimport rego.v1\n\n" + "\n\n".join(rules) + "\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=modules())
def test_generated_modules(parser: Any, source: str) -> None:
    try:
        opa_ast(parser, source)
    except OpaRefused:
        assume(False)
    uses = assert_same(parser, source)
    # and so the restricted built-ins crafter refuses are exactly those OPA's parse names
    ours = {restricted(r) for r in read_module(source).references()} - {None}
    theirs = {first_restricted(names) for names, _, _ in uses} - {None}
    assert {n for n in ours if n and "[" not in n} == theirs


def first_restricted(names: tuple[str, ...]) -> str | None:
    """The shortest leading part of a name that is a restricted built-in (``opa.runtime.env``: ``opa.runtime``)."""
    from crafter._internal.policies.engines.rego import FORBIDDEN, FORBIDDEN_PREFIXES

    for n in range(1, len(names) + 1):
        name = ".".join(names[:n])
        if name in FORBIDDEN or name.startswith(FORBIDDEN_PREFIXES):
            return name
    return None
