"""The shipped policy library (policies/): every fixture case passes, and every policy follows the house rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from crafter._internal.policies.testing import Case, find_cases, run_case, run_cases

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
POLICY_DIRS = sorted(p.parent for p in POLICIES.glob("*/policy.yaml"))
REQUIRED = {
    "sbom-min-components",
    "cyclonedx-banned-licenses",
    "cyclonedx-vulnerabilities",
    "sbom-freshness",
    "spdx-banned-licenses",
    "junit-all-passed",
    "sarif-no-errors",
    "openvex-cves-addressed",
    "attestation-git-and-runner",
}


def _wasm_engine_missing() -> bool:
    from crafter._internal.policies.verifier import VerifierOptions, default_engines

    return "wasm" not in default_engines(VerifierOptions())


# The WASM versions (policies/NAME-wasm, built by policies/wasm/build.sh) need the WASM engine.
_NEEDS_WASM = pytest.mark.skipif(
    _wasm_engine_missing(),
    reason="the WASM engine (crafter/_internal/policies/engines/wasm.py) is not registered yet",
)


def _is_wasm(policy_dir: Path) -> bool:
    return (policy_dir / "policy.wasm").is_file()


def _case_params() -> list[Any]:
    return [
        pytest.param(
            path,
            id=f"{path.parent.parent.name}/{path.stem}",
            marks=[_NEEDS_WASM] if _is_wasm(path.parent.parent) else [],
        )
        for path in find_cases(POLICIES)
    ]


@pytest.mark.parametrize("path", _case_params())
def test_case_passes(path: Path) -> None:
    result = run_case(path)
    assert result.passed, "\n".join(result.differences)


def test_run_cases_covers_the_whole_tree() -> None:
    results = run_cases(POLICIES / "sbom-min-components")
    assert [r.name for r in results] == [
        f"sbom-min-components/{p.stem}" for p in find_cases(POLICIES / "sbom-min-components")
    ]
    assert all(r.passed and r.duration > 0 and r.evaluation is not None for r in results)


def test_the_required_policies_are_shipped() -> None:
    assert {p.name for p in POLICY_DIRS} >= REQUIRED


@pytest.mark.parametrize("policy_dir", POLICY_DIRS, ids=lambda p: p.name)
def test_passing_failing_and_skipped_cases(policy_dir: Path) -> None:
    cases = [Case.from_file(p) for p in find_cases(policy_dir)]
    outcomes = {
        "skipped" if c.expect.skipped else "failing" if c.expect.violations not in (0, ()) else "passing"
        for c in cases
    }
    assert outcomes == {"passing", "failing", "skipped"}


@pytest.mark.parametrize("policy_dir", POLICY_DIRS, ids=lambda p: p.name)
def test_policy_document(policy_dir: Path) -> None:
    doc = yaml.safe_load((policy_dir / "policy.yaml").read_text())
    assert doc["apiVersion"] == "chainloop.dev/v1"
    assert doc["kind"] == "Policy"
    assert doc["metadata"]["name"] == policy_dir.name
    assert doc["metadata"]["description"]
    assert doc["metadata"]["annotations"]["category"]
    for item in doc["spec"].get("inputs", []):
        assert item.get("description"), f"input {item['name']} has no description"
        assert not (item.get("required") and item.get("default")), item["name"]
    assert doc["spec"]["policies"], "no script"
    for script in doc["spec"]["policies"]:
        if _is_wasm(policy_dir):
            assert script["kind"] and script["engine"] == "wasm"
            assert re.fullmatch(r"policy\.wasm@sha256:[0-9a-f]{64}", script["path"]), "pinned by build.sh"
        else:
            assert script["kind"] and script["ref"] == "policy.rego"


@pytest.mark.parametrize("policy_dir", [p for p in POLICY_DIRS if not _is_wasm(p)], ids=lambda p: p.name)
def test_rego_house_rules(policy_dir: Path) -> None:
    """Rego v1; an explicit result; violations built as an array (regopy builds sets in quadratic time); no clock."""
    text = (policy_dir / "policy.rego").read_text()
    source = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert re.search(r"^package main$", source, re.MULTILINE)
    assert re.search(r"^import rego\.v1$", source, re.MULTILINE)
    assert re.search(r"^result := \{$", source, re.MULTILINE)
    for key in ('"skipped": skipped', '"skip_reason": skip_reason', '"violations": violations'):
        assert key in source
    assert re.search(r"^default valid_input := false$", source, re.MULTILINE)
    assert re.search(r"^violations := ", source, re.MULTILINE)
    assert not re.search(r"\bcontains\b\s+\w+\s+if\b", source), "partial set rule: build an array instead"
    assert "time.now_ns" not in source, (
        "time-dependent policies read input.chainloop_metadata.evaluation_time"
    )


def test_readme_lists_every_policy_and_input() -> None:
    readme = (POLICIES / "README.md").read_text()
    for policy_dir in POLICY_DIRS:
        assert f"`{policy_dir.name}`" in readme
        doc = yaml.safe_load((policy_dir / "policy.yaml").read_text())
        for item in doc["spec"].get("inputs", []):
            assert f"`{item['name']}`" in readme, f"{policy_dir.name}: input {item['name']}"
