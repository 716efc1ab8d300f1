"""Hostile YAML and JSON documents: alias bombs, deep nesting and duplicate keys in contracts, policies, policy
groups, policy test cases and Helm chart metadata are refused quickly, in one line naming the file and the
problem, with the exit code of the document's family, before anything is expanded. Every input is generated
here; the shipped documents still load."""

from __future__ import annotations

import io
import resource
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from crafter._internal.contract import load_contract
from crafter._internal.document_reader import DEFAULT_LIMITS, load_json, load_yaml, parse_document
from crafter._internal.materials.helm import inspect_chart
from crafter._internal.policies.loader import PolicyLoader
from crafter._internal.policies.testing import Case
from crafter.errors import ContractError, ExitCode, MaterialError, PolicyError
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
SBOM = ROOT / "policies" / "sbom-min-components" / "tests" / "sbom-3.cdx.json"
T = TypeVar("T")

MAX_SECONDS = 10.0
MAX_RSS_GROWTH = 200 << 20  # bytes

CONTRACT_HEAD = "schemaVersion: v1\nmaterials:\n  - name: sbom\n    type: SBOM_CYCLONEDX_JSON\n"
POLICY_HEAD = (
    "apiVersion: chainloop.dev/v1\nkind: Policy\nmetadata:\n  name: hostile\nspec:\n  policies:\n"
    "    - kind: SBOM_CYCLONEDX_JSON\n      embedded: |\n        package main\n        result := {}\n"
)
GROUP_HEAD = "apiVersion: chainloop.dev/v1\nkind: PolicyGroup\nmetadata:\n  name: hostile\nspec: {}\n"


# -- generated inputs ------------------------------------------------------------------------------------------


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Billion laughs: ``width ** levels`` scalars once expanded, from well under 1 KB of YAML."""
    lines = [f"lol0: &lol0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def many_aliases(count: int) -> str:
    return f"word: &w lol\nwords: [{', '.join(['*w'] * count)}]\n"


def deep_yaml(levels: int) -> str:
    return "deep: " + "[" * levels + "]" * levels + "\n"


def deep_block_yaml(levels: int) -> str:
    return "deep:\n" + "".join("  " * i + "- \n" for i in range(levels))


def deep_json(levels: int) -> str:
    return '{"schemaVersion": "v1", "deep": ' + "[" * levels + "]" * levels + "}"


# -- helpers ---------------------------------------------------------------------------------------------------


def _max_rss() -> int:
    """The peak resident set of this process, in bytes (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def bounded(action: Callable[[], T]) -> T:
    """Run ``action``; fail when it takes MAX_SECONDS or grows the peak memory by MAX_RSS_GROWTH."""
    before, start = _max_rss(), time.monotonic()
    result = action()
    elapsed, grown = time.monotonic() - start, _max_rss() - before
    assert elapsed < MAX_SECONDS, f"took {elapsed:.1f} s"
    assert grown < MAX_RSS_GROWTH, f"peak memory grew by {grown >> 20} MiB"
    return result


def one_error_line(err: str) -> str:
    """The ``Error:`` line of a refusal; anything after it is a hint."""
    first, *rest = err.splitlines()
    assert first.startswith("Error: "), err
    assert all(line.startswith("Hint: ") for line in rest), err
    return first


def no_attestation(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = cli_env / "state"
    assert not state.exists() or not any(state.rglob("*")), sorted(state.rglob("*"))
    assert run_cli(capsys, "status")[0] == ExitCode.STATE


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def init(capsys: pytest.CaptureFixture[str], contract: Path) -> tuple[int, str]:
    code, out, err = bounded(lambda: run_cli(capsys, "init", "--contract", str(contract)))
    if code:
        assert out == ""
        return code, one_error_line(err)
    return code, out


def policy_eval(capsys: pytest.CaptureFixture[str], ref: str) -> tuple[int, str]:
    code, out, err = bounded(
        lambda: run_cli(capsys, "policy", "eval", "--policy", ref, "--material", str(SBOM))
    )
    assert "Traceback" not in out
    return code, one_error_line(err) if code else out


def loader(tmp_path: Path) -> PolicyLoader:
    return PolicyLoader(cwd=tmp_path, builtin_dir=tmp_path / "no-builtins", cache_dir=None)


# -- contracts through the CLI ---------------------------------------------------------------------------------


def test_alias_bomb_contract_is_refused_before_expansion(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contract = write(cli_env / "bomb.yaml", CONTRACT_HEAD + alias_bomb())
    assert contract.stat().st_size < 1024
    code, line = init(capsys, contract)
    assert code == ExitCode.CONTRACT
    assert "bomb.yaml: too many YAML nodes once aliases are expanded" in line
    assert f"(more than {DEFAULT_LIMITS.max_nodes}): refused before expansion" in line
    no_attestation(cli_env, capsys)


def test_too_many_aliases_in_a_contract(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    limit = DEFAULT_LIMITS.max_aliases
    ok = write(cli_env / "ok.yaml", CONTRACT_HEAD + "annotations:\n  - &note {name: a, value: b}\n")
    assert load_contract(ok)[0].name == "ok"  # anchors as such are fine
    contract = write(cli_env / "aliases.yaml", CONTRACT_HEAD + many_aliases(limit + 1))
    code, line = init(capsys, contract)
    assert code == ExitCode.CONTRACT
    assert line.endswith(f"aliases.yaml: too many YAML aliases (more than {limit}): refused before expansion")
    no_attestation(cli_env, capsys)


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("flow.yaml", CONTRACT_HEAD + deep_yaml(100_000), "YAML nesting deeper than 100 levels"),
        ("block.yaml", CONTRACT_HEAD + deep_block_yaml(2_000), "YAML nesting deeper than 100 levels (line "),
        ("shallow.yaml", CONTRACT_HEAD + deep_yaml(150), "YAML nesting deeper than 100 levels"),
        ("deep.json", deep_json(100_000), "JSON nesting deeper than 100 levels"),
        ("shallow.json", deep_json(150), "JSON nesting deeper than 100 levels"),
    ],
)
def test_deep_nesting_in_a_contract(
    cli_env: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, problem: str
) -> None:
    code, line = init(capsys, write(cli_env / name, text))
    assert code == ExitCode.CONTRACT
    assert f"{name}: {problem}" in line
    no_attestation(cli_env, capsys)


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        (
            "dup.yaml",
            CONTRACT_HEAD + "  - {name: a, type: STRING, name: b}\n",
            "duplicate key 'name' (line 5)",
        ),
        (
            "dup-top.yaml",
            CONTRACT_HEAD + "schemaVersion: v1\n",
            "duplicate key 'schemaVersion' (line 5; first on line 1)",
        ),
        (
            "dup.json",
            '{"schemaVersion": "v1", "materials": [{"name": "a", "type": "STRING", "name": "b"}]}',
            "duplicate key 'name' in materials[0]",
        ),
        ("dup-top.json", '{"schemaVersion": "v1", "schemaVersion": "v1"}', "duplicate key 'schemaVersion'"),
    ],
)
def test_duplicate_keys_in_a_contract(
    cli_env: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, problem: str
) -> None:
    code, line = init(capsys, write(cli_env / name, text))
    assert code == ExitCode.CONTRACT
    assert f"{name}: {problem}" in line
    no_attestation(cli_env, capsys)


def test_anchors_aliases_and_merge_keys_within_bounds_still_work(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contract = write(
        cli_env / "anchors.yaml",
        "schemaVersion: v1\nmaterials:\n"
        "  - &base {name: sbom, type: SBOM_CYCLONEDX_JSON, optional: true}\n"
        "  - {<<: *base, name: other}\n"  # a merge key overriding a merged key is no duplicate
        "annotations:\n  - {name: release, value: &v stable}\n  - {name: channel, value: *v}\n",
    )
    code, err = init(capsys, contract)
    assert code == 0, err
    code, out, _ = run_cli(capsys, "status", "-o", "json")
    assert code == 0 and '"other"' in out and '"sbom"' in out


# -- policies and groups ---------------------------------------------------------------------------------------


def test_alias_bomb_policy_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write(tmp_path / "bomb.yaml", POLICY_HEAD + alias_bomb())
    code, line = policy_eval(capsys, str(policy))
    assert code == ExitCode.POLICY
    assert "bomb.yaml: too many YAML nodes once aliases are expanded" in line
    assert "refused before expansion" in line


def test_alias_bomb_remote_policy(capsys: pytest.CaptureFixture[str], serve: Callable[[bytes], str]) -> None:
    url = serve((POLICY_HEAD + alias_bomb()).encode())
    code, line = policy_eval(capsys, url)
    assert code == ExitCode.POLICY
    assert "policy.yaml: too many YAML nodes once aliases are expanded" in line


def test_a_remote_policy_within_bounds_still_evaluates(
    capsys: pytest.CaptureFixture[str], serve: Callable[[bytes], str]
) -> None:
    code, out = policy_eval(capsys, serve(POLICY_HEAD.encode()))
    assert code == 0 and "passed" in out, out


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("aliases.yaml", POLICY_HEAD + many_aliases(101), "too many YAML aliases (more than 100)"),
        ("deep.yaml", POLICY_HEAD + deep_yaml(100_000), "YAML nesting deeper than 100 levels"),
        ("deep.json", deep_json(100_000), "JSON nesting deeper than 100 levels"),
        ("dup.yaml", POLICY_HEAD + "kind: Policy\n", "duplicate key 'kind' (line 11; first on line 2)"),
        (
            "dup-script.yaml",
            POLICY_HEAD.replace("      embedded:", "      kind: ATTESTATION\n      embedded:"),
            "duplicate key 'kind' (line 8; first on line 7)",
        ),
        (
            "dup.json",
            '{"apiVersion": "chainloop.dev/v1", "kind": "Policy", "metadata": {"name": "a", "name": "b"}}',
            "duplicate key 'name' in metadata",
        ),
    ],
)
def test_hostile_policy_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, problem: str
) -> None:
    code, line = policy_eval(capsys, str(write(tmp_path / name, text)))
    assert code == ExitCode.POLICY
    assert f"{name}: {problem}" in line


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        (
            "dup.yaml",
            GROUP_HEAD + "metadata: {name: again}\n",
            "duplicate key 'metadata' (line 6; first on line 3)",
        ),
        (
            "dup.json",
            '{"apiVersion": "chainloop.dev/v1", "kind": "PolicyGroup", "kind": "PolicyGroup"}',
            "duplicate key 'kind' in the top-level object",
        ),
        ("bomb.yaml", GROUP_HEAD + alias_bomb(), "too many YAML nodes once aliases are expanded"),
        ("deep.yaml", GROUP_HEAD + deep_block_yaml(500), "YAML nesting deeper than 100 levels"),
    ],
)
def test_hostile_policy_groups(tmp_path: Path, name: str, text: str, problem: str) -> None:
    group = write(tmp_path / name, text)
    with pytest.raises(PolicyError) as caught:
        bounded(lambda: loader(tmp_path).load_group(str(group)))
    assert caught.value.exit_code == ExitCode.POLICY
    assert "\n" not in caught.value.message
    assert f"{name}: {problem}" in caught.value.message


def test_a_contract_naming_a_hostile_group_fails_init_with_the_policy_code(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(cli_env / "group.yaml", GROUP_HEAD + "kind: PolicyGroup\n")
    contract = write(cli_env / "c.yaml", "schemaVersion: v1\npolicyGroups:\n  - ref: group.yaml\n")
    code, line = init(capsys, contract)
    assert code == ExitCode.POLICY
    assert "group.yaml: duplicate key 'kind' (line 6; first on line 2)" in line
    no_attestation(cli_env, capsys)


# -- other documents: policy test cases, Helm chart metadata, the library API ----------------------------------


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        (
            "dup.yaml",
            "material: a.json\nexpect: {violations: 0}\nmaterial: b.json\n",
            "duplicate key 'material' (line 3; first on line 1)",
        ),
        ("bomb.yaml", "material: a.json\n" + alias_bomb(), "too many YAML nodes once aliases are expanded"),
        ("deep.yaml", "material: a.json\nx: " + "[" * 100_000, "YAML nesting deeper than 100 levels"),
    ],
)
def test_hostile_policy_test_cases(tmp_path: Path, name: str, text: str, problem: str) -> None:
    case = write(tmp_path / name, text)
    with pytest.raises(PolicyError) as caught:
        bounded(lambda: Case.from_file(case))
    assert caught.value.exit_code == ExitCode.POLICY
    assert f"{name}: invalid test case: {problem}" in caught.value.message


def test_policy_test_reports_a_hostile_case_as_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p"
    (policy / "tests").mkdir(parents=True)
    write(policy / "policy.yaml", POLICY_HEAD)
    write(policy / "tests" / "bomb.yaml", "material: a.json\n" + alias_bomb())
    code, out, _ = bounded(lambda: run_cli(capsys, "policy", "test", str(tmp_path)))
    assert code == 1
    assert "bomb.yaml: invalid test case: too many YAML nodes once aliases are expanded" in out


def test_case_files_read_yaml_12_booleans(tmp_path: Path) -> None:
    # As in contracts: an argument written ``yes`` stays the text "yes" (YAML 1.1 made it True, refused).
    case = Case.from_file(write(tmp_path / "ok.yaml", "material: a.json\nargs: {strict: yes}\nexpect: {}\n"))
    assert case.args == {"strict": "yes"}


def _chart(chart_yaml: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in (("demo/Chart.yaml", chart_yaml), ("demo/values.yaml", b"replicas: 2\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize(
    ("chart_yaml", "problem"),
    [
        (
            "apiVersion: v2\nname: demo\n" + alias_bomb(levels=12),
            "too many YAML nodes once aliases are expanded",
        ),
        ("apiVersion: v2\nname: demo\nversion: 1.0.0\nname: other\n", "duplicate key 'name' (line 4"),
        ("apiVersion: v2\nname: demo\ndeep: " + "[" * 100_000, "YAML nesting deeper than 100 levels"),
    ],
)
def test_hostile_chart_yaml(chart_yaml: str, problem: str) -> None:
    with pytest.raises(MaterialError) as caught:
        bounded(lambda: inspect_chart(_chart(chart_yaml.encode())))
    assert caught.value.exit_code == ExitCode.MATERIAL
    assert caught.value.message.startswith(f"invalid Chart.yaml file: {problem}")


def test_library_refusals_name_the_source_with_the_callers_error(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match=r"bomb\.yaml: too many YAML nodes"):
        bounded(lambda: load_contract(write(tmp_path / "bomb.yaml", CONTRACT_HEAD + alias_bomb())))
    with pytest.raises(PolicyError, match=r"^x\.yaml: cyclic YAML alias \*a: .* \(line 1\)$"):
        parse_document("a: &a [*a]\n", "x.yaml", PolicyError)
    with pytest.raises(PolicyError, match=r"^x\.json: duplicate key 'b' in a\[1\]$"):
        load_json('{"a": [{}, {"b": 1, "b": 2}]}', "x.json", PolicyError)
    with pytest.raises(PolicyError, match=r"^x\.yaml: too much YAML text once aliases are expanded"):
        load_yaml(f"a: &a {'x' * (1 << 20)}\nb: [{', '.join(['*a'] * 40)}]\n", "x.yaml", PolicyError)
    # An alias into a deep anchor counts the anchor's depth where it is used.
    deep_alias = "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n"
    with pytest.raises(PolicyError, match=r"YAML nesting deeper than 100 levels \(line 2\)"):
        load_yaml(deep_alias, "x.yaml", PolicyError)
    # The bounds themselves are allowed: 100 levels (the top-level mapping and 99 sequences), 100 aliases.
    assert load_yaml("a: " + "[" * 99 + "]" * 99, "ok.yaml") is not None
    assert parse_document("[" * 100 + "]" * 100, "ok.json") is not None
    assert len(load_yaml(many_aliases(100), "ok.yaml")["words"]) == 100


# -- every shipped document still loads ------------------------------------------------------------------------


def _shipped(pattern: str, *roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob(pattern) if "node_modules" not in p.parts)


@pytest.mark.parametrize("path", _shipped("contract.yaml", ROOT / "examples"), ids=lambda p: p.parent.name)
def test_shipped_contracts_load(path: Path) -> None:
    contract, _ = load_contract(path)
    assert contract.materials


@pytest.mark.parametrize("path", _shipped("policy.yaml", ROOT / "policies"), ids=lambda p: p.parent.name)
def test_shipped_policies_load(path: Path) -> None:
    policy = loader(path.parent).load_policy(str(path))
    assert policy.scripts


@pytest.mark.parametrize(
    "path", _shipped("*.yaml", ROOT / "policies"), ids=lambda p: str(p.relative_to(ROOT / "policies"))
)
def test_shipped_yaml_documents_parse_within_bounds(path: Path) -> None:
    assert load_yaml(path.read_bytes(), str(path)) is not None
