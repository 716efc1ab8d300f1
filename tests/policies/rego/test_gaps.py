"""regopy against OPA on built-ins: the differences docs/policies/rego.md lists, kept true by this test.

Each row is evaluated by both backends in crafter's sandbox. ``ERR:text`` means an evaluation error whose
message contains ``text``. When regopy closes a gap this test fails: update the row and the docs table.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from crafter._internal.policies.engines.sandbox import Sandbox
from crafter.errors import PolicyError

from .conftest import opa_bindings, query

GAPS: list[tuple[str, Any, Any]] = [
    ('time.parse_rfc3339_ns("2024-01-02T03:04:05Z")', "ERR:Unable to parse time", 1704164645000000000),
    ('time.parse_rfc3339_ns("2024-01-02T03:04:05.5Z")', "ERR:Unable to parse time", 1704164645500000000),
    ('semver.compare("2.0.0", "2.0.0-rc.1")', -1, 1),
    ('semver.is_valid("v1.0.0")', None, True),
    ('sprintf("%q", ["s"])', "%q", '"s"'),
    ('sprintf("%d", [1.5])', "ERR:operand 1 must be number but got number", "%!d(float64=1.5)"),
    ("1.0e308 * 10 == 10000000000000000109790636294400", True, False),
    ("time.format(0)", "1970-01-01T00:00:00.000000000Z", "1970-01-01T00:00:00Z"),
    ('uuid.parse("00000000-0000-0000-0000-000000000000").variant', "ncs", "Reserved"),
    ('strings.render_template("{{.a}}", {"a": 1})', "ERR:Render template is not supported", "1"),
    ('json.verify_schema({"type": "string"})', "ERR:JSON Schema is not supported", [True, None]),
    ("rego.metadata.rule()", "ERR:Rego metadata not supported", {}),
    # strings holding escapes are kept escaped inside regopy: lengths, cases and slices see the escapes
    ('count("a\\"b")', 4, 3),
    ('upper("a\\nb")', "ERR:not JSON", "A\nB"),
    ('substring("x\\"yz", 1, 2)', '"', '"y'),
    # a string produced by a built-in, formatted again with %s, keeps its quotes
    ('sprintf("%s!", [concat("-", ["a", "b"])])', "ERR:not JSON", "a-b!"),
]
SAME: list[tuple[str, Any]] = [
    ('time.parse_rfc3339_ns("2024-01-02T03:04:05+00:00")', 1704164645000000000),
    ('semver.compare("1.0.0-alpha", "1.0.0-beta")', -1),
    ('sprintf("%s is %s, %v", ["a", "b", {"k": 1}])', 'a is b, {"k": 1}'),
    ('json.marshal({"b": 1, "a": 2})', '{"a":2,"b":1}'),
    ('units.parse_bytes("1KiB")', 1024),
    ('glob.match("*.example.com", ["."], "a.example.com")', True),
    ('regex.find_n("[0-9]+", "a1b22c333", -1)', ["1", "22", "333"]),
    ('yaml.marshal({"a": [1, 2]})', "a:\n- 1\n- 2\n"),
    ("7 / 2", 3.5),
    ("12345678901234567890 + 1", 12345678901234567891),
]


def _value(pool: Sandbox, expression: str, backend: str) -> Any:
    try:
        return query(pool, f"package gap\nimport rego.v1\nv := {expression}\n", "data.gap.v", backend=backend)
    except PolicyError as exc:
        return f"ERR:{exc}"


def _matches(got: Any, expected: Any) -> bool:
    if isinstance(expected, str) and expected.startswith("ERR:"):
        return isinstance(got, str) and got.startswith("ERR:") and expected[4:] in got
    return json.dumps(got) == json.dumps(expected)


@pytest.mark.parametrize(("expression", "regopy", "opa"), GAPS, ids=[g[0] for g in GAPS])
def test_documented_gap(sandbox: Sandbox, expression: str, regopy: Any, opa: Any) -> None:
    opa_bindings()
    assert _matches(_value(sandbox, expression, "opa"), opa)
    assert _matches(_value(sandbox, expression, "regopy"), regopy)


@pytest.mark.parametrize(("expression", "value"), SAME, ids=[s[0] for s in SAME])
def test_agreement(sandbox: Sandbox, expression: str, value: Any) -> None:
    opa_bindings()
    assert _value(sandbox, expression, "regopy") == value
    assert _value(sandbox, expression, "opa") == value
