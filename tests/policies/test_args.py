"""Arguments: Chainloop's ComputeArguments and getInputArguments cases (reference section 7), templates,
runtime inputs, and properties of the splitting."""

from __future__ import annotations

import logging

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crafter._internal.policies.args import (
    apply_runtime_inputs,
    compute_arguments,
    engine_args,
    interpolate_group_material_name,
    render_template,
)
from crafter._internal.policies.spec import PolicyInput
from crafter.errors import PolicyError

# TestGetInputArguments (pkg/policies/policies_test.go), all 18 cases.
GET_INPUT_ARGUMENTS = [
    ("string input", {"foo": "bar"}, {"foo": "bar"}),
    ("csv input", {"foo": "bar1,bar2,bar3"}, {"foo": ["bar1", "bar2", "bar3"]}),
    ("csv input with escaped comma", {"foo": "bar1\\,bar2,bar3"}, {"foo": ["bar1,bar2", "bar3"]}),
    ("csv input with empty slots", {"foo": ",bar1,,,bar2,bar3,,"}, {"foo": ["bar1", "bar2", "bar3"]}),
    ("csv input with line feeds", {"foo": "\nbar1,,,bar2,bar3,,"}, {"foo": ["bar1", "bar2", "bar3"]}),
    ("multiline input", {"foo": "\nbar1\nbar2\nbar3\n"}, {"foo": ["bar1", "bar2", "bar3"]}),
    (
        "multiline input with empty lines",
        {"foo": "\n\n\nbar1\nbar2\n\nbar3\n"},
        {"foo": ["bar1", "bar2", "bar3"]},
    ),
    (
        "multiline input where a line is comma-separated",
        {"foo": "**/vendor/**,**/redist/**\nC:/a\nC:/b"},
        {"foo": ["**/vendor/**", "**/redist/**", "C:/a", "C:/b"]},
    ),
    (
        "multiline input where several lines are comma-separated",
        {"foo": "a,b\nc,d\ne"},
        {"foo": list("abcde")},
    ),
    ("multiline input with escaped comma on a line", {"foo": "a\\,b,c\nd"}, {"foo": ["a,b", "c", "d"]}),
    ("multiline input collapsing to a single value", {"foo": "\nbar\n"}, {"foo": "bar"}),
    ("no input", {}, {}),
    (
        "multiple values",
        {"foo": "bar1,bar2,bar3", "bar": "baz", "foos": "bar1\nbar2\nbar3\n"},
        {"foo": ["bar1", "bar2", "bar3"], "bar": "baz", "foos": ["bar1", "bar2", "bar3"]},
    ),
    (
        "regex with escaped parameters",
        {"pattern": "[A-Z][A-Z0-9_]+-\\d+"},
        {"pattern": r"[A-Z][A-Z0-9_]+-\d+"},
    ),
    ("regex with multiple backslashes", {"pattern": "\\d+\\s+\\w+"}, {"pattern": r"\d+\s+\w+"}),
    ("mixed escaped comma and regex", {"patterns": "\\d+\\,test,\\w+"}, {"patterns": [r"\d+,test", r"\w+"]}),
    ("backslash at end", {"foo": "bar\\"}, {"foo": "bar\\"}),
    ("double backslash", {"foo": "bar\\\\baz"}, {"foo": "bar\\\\baz"}),
]


@pytest.mark.parametrize(
    ("name", "given_", "expected"), GET_INPUT_ARGUMENTS, ids=[c[0] for c in GET_INPUT_ARGUMENTS]
)
def test_engine_args_reference_cases(name: str, given_: dict[str, str], expected: dict[str, object]) -> None:
    assert engine_args(given_) == expected


def test_engine_args_edge_cases() -> None:
    # Empty and blank values are omitted; a double backslash before a comma still escapes it (Go's ReplaceAll).
    assert engine_args({"a": "", "b": " , ,\n", "c": "x\\\\,y"}) == {"c": "x\\,y"}
    # Go's TrimSpace keeps the ASCII separators \x1c-\x1f that Python's str.strip() would remove.
    assert engine_args({"a": "\x1fx\x1f"}) == {"a": "\x1fx\x1f"}
    assert engine_args({"a": "\u00a0x\u3000"}) == {"a": "x"}


@given(st.dictionaries(st.text(max_size=5), st.text(alphabet=st.characters(), max_size=40), max_size=5))
def test_engine_args_never_crashes_nor_yields_empty_strings(computed: dict[str, str]) -> None:
    out = engine_args(computed)
    assert set(out) <= set(computed)
    for value in out.values():
        if isinstance(value, str):
            assert value
        else:
            assert len(value) >= 2
            assert all(isinstance(v, str) and v for v in value)


@given(st.lists(st.text(alphabet="abc ,\\", min_size=1, max_size=6), min_size=2, max_size=5))
def test_engine_args_escaped_commas_round_trip(raw_parts: list[str]) -> None:
    # Values written with their commas escaped come back whole. (A value ending with a backslash cannot be
    # written: its backslash would escape the separator.)
    parts = [p.strip() for p in raw_parts]
    assume(all(p and not p.endswith("\\") for p in parts))
    joined = ",".join(p.replace(",", "\\,") for p in parts)
    assert engine_args({"k": joined}) == {"k": parts}


def _inputs(*specs: tuple[str, bool, str]) -> list[PolicyInput]:
    return [PolicyInput(name, required=required, default=default) for name, required, default in specs]


# TestComputePolicyArguments (pkg/policies/policies_test.go), all 12 cases.
COMPUTE = [
    ("all args passed when no inputs present", [], {"arg1": "value1", "arg2": "value2"}, None,
     {"arg1": "value1", "arg2": "value2"}),
    ("required inputs", _inputs(("arg1", True, "")), {"arg2": "value2"}, None, 'missing required input "arg1"'),
    ("default values are set", _inputs(("arg1", False, "value1"), ("arg2", True, "")), {"arg2": "value2"}, None,
     {"arg1": "value1", "arg2": "value2"}),
    ("unexpected arguments are ignored", _inputs(("arg1", False, "value1"), ("arg2", False, "")),
     {"arg3": "value3"}, None, {"arg1": "value1"}),
    ("expected arguments with values are respected", _inputs(("arg1", False, "value1"), ("arg2", False, "")),
     {"arg1": "value1", "arg2": "value2"}, None, {"arg1": "value1", "arg2": "value2"}),
    ("simple bindings", _inputs(("arg1", False, "")), {"arg1": "Hello {{ .inputs.foo }}"}, {"foo": "world"},
     {"arg1": "Hello world"}),
    ("multiple bindings", _inputs(("arg1", False, ""), ("arg2", False, "")),
     {"arg1": "Hello {{ .inputs.foo }} {{ .inputs.bar }}", "arg2": "Bye {{ .inputs.bar }}"},
     {"foo": "world", "bar": "template"}, {"arg1": "Hello world template", "arg2": "Bye template"}),
    ("no variable found in bindings, renders zero value", _inputs(("arg1", False, "")),
     {"arg1": "Hello {{ .inputs.foo }}"}, {"bar": "world"}, {"arg1": "Hello "}),
    ("no interpolation needed", _inputs(("arg1", False, "")), {"arg1": "Hello world"}, {"foo": "bar"},
     {"arg1": "Hello world"}),
    ("required and default is illegal", _inputs(("arg1", True, "foo")), {"arg1": "Hello world"}, None,
     "input arg1 can not be required and have a default at the same time"),
    ("inputs prefix without dot", _inputs(("arg1", False, ""), ("arg2", False, "")),
     {"arg1": "Hello {{inputs.foo }} {{   inputs.bar }}", "arg2": "Bye {{ inputs.bar}}"},
     {"foo": "world", "bar": "template"}, {"arg1": "Hello world template", "arg2": "Bye template"}),
    ("required input with missing binding", _inputs(("arg1", True, "")), {"arg1": "{{ inputs.foo }}"}, None,
     'missing required input "arg1"'),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "inputs", "given_", "bindings", "expected"), COMPUTE, ids=[c[0] for c in COMPUTE]
)
def test_compute_arguments_reference_cases(
    name: str,
    inputs: list[PolicyInput],
    given_: dict[str, str],
    bindings: dict[str, str] | None,
    expected: dict[str, str] | str,
) -> None:
    if isinstance(expected, str):
        with pytest.raises(PolicyError) as err:
            compute_arguments("test-policy", inputs, given_, bindings)
        assert expected in err.value.message
    else:
        assert compute_arguments("test-policy", inputs, given_, bindings) == expected


def test_missing_required_input_names_the_policy() -> None:
    with pytest.raises(PolicyError) as err:
        compute_arguments("my-policy", _inputs(("email", True, "")), {}, None)
    assert err.value.message == 'missing required input "email" for policy "my-policy"'


def test_explicit_empty_value_replaces_the_default() -> None:
    # Chainloop: the default is set, then the given (empty) value overwrites it; engine_args then drops it.
    computed = compute_arguments("p", _inputs(("a", False, "dflt")), {"a": ""}, None)
    assert computed == {"a": ""}
    assert engine_args(computed) == {}


def test_defaults_are_templates_too() -> None:
    inputs = _inputs(("email", False, "{{ inputs.user }}@example.com"))
    assert compute_arguments("p", inputs, {}, {"user": "dev"}) == {"email": "dev@example.com"}


def test_no_declared_inputs_pass_templates_unrendered() -> None:
    given_ = {"a": "{{ inputs.x }}"}
    assert compute_arguments("p", [], given_, {"x": "1"}) == given_


def test_undeclared_arguments_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crafter.policies"):
        assert compute_arguments("p", _inputs(("a", False, "")), {"a": "1", "zzz": "2"}, None) == {"a": "1"}
    assert "'zzz' not defined in policy 'p'" in caplog.text


def test_compute_arguments_does_not_touch_its_input() -> None:
    given_ = {"a": "{{ inputs.x }}", "b": "2"}
    compute_arguments("p", _inputs(("a", False, "")), given_, {"x": "1"})
    assert given_ == {"a": "{{ inputs.x }}", "b": "2"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("{{ inputs.a }}-{{inputs.b}}", "A-B"),
        ("{{ .inputs.a }}", "A"),
        ("x {{- .inputs.a -}} y", "xAy"),  # Go trims; "{{- inputs." is not rewritten by Chainloop either
        ("x{{/* a comment */}}y", "xy"),
        ("{{ inputs.missing }}", ""),
        ("}} alone", "}} alone"),
    ],
)
def test_render_template(text: str, expected: str) -> None:
    assert render_template(text, {"a": "A", "b": "B"}) == expected


@pytest.mark.parametrize("text", ["{{ .Env.HOME }}", "{{ inputs.a | upper }}", "{{ inputs.a", "{{ . }}"])
def test_unsupported_templates_are_errors_naming_the_input(text: str) -> None:
    with pytest.raises(PolicyError) as err:
        compute_arguments("p", _inputs(("a", False, "")), {"a": text}, {"a": "A"})
    assert err.value.message.startswith('policy "p": input "a": ')


def test_group_material_name_interpolation() -> None:
    assert interpolate_group_material_name("{{ inputs.sbom_name }}", {"sbom_name": "foo"}) == "foo"
    assert interpolate_group_material_name("sbom-{{inputs.suffix}}", {}) == "sbom-"
    with pytest.raises(PolicyError, match="group material name"):
        interpolate_group_material_name("{{ nope }}", {})


def test_runtime_inputs_override_declared_inputs() -> None:
    inputs = _inputs(("ignored_paths", False, ""), ("min", False, "1"))
    computed = {"min": "1"}
    result, overridden = apply_runtime_inputs(
        computed, {"min": "10", "ignored_paths": "a.dll", "other": "x"}, inputs=inputs
    )
    assert result == {"min": "10", "ignored_paths": "a.dll"}
    assert overridden == ("ignored_paths", "min")
    assert computed == {"min": "1"}


def test_runtime_inputs_without_declared_inputs() -> None:
    # A policy that declares no inputs receives every argument (Chainloop's legacy pass-through).
    assert apply_runtime_inputs({"a": "1"}, {"b": "2"}, inputs=[]) == ({"a": "1", "b": "2"}, ("b",))
    # Without the policy's inputs, only arguments already present are replaced.
    assert apply_runtime_inputs({"a": "1"}, {"a": "3", "b": "2"}) == ({"a": "3"}, ("a",))
    assert apply_runtime_inputs({"a": "1"}, {}) == ({"a": "1"}, ())
