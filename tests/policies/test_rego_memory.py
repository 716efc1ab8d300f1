"""The Rego worker's memory: --rego-memory-mib takes effect, the input is allowed on top of it (and one too big
even for that says what it needs), and the worker keeps no copy of an input once its evaluation is over.

Big-SBOM figures (10,000 to 50,000 components) are in bench/policies.py, not here.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.policies.engines._rego_worker import (
    DROP_INPUT_FROM,
    SET_INPUT_BYTES_PER_VALUE,
    Document,
    Regopy,
    json_values,
)
from crafter._internal.policies.engines.sandbox import input_bytes
from crafter.errors import ExitCode
from tests.conftest import run_cli

# Builds an array of 200,000 numbers: about 130 MiB in regopy, within the default cap, not within 64 MiB.
HUNGRY = """package main

import rego.v1

violations contains msg if {
  count([i | some i in numbers.range(1, 200000)]) < 0
  msg := "never"
}
"""
COUNTING = """package main

import rego.v1

violations contains sprintf("%d components", [count(input.components)]) if true
"""


def policy_file(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    embedded = "".join(f"        {line}\n" for line in source.splitlines())
    path.write_text(
        f"apiVersion: workflowcontract.chainloop.dev/v1\nkind: Policy\nmetadata:\n  name: {name}\n"
        f"spec:\n  policies:\n    - kind: SBOM_CYCLONEDX_JSON\n      embedded: |\n{embedded}"
    )
    return path


def sbom_file(tmp_path: Path, components: int) -> Path:
    path = tmp_path / "sbom.cdx.json"
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": [
            {"type": "library", "name": f"p{i}", "version": "1", "purl": f"pkg:npm/p{i}@1"}
            for i in range(components)
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def evaluate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code, out, err = run_cli(capsys, "policy", "eval", *args)
    assert "Traceback" not in out + err
    return code, out, err


def test_rego_memory_mib_caps_what_a_policy_builds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy, sbom = policy_file(tmp_path, "hungry", HUNGRY), sbom_file(tmp_path, 1)
    code, out, _ = evaluate(capsys, "--policy", str(policy), "--material", str(sbom))
    assert code == 0, "the default cap (1 GiB) leaves room for it"
    assert "passed" in out
    code, _, err = evaluate(
        capsys, "--policy", str(policy), "--material", str(sbom), "--rego-memory-mib", "64"
    )
    assert code == ExitCode.POLICY
    assert 'Error: policy "hungry" ran out of memory (limit 64 MiB)' in err
    assert "--rego-memory-mib" in err  # the hint names the option


def test_the_input_is_allowed_besides_the_cap(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--rego-memory-mib bounds what a policy builds: regopy's copy of the input (a large SBOM) comes on top,
    up to INPUT_ALLOWANCE_MAX; beyond that, the error says what the input needs."""
    policy, sbom = policy_file(tmp_path, "counting", COUNTING), sbom_file(tmp_path, 5000)
    code, out, err = evaluate(
        capsys, "--policy", str(policy), "--material", str(sbom), "--rego-memory-mib", "16"
    )
    assert code == 0, err
    assert "5000 components" in out
    monkeypatch.setattr("crafter._internal.policies.engines.sandbox.INPUT_ALLOWANCE_MAX", 1 << 20)
    code, _, err = evaluate(
        capsys, "--policy", str(policy), "--material", str(sbom), "--rego-memory-mib", "16"
    )
    assert code == ExitCode.POLICY
    assert "ran out of memory (limit 16 MiB besides 1 MiB for its input): its" in err
    assert "input alone needs about" in err
    assert "--rego-memory-mib 256" in err


def test_the_estimate_counts_json_values() -> None:
    data = json.dumps({"a": [1, 2, {"b": "c,d"}]}).encode()
    # 3 commas (one inside a string: an estimate, on the safe side), 2 colons, 2 braces, 1 bracket, and 1
    assert json_values(data) == 9
    assert input_bytes(data) == 9 * 800


def test_a_large_input_takes_the_lean_path() -> None:
    data = json.dumps({"components": [{"name": str(i)} for i in range(1000)]}).encode()
    values = json_values(data)
    assert Document.parse(data, None, values * SET_INPUT_BYTES_PER_VALUE).exact
    assert not Document.parse(data, None, values * SET_INPUT_BYTES_PER_VALUE - 1).exact
    assert not Document.parse(b'{"s": "a\\"b"}', None, 1 << 30).exact  # escapes: JSON text, as before


@pytest.fixture(scope="module")
def regopy() -> Any:
    with tempfile.TemporaryFile() as capture:
        yield Regopy(capture)


def test_both_input_paths_give_the_same_answer(regopy: Any) -> None:
    doc = {"components": [{"name": f"p{i}", "n": i, "f": i / 2, "ok": i % 2 == 0} for i in range(50)]}
    source = "package t\n\nx := [c.name | some c in input.components; c.ok; c.f > 3]\n"
    answers = {
        exact: regopy.query("t.rego", source, "data.t.x", Document(json.loads(json.dumps(doc)), exact), [])
        for exact in (True, False)
    }
    assert answers[True] == answers[False]
    assert json.loads(answers[True][1])["expressions"][0][:2] == ["p8", "p10"]


def test_a_cached_interpreter_keeps_no_input(regopy: Any) -> None:
    # Each cached module would otherwise hold its last input: for a large SBOM, hundreds of MB per policy.
    source = "package keep\n\nx := count(input.components)\n"
    data = json.dumps({"components": list(range(100_000))}).encode()
    assert len(data) >= DROP_INPUT_FROM  # smaller inputs are kept: dropping them costs more than they hold
    document = Document.parse(data, None, 1 << 30)
    assert regopy.query("keep.rego", source, "data.keep.x", document, []) == (
        True,
        b'{"expressions":[100000]}',
    )
    (interpreter,) = [i for (module, _), i in regopy.cache.items() if module == "keep.rego"]
    assert str(interpreter.query("input.components")) == "undefined"
