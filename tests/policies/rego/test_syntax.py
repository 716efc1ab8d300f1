"""The Rego reader: tokens that skip strings and comments, the module outline, calls; property tests."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crafter._internal.policies.engines.interface import Limits
from crafter._internal.policies.engines.rego import RegoEngine
from crafter._internal.policies.engines.rego_syntax import RegoSyntaxError, read_module, to_v1, tokenize

from .conftest import script


def test_tokens_skip_comments_and_keep_strings_whole() -> None:
    tokens = tokenize('x := "a # {b}" # deny[x] {\ny := `raw\n{`\n')
    assert [t.text for t in tokens] == ["x", ":=", '"a # {b}"', "y", ":=", "`raw\n{`"]
    assert [(t.line, t.end_line) for t in tokens] == [(1, 1), (1, 1), (1, 1), (2, 2), (2, 2), (2, 3)]


def test_escaped_quote_does_not_end_a_string() -> None:
    assert [t.text for t in tokenize(r'x := "a\"b{" ')] == ["x", ":=", r'"a\"b{"']


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('package p\nx := "open\n', "line 2: unterminated string"),
        ("package p\nx := {\n  1\n", "line 2: '{' opened here is never closed"),
        ("package p\nx := [1}\n", "line 2: unbalanced '}'"),
        ("package p\n} := 1\n", "line 2: unexpected '}' where a rule should start"),
        ("package p\nx := 1 else := 2\n", "line 2: unexpected 'else' where a rule should start"),
    ],
)
def test_unreadable_sources(text: str, message: str) -> None:
    with pytest.raises(RegoSyntaxError) as caught:
        read_module(text)
    assert str(caught.value) == message


def test_module_outline() -> None:
    module = read_module(
        'package a.b["c-d"]\n\nimport rego.v1\nimport data.lib.x as helpers\nimport input.spec\n'
        "default allow := false\nallow if helpers.ok(input)\nf(x) := x\np.q[r] := 1 if r := 2\n"
    )
    assert module.package == 'a.b["c-d"]'
    assert module.rego_v1 and not module.future_keywords
    assert [(path, alias) for path, alias, _ in module.imports] == [
        ("rego.v1", None),
        ("data.lib.x", "helpers"),
        ("input.spec", None),
    ]
    assert [(r.name, r.default, r.function) for r in module.rules] == [
        ("allow", True, False),
        ("allow", False, False),
        ("f", False, True),
        (None, False, False),
    ]
    assert {"helpers", "spec", "allow", "f", "p.q"} <= module.bound_names()
    assert list(module.calls()) == [("helpers.ok", 7)]  # ``f(x) :=`` defines f, it does not call it


def test_dotted_package_is_queried(regopy_engine: RegoEngine) -> None:
    policy = script('package policies.sbom.checks\nimport rego.v1\nresult := {"violations": ["v"]}\n')
    assert [v.message for v in regopy_engine.evaluate(policy, b"{}", {}, Limits()).violations] == ["v"]


@given(content=st.text())
def test_any_string_content_is_one_token(content: str) -> None:
    literal = json.dumps(content)
    source = f"package p\nx := {literal}\n"
    tokens = tokenize(source)
    assert [t.text for t in tokens] == ["package", "p", "x", ":=", literal]
    assert to_v1(source) == source


@given(comment=st.text().map(lambda s: s.replace("\n", " ").replace("\r", " ")))
def test_comments_never_change_the_conversion(comment: str) -> None:
    base = "package p\n\ndeny[msg] {\n    msg := 1\n}\n"
    commented = f"package p\n# {comment}\ndeny[msg] {{ # {comment}\n    msg := 1\n}}\n"
    expected = f"package p\n# {comment}\ndeny contains msg if {{ # {comment}\n    msg := 1\n}}\n"
    assert to_v1(commented) == expected
    assert to_v1(base) == "package p\n\ndeny contains msg if {\n    msg := 1\n}\n"
