"""A policy engine plugin raising ValueError: a PolicyError naming the plugin, exit code 10."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from crafter._internal.policies.engines.interface import Limits, Script
from crafter._internal.policies.verifier import VerifierOptions, default_engines
from crafter.errors import ExitCode, PolicyError
from tests.conftest import run_cli

LABEL = (
    "policy engine plugin 'fail' (entry point fail = crafter_test_plugins:FailingEngine in "
    "crafter.policy_engines)"
)


def test_an_engine_plugin_raising_value_error_is_a_policy_error(test_plugins: ModuleType) -> None:
    engines = default_engines(VerifierOptions())
    try:
        engine = engines.get("fail")
        assert engine.name == "fail"
        with pytest.raises(PolicyError) as info:
            engine.evaluate(Script(b"{}", "p1", "embedded", "fail"), b"{}", {}, Limits())
    finally:
        engines.close()
    assert info.value.message == (
        f"{LABEL}: evaluating policy 'p1' failed: ValueError: the test engine cannot read p1"
    )
    assert info.value.exit_code == ExitCode.POLICY


def test_through_the_cli(test_plugins: ModuleType, cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = {
        "apiVersion": "chainloop.dev/v1",
        "kind": "Policy",
        "metadata": {"name": "fails"},
        "spec": {"policies": [{"engine": "fail", "embedded": "{}"}]},
    }
    (cli_env / "policy.json").write_text(json.dumps(policy))
    contract = "schemaVersion: v1\npolicies:\n  materials:\n    - ref: ../policy.json\n      selector: {name: file}\n"
    (cli_env / "contract.yaml").write_text(contract)
    (cli_env / "file.txt").write_text("{}\n")
    code, _, err = run_cli(capsys, "init", "--contract", str(cli_env / "contract.yaml"), "--project", "p")
    assert code == 0, err
    code, _, err = run_cli(capsys, "add", "--name", "file", "--value", "../file.txt")
    assert code == ExitCode.POLICY, err
    assert LABEL in err and "ValueError: the test engine cannot read fails" in err
