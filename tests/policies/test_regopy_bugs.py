"""regopy's known built-in bugs (crafter/_internal/policies/engines/rego_bugs.py): the bugs are real in the regopy this
project runs, a failure they cause says so with the rewrite, and the rewrite gives OPA's answer.

The policies are Chainloop's own examples (docs/examples/policies/quickstart/cdx-fresh.yaml and
docs/examples/policies/sbom/cyclonedx-licenses.yaml in chainloop-dev/chainloop), inlined here; the tests at
the end run them on the reference project's SBOM from ../shared/testdata and skip where it is absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.policies.engines.interface import Limits, Script
from crafter._internal.policies.engines.rego import RegoEngine
from crafter._internal.policies.engines.rego_bugs import KNOWN, explain
from crafter.errors import ExitCode, PolicyError
from tests.conftest import chainloop_path, run_cli

FRESHNESS = """package main

import rego.v1

limit := 30
nanosecs_per_second := (1000 * 1000) * 1000
nanosecs_per_day := ((24 * 60) * 60) * nanosecs_per_second
maximum_age := limit * nanosecs_per_day

violations contains msg if {
\tsbom_ns = time.parse_rfc3339_ns(input.metadata.timestamp)
\texceeding = time.now_ns() - (sbom_ns + maximum_age)
\texceeding > 0
\tmsg := sprintf("SBOM created at: %s which is too old (freshness limit set to %d days)", [input.metadata.timestamp, limit])
}
"""
FRESHNESS_REWRITTEN = FRESHNESS.replace(
    "time.parse_rfc3339_ns(input.metadata.timestamp)",
    'time.parse_rfc3339_ns(replace(input.metadata.timestamp, "Z", "+00:00"))',
)

LICENSES = """package main

import rego.v1

result := {
\t"skipped": skipped,
\t"violations": violations,
\t"skip_reason": skip_reason,
}

default skip_reason := ""

skip_reason := m if {
\tnot valid_input
\tm := "the file content is not recognized"
}

default skipped := true

skipped := false if valid_input

valid_input if {
\tcount(input.components) > 0
}

violations contains msg if {
\tcount(without_license) > 0
\tmsg := sprintf("Missing licenses for %s", [components_str])
}

components_str := concat(", ", [comp.purl | some comp in without_license])

without_license contains comp if {
\tsome comp in input.components
\tnot comp.licenses
}
"""
LICENSES_REWRITTEN = LICENSES.replace(
    'sprintf("Missing licenses for %s", [components_str])',
    'concat("", ["Missing licenses for ", components_str])',
)

SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "version": 1,
    "metadata": {"timestamp": "2023-02-25T15:16:00Z"},
    "components": [
        {"type": "library", "name": "a", "version": "1", "purl": "pkg:npm/a@1"},
        {"type": "library", "name": "b", "version": "2", "purl": "pkg:npm/b@2"},
        {"type": "library", "name": "c", "version": "3", "licenses": [{"license": {"id": "MIT"}}]},
    ],
}


@pytest.fixture(scope="module")
def regopy() -> Iterator[RegoEngine]:
    engine = RegoEngine(workers=1)
    yield engine
    engine.close()


def evaluate(engine: RegoEngine, source: str, document: Any) -> list[str]:
    script = engine.prepare(Script(source.encode(), "example", "inline", "rego"))
    result = engine.evaluate(script, json.dumps(document).encode(), {}, Limits())
    return [v.message for v in result.violations]


def value(engine: RegoEngine, expression: str) -> Any:
    """The value of one Rego expression, evaluated by ``engine``."""
    source = f"package main\n\nimport rego.v1\n\nvalue := {expression}\n\nviolations contains json.marshal(value)\n"
    (message,) = evaluate(engine, source, {})
    return json.loads(message)


# -- the bugs are real in this regopy -------------------------------------------------------------------------


def test_regopy_cannot_parse_a_utc_timestamp_written_with_z(regopy: RegoEngine) -> None:
    with pytest.raises(PolicyError, match="Unable to parse time"):
        value(regopy, 'time.parse_rfc3339_ns("2024-01-02T03:04:05Z")')
    with pytest.raises(PolicyError, match="Unable to parse time"):
        value(regopy, 'time.parse_ns("2006-01-02T15:04:05Z07:00", "2024-01-02T03:04:05Z")')
    assert value(regopy, 'time.parse_rfc3339_ns("2024-01-02T03:04:05+00:00")') == 1704164645000000000


def test_the_timestamp_rewrite_gives_opas_answer(regopy: RegoEngine) -> None:
    # OPA: time.parse_rfc3339_ns("2024-01-02T03:04:05.25Z") == 1704164645250000000
    rewritten = 'time.parse_rfc3339_ns(replace("2024-01-02T03:04:05.25Z", "Z", "+00:00"))'
    assert value(regopy, rewritten) == 1704164645250000000


def test_regopy_quotes_a_computed_string_in_sprintf(regopy: RegoEngine) -> None:
    with pytest.raises(PolicyError, match="not JSON"):
        evaluate(regopy, LICENSES, SBOM)
    assert evaluate(regopy, LICENSES_REWRITTEN, SBOM) == ["Missing licenses for pkg:npm/a@1, pkg:npm/b@2"]


# -- the error says so ----------------------------------------------------------------------------------------


def test_a_z_timestamp_failure_names_the_bug_and_the_rewrite(regopy: RegoEngine) -> None:
    with pytest.raises(PolicyError) as caught:
        evaluate(regopy, FRESHNESS, SBOM)
    error = caught.value
    assert "Unable to parse time" in error.message
    assert "known regopy 1.5.2 bug: time.parse_rfc3339_ns" in error.message
    assert error.hint is not None
    assert 'replace(ts, "Z", "+00:00")' in error.hint
    assert "--rego-backend opa" in error.hint
    assert evaluate(regopy, FRESHNESS_REWRITTEN, SBOM) == [
        "SBOM created at: 2023-02-25T15:16:00Z which is too old (freshness limit set to 30 days)"
    ]


def test_a_sprintf_failure_names_the_bug_and_the_rewrite(regopy: RegoEngine) -> None:
    with pytest.raises(PolicyError) as caught:
        evaluate(regopy, LICENSES, SBOM)
    assert "known regopy 1.5.2 bug: sprintf" in caught.value.message
    assert caught.value.hint is not None and 'concat("", [' in caught.value.hint


def test_a_fraction_for_d_names_the_bug_and_the_rewrite(regopy: RegoEngine) -> None:
    with pytest.raises(PolicyError) as caught:
        value(regopy, 'sprintf("%d items", [1.5])')
    assert "must be number but got number" in caught.value.message
    assert "known regopy 1.5.2 bug: sprintf refuses a number with a fraction for %d" in caught.value.message
    assert value(regopy, 'sprintf("%v items", [1.5])') == "1.5 items"  # OPA: the same


def test_a_builtin_regopy_lacks_points_to_the_opa_backend(regopy: RegoEngine) -> None:
    with pytest.raises(PolicyError) as caught:
        value(regopy, 'strings.render_template("{{.a}}", {"a": 1})')
    assert "regopy 1.5.2 does not implement strings.render_template" in caught.value.message
    assert caught.value.hint == "evaluate with OPA itself: --rego-backend opa"


def test_an_error_is_only_explained_when_the_policy_calls_the_builtin(regopy: RegoEngine) -> None:
    assert explain("eval_builtin_error: Unable to parse time", ["time.parse_ns"]) is not None
    assert explain("eval_builtin_error: Unable to parse time", ["sprintf"]) is None
    assert explain("eval_builtin_error: divide by zero", ["time.parse_rfc3339_ns"]) is None
    with pytest.raises(PolicyError) as caught:  # a parse failure of the policy's own making: unchanged
        value(regopy, 'to_number("x")')
    assert "regopy 1.5.2 bug" not in caught.value.message


def test_every_known_bug_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "policies" / "rego.md").read_text()
    for bug in KNOWN:
        assert bug.builtins and bug.marker
        for name in bug.builtins:
            assert f"`{name}`" in docs


def test_the_cli_prints_the_explanation_without_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "fresh.yaml"
    embedded = "".join(f"        {line}\n" for line in FRESHNESS.splitlines())
    policy.write_text(
        "apiVersion: workflowcontract.chainloop.dev/v1\nkind: Policy\nmetadata:\n  name: cdx-fresh\n"
        f"spec:\n  policies:\n    - kind: SBOM_CYCLONEDX_JSON\n      embedded: |\n{embedded}"
    )
    sbom = tmp_path / "sbom.cdx.json"
    sbom.write_text(json.dumps(SBOM))
    code, out, err = run_cli(capsys, "policy", "eval", "--policy", str(policy), "--material", str(sbom))
    assert code == ExitCode.POLICY
    assert "known regopy 1.5.2 bug: time.parse_rfc3339_ns" in err
    assert "--rego-backend opa" in err
    assert "Traceback" not in out + err


# -- on the reference project's SBOM (../shared/testdata) ----------------------------------------------------


def shared_sbom() -> Any:
    """The reference SBOM, cut down to what the two policies read (its 2,095 components in full would take
    seconds per evaluation)."""
    sbom = json.loads(chainloop_path("materials", "sbom.cyclonedx.json").read_text())
    components = [{k: c[k] for k in ("purl", "licenses") if k in c} for c in sbom["components"]]
    return {"metadata": sbom["metadata"], "components": components}


def test_chainloop_freshness_example_on_the_reference_sbom(regopy: RegoEngine) -> None:
    sbom = shared_sbom()
    with pytest.raises(PolicyError, match=re.escape("known regopy 1.5.2 bug: time.parse_rfc3339_ns")):
        evaluate(regopy, FRESHNESS, sbom)
    (message,) = evaluate(regopy, FRESHNESS_REWRITTEN, sbom)
    assert message.startswith(f"SBOM created at: {sbom['metadata']['timestamp']} which is too old")


def test_chainloop_licenses_example_on_the_reference_sbom(regopy: RegoEngine) -> None:
    sbom = shared_sbom()
    with pytest.raises(PolicyError, match=re.escape("known regopy 1.5.2 bug: sprintf")):
        evaluate(regopy, LICENSES, sbom)
    unlicensed = {c["purl"] for c in sbom["components"] if not c.get("licenses")}
    (message,) = evaluate(regopy, LICENSES_REWRITTEN, sbom)
    assert message.startswith("Missing licenses for ")
    assert set(message.removeprefix("Missing licenses for ").split(", ")) == unlicensed
