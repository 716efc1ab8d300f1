"""crafter._internal.policies.testing: reading case files, comparing an evaluation with its expectation, finding cases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crafter._internal.policies.spec import PolicyReference
from crafter._internal.policies.testing import Case, Expectation, find_cases, run_case, run_cases, summary
from crafter._internal.policy_record import EvaluatedViolation, PolicyEvaluation
from crafter.errors import PolicyError

ROOT = Path(__file__).resolve().parents[2]
MIN_COMPONENTS = ROOT / "policies" / "sbom-min-components"


def evaluation(*messages: str, skipped: bool = False, reasons: tuple[str, ...] = ()) -> PolicyEvaluation:
    return PolicyEvaluation(
        name="p",
        type="SBOM_CYCLONEDX_JSON",
        reference=PolicyReference(name="p"),
        violations=tuple(EvaluatedViolation("p", m) for m in messages),
        skipped=skipped,
        skip_reasons=reasons,
    )


def case_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mypolicy" / "tests" / "case.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_a_case_resolves_its_files_against_its_own_directory(tmp_path: Path) -> None:
    path = case_file(
        tmp_path,
        'material: bom.json\nkind: sbom_spdx_json\nargs: {n: "3"}\nevaluation_time: "2026-01-01T00:00:00Z"\n'
        "expect: {violations: [a, b]}\n",
    )
    case = Case.from_file(path)
    assert case.name == "mypolicy/case"
    assert case.policy == (tmp_path / "mypolicy" / "policy.yaml").resolve()
    assert case.material == (path.parent / "bom.json").resolve()
    assert case.statement is None
    assert case.kind == "SBOM_SPDX_JSON"
    assert case.args == {"n": "3"}
    assert case.evaluation_time == "2026-01-01T00:00:00Z"
    assert case.expect == Expectation(skipped=False, violations=("a", "b"))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- a list\n", "expected a mapping"),
        ("material: a.json\n", "expect is required"),
        ("material: a.json\nstatement: s.json\nexpect: {}\n", "exactly one of material or statement"),
        ("expect: {}\n", "exactly one of material or statement"),
        ("material: a.json\nexpect: {}\nwith: {x: y}\n", "invalid test case: unknown key at line 3"),
        ("material: a.json\nargs: {min_tests: 3}\nexpect: {}\n", "args must map names to strings"),
        ("material: a.json\nevaluation_time: 2026-01-01\nexpect: {}\n", "evaluation_time must be a string"),
        ("material: a.json\nstrict: no-thanks\nexpect: {}\n", "strict must be true or false"),
        ("material: a.json\nexpect: {skipped: maybe}\n", "expect.skipped must be true or false"),
        ("material: a.json\nexpect: {violations: true}\n", "expect.violations must be a count"),
        ("material: a.json\nexpect: {violations: -1}\n", "must not be negative"),
        ("material: a.json\nexpect: {violations: [1]}\n", "list messages as strings"),
        ("material: a.json\nexpect: {reason: x}\n", "invalid test case: unknown key at line 2 in expect"),
        ("material: [a]\nexpect: {}\n", "material must be a file name"),
        ("material: a.json\nexpect: {}\n  bad: indent\n", "invalid test case"),
    ],
)
def test_malformed_cases_name_the_file_and_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = case_file(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        Case.from_file(path)
    assert caught.value.message.startswith(f"{path}: ")
    assert problem in caught.value.message


def test_expectation_defaults_mean_passed() -> None:
    assert Expectation().differences(evaluation()) == []
    assert Expectation().differences(evaluation("x")) == ["violations: expected 0, got 1: ['x']"]
    assert Expectation().differences(evaluation(skipped=True, reasons=("not an SBOM",))) == [
        "skipped: expected false, got true (not an SBOM)"
    ]


def test_expectation_messages_are_exact_and_ordered() -> None:
    expect = Expectation(violations=("a", "b"))
    assert expect.differences(evaluation("a", "b")) == []
    assert expect.differences(evaluation("b", "a")) == [
        "violations: expected ['a', 'b'], got ['b', 'a'] (same messages in another order)"
    ]
    assert expect.differences(evaluation("a", "c")) == [
        "violations: expected ['a', 'b'], got ['a', 'c'] (missing ['b'], unexpected ['c'])"
    ]


def test_expectation_skip_reason() -> None:
    expect = Expectation(skipped=True, skip_reason_contains="no licen")
    assert expect.differences(evaluation(skipped=True, reasons=("other", "no license here"))) == []
    assert expect.differences(evaluation(skipped=True, reasons=("other",))) == [
        "skip reason: expected one containing 'no licen', got ['other']"
    ]


def test_find_cases_in_one_policy_or_a_tree(tmp_path: Path) -> None:
    tree = tmp_path / "lib"
    shutil.copytree(MIN_COMPONENTS, tree / "a")
    shutil.copytree(MIN_COMPONENTS, tree / "nested" / "b")
    (tree / "no-tests").mkdir()
    (tree / "no-tests" / "policy.yaml").write_text("{}")
    one = find_cases(tree / "a")
    assert one == sorted(one)
    assert all(p.parent == tree / "a" / "tests" and p.suffix == ".yaml" for p in one)
    everything = find_cases(tree)
    assert everything == one + [tree / "nested" / "b" / "tests" / p.name for p in one]
    assert find_cases(tree / "no-tests") == []
    with pytest.raises(PolicyError, match="not a directory"):
        find_cases(tree / "missing")


def test_run_case_reports_errors_as_failures(tmp_path: Path) -> None:
    target = tmp_path / "sbom-min-components"
    shutil.copytree(MIN_COMPONENTS, target)
    (target / "tests" / "missing-file.yaml").write_text("material: nowhere.json\nexpect: {}\n")
    (target / "tests" / "no-script.yaml").write_text(
        "statement: ../../sbom-min-components/tests/sbom-3.cdx.json\nexpect: {}\n"
    )
    results = {r.name: r for r in run_cases(target)}
    missing = results["sbom-min-components/missing-file"]
    assert not missing.passed
    assert missing.differences[0].startswith("error: ")
    assert "nowhere.json" in missing.differences[0]
    no_script = results["sbom-min-components/no-script"]
    assert no_script.differences == ("no evaluation: the policy has no script for the material's kind",)
    assert summary(list(results.values())) == (len(results) - 2, 2)


def test_run_case_keeps_the_evaluation() -> None:
    result = run_case(MIN_COMPONENTS / "tests" / "fail-spdx.yaml")
    assert result.passed
    assert result.evaluation is not None
    assert result.evaluation.type == "SBOM_SPDX_JSON"
    assert result.to_dict()["name"] == "sbom-min-components/fail-spdx"
