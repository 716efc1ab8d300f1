"""The reference's Rego engine cases (chainloop-policies.md sections 3, 7 and 8), on both backends."""

from __future__ import annotations

import json

import pytest

from crafter._internal.policies.engines.interface import Limits
from crafter._internal.policies.engines.rego import RegoEngine
from crafter.errors import PolicyError

from .conftest import fixture, script


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def test_valid_policy_with_violations(engine: RegoEngine, limits: Limits) -> None:
    result = engine.evaluate(fixture("check_qa"), b'{"foo": "bar"}', {}, limits)
    assert [v.message for v in result.violations] == [
        "the image was not approved by QA",
        "the image was not released",
    ]
    assert not result.skipped and not result.ignore and not result.findings


def test_valid_policy_without_violations(engine: RegoEngine, limits: Limits) -> None:
    image = {
        "references": [{"kind": "qa-approved"}, {"kind": "released"}],
        "chainloop_metadata": {"annotations": {"chainloop.material.type": "CONTAINER_IMAGE"}},
    }
    result = engine.evaluate(fixture("check_qa"), _json(image), {}, limits)
    assert result.violations == () and not result.skipped


def test_array_input_is_seen_as_elements(engine: RegoEngine, limits: Limits) -> None:
    result = engine.evaluate(fixture("arrays"), b'[{"a": 1}, {"b": 2}]', {}, limits)
    assert result.skip_reason == "2"


@pytest.mark.parametrize(("value", "expected"), [("bar", ["foo is bar"]), ("hello", [])])
def test_scalar_argument(engine: RegoEngine, limits: Limits, value: str, expected: list[str]) -> None:
    result = engine.evaluate(fixture("arguments"), b"{}", {"foo": value}, limits)
    assert [v.message for v in result.violations] == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(["hello", "bar"], ["foo has bar"]), (["hello", "world"], [])]
)
def test_list_argument(engine: RegoEngine, limits: Limits, value: list[str], expected: list[str]) -> None:
    result = engine.evaluate(fixture("arguments_list"), b"{}", {"foo": value}, limits)
    assert [v.message for v in result.violations] == expected


def test_args_overwrite_a_material_key_and_are_always_an_object(engine: RegoEngine, limits: Limits) -> None:
    echo = script('package main\nimport rego.v1\nresult := {"violations": [json.marshal(input.args)]}\n')
    result = engine.evaluate(echo, b'{"args": "from the material"}', {}, limits)
    assert [v.message for v in result.violations] == ["{}"]


def test_scalar_input_with_arguments_is_an_error(engine: RegoEngine, limits: Limits) -> None:
    with pytest.raises(PolicyError, match=r'policy "arguments": unexpected input arguments'):
        engine.evaluate(fixture("arguments"), b'"a string"', {}, limits)


@pytest.mark.parametrize("data", [b"", b"  \n", b"{not json", b'{"a": NaN}'])
def test_input_that_is_not_json_is_an_error(engine: RegoEngine, limits: Limits, data: bytes) -> None:
    with pytest.raises(PolicyError, match=r'policy "arrays": failed to parse input'):
        engine.evaluate(fixture("arrays"), data, {}, limits)


def test_large_integers_reach_the_policy_exactly(engine: RegoEngine, limits: Limits) -> None:
    echo = script('package main\nimport rego.v1\nresult := {"violations": [sprintf("%v", [input.n + 1])]}\n')
    result = engine.evaluate(echo, b'{"n": 12345678901234567890}', {}, limits)
    assert [v.message for v in result.violations] == ["12345678901234567891"]


def test_policy_without_result_rule(engine: RegoEngine, limits: Limits) -> None:
    with pytest.raises(
        PolicyError, match=r"^policy \"no-result\": failed to evaluate policy: 'result' rule not found$"
    ):
        engine.evaluate(fixture("no_result"), b"{}", {}, limits)


def test_result_format(engine: RegoEngine, limits: Limits) -> None:
    policy = fixture("result_format")
    with pytest.raises(PolicyError, match="failed to parse input"):
        engine.evaluate(policy, b"", {}, limits)

    invalid = engine.evaluate(policy, b'{"foo": "bar"}', {}, limits)
    assert invalid.skipped and invalid.skip_reason == "invalid input" and invalid.violations == ()

    clean = engine.evaluate(policy, _json({"bomFormat": "CycloneDX", "specVersion": "1.5"}), {}, limits)
    assert not clean.skipped and clean.violations == () and not clean.ignore

    old = engine.evaluate(policy, _json({"bomFormat": "CycloneDX", "specVersion": "1.4"}), {}, limits)
    assert [v.message for v in old.violations] == ["wrong CycloneDX version, expected 1.5 and it was 1.4"]
    assert not old.ignore

    ignored = engine.evaluate(policy, _json({"bomFormat": "CycloneDX", "specVersion": "1.0"}), {}, limits)
    assert len(ignored.violations) == 1 and ignored.ignore


def test_result_without_ignore_key(engine: RegoEngine, limits: Limits) -> None:
    result = engine.evaluate(fixture("result_without_ignore"), b"{}", {}, limits)
    assert not result.ignore and [v.message for v in result.violations] == ["one"]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("scalar", "Policy result format error: result not found or wrong format"),
        ("number violation", "violation must be a string or object, got json.Number"),
        (
            "number message",
            'structured violation in policy "result-errors": "message" field must be a string, got json.Number',
        ),
        ("string finding", "finding must be an object, got string"),
        ("object violations", "violations must be an array, got map[string]interface {}"),
    ],
)
def test_result_type_errors(engine: RegoEngine, limits: Limits, case: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        engine.evaluate(fixture("result_errors"), _json({"case": case}), {}, limits)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_result_values_of_the_wrong_type_are_ignored(engine: RegoEngine, limits: Limits) -> None:
    """As in the reference: a non-boolean skipped/ignore or non-string skip_reason reads as the zero value."""
    result = engine.evaluate(fixture("result_errors"), b'{"case": "wrong types"}', {}, limits)
    assert (result.skipped, result.ignore, result.skip_reason, result.violations) == (False, False, "", ())


def test_empty_findings_fall_back_to_violations(engine: RegoEngine, limits: Limits) -> None:
    result = engine.evaluate(fixture("result_errors"), b'{"case": "empty findings"}', {}, limits)
    assert result.violations == () and not result.findings


def test_structured_findings(engine: RegoEngine, limits: Limits) -> None:
    vulnerabilities = [
        {"id": "CVE-2024-0001", "purl": "pkg:npm/a@1", "severity": "HIGH"},
        {"id": "CVE-2024-0002", "purl": "pkg:npm/b@2", "severity": "LOW"},
    ]
    result = engine.evaluate(fixture("findings"), _json({"vulnerabilities": vulnerabilities}), {}, limits)
    assert result.findings
    assert sorted(v.message for v in result.violations) == [
        "CVE-2024-0001 in pkg:npm/a@1",
        "CVE-2024-0002 in pkg:npm/b@2",
    ]
    raw = {v.raw["external_id"]: dict(v.raw) for v in result.violations if v.raw}
    assert raw["CVE-2024-0001"] == {
        "message": "CVE-2024-0001 in pkg:npm/a@1",
        "external_id": "CVE-2024-0001",
        "package_purl": "pkg:npm/a@1",
        "severity": "HIGH",
    }


def test_finding_without_message(engine: RegoEngine, limits: Limits) -> None:
    with pytest.raises(PolicyError) as caught:
        engine.evaluate(fixture("findings_no_message"), b"{}", {}, limits)
    assert str(caught.value) == (
        'structured finding in policy "findings-no-message": missing required "message" field in structured violation'
    )


def test_findings_take_precedence_over_violations(engine: RegoEngine, limits: Limits) -> None:
    result = engine.evaluate(fixture("findings_over_violations"), b"{}", {}, limits)
    assert [v.message for v in result.violations] == ["a structured finding"]
    assert result.violations[0].raw is not None and result.violations[0].raw["rule_id"] == "R1"


def test_deprecated_structured_violations(engine: RegoEngine, limits: Limits) -> None:
    result = engine.evaluate(fixture("deprecated_structured"), b"{}", {}, limits)
    messages = [(v.message, v.raw is not None) for v in result.violations]
    assert messages == [("GPL-3.0 is not allowed", True), ("and a plain one", False)]
    assert not result.findings


@pytest.mark.parametrize(
    "call",
    [
        "opa.runtime()",
        'trace("here")',
        'rego.parse_module("x.rego", "package x")',
        'http.send({"method": "get", "url": "https://github.com"})',
        'net.lookup_ip_addr("github.com")',
        'net.cidr_contains("10.0.0.0/8", "10.1.2.3")',
        'net.cidr_expand("10.0.0.0/30")',
    ],
)
def test_restricted_builtins_are_refused_before_evaluation(
    engine: RegoEngine, limits: Limits, call: str
) -> None:
    text = fixture("restricted").source.decode().replace("CALL", f"x := {call}")
    builtin = call.split("(")[0]
    with pytest.raises(PolicyError) as caught:
        engine.prepare(script(text, "restricted"))
    assert (
        str(caught.value)
        == f'policy "restricted": line 11: undefined function {builtin} (not allowed in policies; called)'
    )
    with pytest.raises(PolicyError, match=f"undefined function {builtin}"):
        engine.evaluate(script(text, "restricted"), b"{}", {}, limits)


def test_builtin_names_in_strings_and_comments_are_not_calls(engine: RegoEngine, limits: Limits) -> None:
    text = fixture("restricted").source.decode().replace("CALL", "false")
    assert engine.evaluate(script(text), b"{}", {}, limits).violations == ()


def test_restricted_names_are_refused_even_behind_an_import(engine: RegoEngine) -> None:
    with pytest.raises(PolicyError, match=r"undefined function opa\.runtime"):
        engine.prepare(
            script("package main\nimport rego.v1\nimport data.helpers as opa\nx := opa.runtime()\n")
        )


def test_a_function_of_an_imported_package_is_not_a_chainloop_builtin(
    engine: RegoEngine, limits: Limits
) -> None:
    text = 'package main\nimport rego.v1\nimport data.main as chainloop\nresult := {"violations": [chainloop.f(1)]}\nf(x) := "local"\n'
    result = engine.evaluate(script(text), b"{}", {}, limits)
    assert not result.skipped and [v.message for v in result.violations] == ["local"]


def test_chainloop_builtins_degrade_to_skipped(engine: RegoEngine, limits: Limits) -> None:
    result = engine.evaluate(fixture("chainloop_builtin"), b"{}", {}, limits)
    assert result.skipped and result.violations == ()
    assert result.skip_reason == (
        "policy requires builtin functions not available in this CLI version: "
        "chainloop.vulnerability, chainloop.discover — please upgrade to the latest version"
    )


@pytest.mark.parametrize(
    ("evaluated", "expected", "matches"),
    [("low", "high", True), ("high", "medium", False), ("critical", "critical", True)],
)
def test_matches_parameters(
    engine: RegoEngine, limits: Limits, evaluated: str, expected: str, matches: bool
) -> None:
    policy = fixture("matches_parameters")
    assert (
        engine.matches_parameters(policy, {"severity": evaluated}, {"severity": expected}, limits) is matches
    )


def test_matches_parameters_undefined_falls_back_to_equal_arguments(
    engine: RegoEngine, limits: Limits
) -> None:
    """Chainloop answers false when the rule is undefined; crafter asks the interface's default (equality)."""
    policy = fixture("matches_parameters")
    assert not engine.matches_parameters(policy, {"severity": "unknown"}, {"severity": "high"}, limits)
    assert engine.matches_parameters(policy, {}, {}, limits)
    no_rule = fixture("arguments")
    assert engine.matches_parameters(no_rule, {"foo": "a"}, {"foo": "a"}, limits)
    assert not engine.matches_parameters(no_rule, {"foo": "a"}, {"foo": "b"}, limits)


@pytest.mark.parametrize(
    ("violations", "severity", "matches"),
    [(["v"], "high", False), ([], "high", True), (["v"], "low", True)],
)
def test_matches_evaluation(
    engine: RegoEngine, limits: Limits, violations: list[str], severity: str, matches: bool
) -> None:
    """Read as Rego v1. Chainloop reads this file as v0, where ``:= false if {`` is an unconditional false."""
    policy = fixture("matches_evaluation")
    assert engine.matches_evaluation(policy, violations, {"severity": severity}, limits) is matches


def test_matches_evaluation_undefined_falls_back_to_no_violations(engine: RegoEngine, limits: Limits) -> None:
    assert engine.matches_evaluation(fixture("arguments"), [], {}, limits)
    assert not engine.matches_evaluation(fixture("arguments"), ["v"], {}, limits)


def test_matcher_answering_a_non_boolean_is_an_error(engine: RegoEngine, limits: Limits) -> None:
    with pytest.raises(PolicyError, match="matches_parameters must be a boolean, got string"):
        engine.matches_parameters(fixture("matches_non_boolean"), {}, {}, limits)


def test_print_output_is_returned_not_written(
    engine: RegoEngine, limits: Limits, capfd: pytest.CaptureFixture[str]
) -> None:
    result = engine.evaluate(fixture("prints"), b'{"name": "x"}', {}, limits)
    assert result.prints == ("checking x",)
    assert [v.message for v in result.violations] == ["bad name x"]
    out, _ = capfd.readouterr()
    assert out == ""


def test_errors_name_the_policy_on_one_line_with_a_location(
    engine: RegoEngine, limits: Limits, capfd: pytest.CaptureFixture[str]
) -> None:
    broken = script('package main\nimport rego.v1\nresult := {"a": 1, "b" 2}\n', "broken")
    with pytest.raises(PolicyError) as caught:
        engine.evaluate(broken, b"{}", {}, limits)
    message = str(caught.value)
    assert message.startswith('policy "broken": failed to parse policy: broken.rego:3')
    assert "\n" not in message
    assert capfd.readouterr().out == ""  # regopy's own error report went to the worker's captured fd 1


def test_strict_builtin_errors(engine: RegoEngine, limits: Limits) -> None:
    policy = script(
        'package main\nimport rego.v1\nresult := {"violations": [], "n": to_number(input.xs)}\n', "strict"
    )
    with pytest.raises(
        PolicyError, match=r'^policy "strict": failed to evaluate policy: .*(eval_type_error|to_number)'
    ):
        engine.evaluate(policy, b'{"xs": ["100", "10"]}', {}, limits)


def test_unknown_function_error_has_a_line(regopy_engine: RegoEngine, limits: Limits) -> None:
    policy = script('package main\nimport rego.v1\n\nresult := {"n": lib.missing(1)}\n', "unknown")
    with pytest.raises(PolicyError, match=r"Function not found: lib.missing \(line 4\)$"):
        regopy_engine.evaluate(policy, b"{}", {}, limits)


def test_opa_backend_without_bindings_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(PolicyError, match="not installed") as caught:
        RegoEngine(backend="opa")
    assert caught.value.hint is not None and "--ignore-requires-python" in caught.value.hint


def test_unknown_backend() -> None:
    with pytest.raises(PolicyError, match="unknown Rego backend 'wasm'"):
        RegoEngine(backend="wasm")


@pytest.mark.parametrize(
    "text",
    ['say "hi"', "C:\\temp\\new", "two\nlines\ttab", "é ü 中", "plain"],
    ids=["quotes", "backslashes", "controls", "unicode", "plain"],
)
def test_input_strings_pass_through_intact(engine: RegoEngine, limits: Limits, text: str) -> None:
    """regopy stores set_input strings unescaped; the engine sends such documents as JSON text instead."""
    policy = script(
        "package main\nimport rego.v1\n"
        'result := {"violations": [input.s, concat("", ["<", input.s, ">"]), input.args.a], '
        '"skipped": input.s == "say \\"hi\\""}\n'
    )
    result = engine.evaluate(policy, _json({"s": text}), {"a": text}, limits)
    assert [v.message for v in result.violations] == [text, f"<{text}>", text]
    assert result.skipped is (text == 'say "hi"')
