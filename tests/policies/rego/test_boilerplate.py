"""Boilerplate injection (reference section 3.4): byte-exact golden outputs, and rule detection.

Inputs are ``boilerplate/<case>.rego``; expected outputs ``boilerplate/output/<case>-output.rego``, compared
exactly. To regenerate them after a deliberate change, run
``CRAFTER_UPDATE_GOLDEN=1 pytest tests/policies/rego/test_boilerplate.py`` and review the diff.
The cases mirror the reference's own (only package and import, several imports, partial, simplified,
custom valid_input, comments, complete); ``v0-embedded`` adds the Rego v0 conversion done before injection.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crafter._internal.policies.engines.interface import Limits, Script
from crafter._internal.policies.engines.rego import RegoEngine
from crafter._internal.policies.engines.rego_syntax import read_module
from crafter.errors import PolicyError

from .conftest import HERE, opa_bindings, script

BOILERPLATE = HERE / "boilerplate"
CASES = sorted(p.stem for p in BOILERPLATE.glob("*.rego"))


def _prepared(engine: RegoEngine, path: Path) -> str:
    return engine.prepare(Script(path.read_bytes(), path.stem, str(path), "rego")).source.decode()


@pytest.mark.parametrize("case", CASES)
def test_injection_matches_golden(regopy_engine: RegoEngine, case: str) -> None:
    golden = BOILERPLATE / "output" / f"{case}-output.rego"
    produced = _prepared(regopy_engine, BOILERPLATE / f"{case}.rego")
    if os.environ.get("CRAFTER_UPDATE_GOLDEN"):
        golden.write_text(produced)
    assert produced == golden.read_text()


@pytest.mark.parametrize("case", CASES)
def test_injected_policy_is_valid_rego_for_opa(case: str) -> None:
    """The output parses and compiles in OPA itself (v1), as the reference checks its outputs parse."""
    bindings = opa_bindings()
    source = (BOILERPLATE / "output" / f"{case}-output.rego").read_text()
    with bindings.OpaEngine() as opa:
        opa.add_policy(f"{case}.rego", source)


def test_complete_policy_is_unchanged(regopy_engine: RegoEngine) -> None:
    path = BOILERPLATE / "full-boilerplate.rego"
    assert _prepared(regopy_engine, path) == path.read_text()


def test_detected_rules_and_defaults() -> None:
    module = read_module((BOILERPLATE / "partial-boilerplate.rego").read_text())
    assert {r.name for r in module.rules} == {"skipped", "violations"}
    assert {r.name for r in module.rules if r.default} == {"skipped"}


def test_simplified_policy_evaluates(regopy_engine: RegoEngine) -> None:
    prepared = regopy_engine.prepare(script((BOILERPLATE / "simplified-policy.rego").read_text(), "simple"))
    sbom = b'{"components": [{"name": "a", "license": "MIT"}, {"name": "b", "license": "GPL-3.0-only"}]}'
    result = regopy_engine.evaluate(prepared, sbom, {}, Limits())
    assert [v.message for v in result.violations] == ["b uses a banned licence"]
    assert not result.skipped and result.skip_reason == ""


def test_custom_valid_input_without_default_skips_with_the_default_reason(regopy_engine: RegoEngine) -> None:
    prepared = regopy_engine.prepare(script((BOILERPLATE / "custom-valid-input.rego").read_text(), "custom"))
    result = regopy_engine.evaluate(prepared, b'{"_type": "other"}', {}, Limits())
    assert result.skipped and result.skip_reason == "the file content is not recognized"


def test_conditional_ignore_without_default_leaves_result_undefined(regopy_engine: RegoEngine) -> None:
    """A user rule without a default suppresses the injected default: the result is then undefined."""
    text = 'package main\nimport rego.v1\nignore := true if input.x\nviolations contains "v" if true\n'
    prepared = regopy_engine.prepare(script(text, "conditional"))
    with pytest.raises(PolicyError, match="'result' rule not found"):
        regopy_engine.evaluate(prepared, b"{}", {}, Limits())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty policy source"),
        ("   \n", "empty policy source"),
        ("violations contains 1 if true\n", "must start with a package declaration"),
        ("# only a comment\n", "no package declaration"),
    ],
)
def test_unusable_sources(regopy_engine: RegoEngine, text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        regopy_engine.prepare(script(text, "bad"))
    assert str(caught.value).startswith('policy "bad": line ')
