"""WASM policies end to end: policy documents loaded from files, through ``evaluate_policy`` and the verifier."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.policies.verifier import VerifierOptions, evaluate_policy
from crafter.errors import PolicyError

STATEMENT = {"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": "x"}


def write_policy(directory: Path, name: str, script: dict[str, Any]) -> Path:
    doc = {
        "apiVersion": "chainloop.dev/v1",
        "kind": "Policy",
        "metadata": {"name": name, "description": f"{name} policy"},
        "spec": {"inputs": [{"name": "licenses"}], "policies": [{"kind": "ATTESTATION", **script}]},
    }
    path = directory / f"{name}.yaml"
    path.write_text(json.dumps(doc))
    return path


def test_policy_with_a_path_to_its_module(tmp_path: Path, modules: dict[str, bytes]) -> None:
    (tmp_path / "policy.wasm").write_bytes(modules["echo_args"])
    ref = write_policy(tmp_path, "echo-path", {"path": "policy.wasm"})
    evaluation = evaluate_policy(str(ref), statement=STATEMENT, args={"licenses": "MIT,ISC"}, cwd=tmp_path)
    assert evaluation is not None
    record = evaluation.to_dict()
    assert record["engine"] == "wasm"
    assert record["with"] == {"licenses": "MIT,ISC"}
    # the computed argument is split on commas, as for Rego, and reaches the module as its config "args"
    assert [v["message"] for v in record["violations"]] == ['{"licenses":["MIT","ISC"]}']
    assert record["sourceDigests"] == ["sha256:" + hashlib.sha256(modules["echo_args"]).hexdigest()]


def test_policy_with_an_embedded_base64_module(tmp_path: Path, modules: dict[str, bytes]) -> None:
    encoded = base64.encodebytes(modules["passthrough"]).decode()  # wrapped lines, as in a YAML block
    ref = write_policy(tmp_path, "echo-embedded", {"embedded": encoded})
    statement = {**STATEMENT, "violations": ["from the statement"], "Skip_Reason": "case-insensitive"}
    evaluation = evaluate_policy(str(ref), statement=statement, cwd=tmp_path)
    assert evaluation is not None
    assert [v.message for v in evaluation.violations] == ["from the statement"]
    assert evaluation.engine == "wasm"


def test_a_pinned_module_must_have_its_digest(tmp_path: Path, modules: dict[str, bytes]) -> None:
    (tmp_path / "policy.wasm").write_bytes(modules["passthrough"])
    digest = hashlib.sha256(modules["passthrough"]).hexdigest()
    good = write_policy(tmp_path, "pinned", {"path": f"policy.wasm@sha256:{digest}"})
    evaluation = evaluate_policy(str(good), statement={"violations": ["v"]}, cwd=tmp_path)
    assert evaluation is not None and [v.message for v in evaluation.violations] == ["v"]
    (tmp_path / "policy.wasm").write_bytes(modules["counter"])  # the module changed under the pin
    with pytest.raises(PolicyError, match="sha256"):
        evaluate_policy(str(good), statement={"violations": ["v"]}, cwd=tmp_path)


def test_a_larger_memory_cap_through_a_custom_registry(tmp_path: Path, modules: dict[str, bytes]) -> None:
    from crafter._internal.contract import Contract
    from crafter._internal.policies.engines.interface import EngineRegistry
    from crafter._internal.policies.engines.rego import RegoEngine
    from crafter._internal.policies.engines.wasm import WasmEngine
    from crafter._internal.policies.verifier import PolicyVerifier

    engines = EngineRegistry({"rego": RegoEngine, "wasm": lambda: WasmEngine(memory_cap=1 << 30)})
    verifier = PolicyVerifier(
        Contract.empty(), cwd=tmp_path, options=VerifierOptions(memory_bytes=512 << 20), engines=engines
    )
    engine = verifier.engines.get("wasm")
    assert isinstance(engine, WasmEngine)
    assert engine._settings(verifier.options.limits()).max_pages == (512 << 20) // 65536
    verifier.close()


def test_failures_reach_the_caller_as_policy_errors(tmp_path: Path, modules: dict[str, bytes]) -> None:
    (tmp_path / "loop.wasm").write_bytes(modules["loop"])
    ref = write_policy(tmp_path, "endless", {"path": "loop.wasm"})
    with pytest.raises(
        PolicyError, match=r'^policy "endless": Policy execution timeout exceeded \(limit 1 s\)$'
    ):
        evaluate_policy(str(ref), statement=STATEMENT, cwd=tmp_path, options=VerifierOptions(timeout=1.0))


def test_verifier_allowed_hosts_reach_the_module(tmp_path: Path, modules: dict[str, bytes]) -> None:
    (tmp_path / "http.wasm").write_bytes(modules["http"])
    ref = write_policy(tmp_path, "fetcher", {"path": "http.wasm"})
    statement = {"url": "https://blocked.example/x"}
    options = VerifierOptions(timeout=5.0, allowed_hosts=("*.allowed.example",))
    with pytest.raises(PolicyError) as info:
        evaluate_policy(str(ref), statement=statement, cwd=tmp_path, options=options)
    assert "hostname 'blocked.example' is not in the allowed hosts list" in info.value.message
    assert "now: *.allowed.example" in (info.value.hint or "")


def test_plugin_logs_name_the_policy(
    tmp_path: Path, modules: dict[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="crafter.policies.wasm")
    (tmp_path / "logger.wasm").write_bytes(modules["logger"])
    ref = write_policy(tmp_path, "chatty", {"path": "logger.wasm"})
    evaluate_policy(str(ref), statement=STATEMENT, cwd=tmp_path)
    assert "policy chatty: a warning line" in [r.getMessage() for r in caplog.records]


def test_attachment_allowed_hosts_add_to_the_verifiers(tmp_path: Path, modules: dict[str, bytes]) -> None:
    from crafter._internal.policies.spec import Attachment

    options = VerifierOptions(allowed_hosts=("a.example",))
    assert options.limits().allowed_hosts == ("a.example",)
    attachment = Attachment(ref="x", allowed_hosts=("*.b.example", "a.example"), timeout=3.0)
    limits = options.limits(attachment)
    assert limits.allowed_hosts == ("a.example", "*.b.example") and limits.timeout == 3.0


def test_contract_attachment_allowed_hosts_reach_the_engine(
    tmp_path: Path, modules: dict[str, bytes]
) -> None:
    from crafter._internal.contract import Contract
    from crafter._internal.crafting_state import Attestation, CraftingState, WorkflowMetadata
    from crafter._internal.policies.verifier import PolicyVerifier

    (tmp_path / "http.wasm").write_bytes(modules["http"])
    write_policy(tmp_path, "fetcher", {"path": "http.wasm"})
    contract = Contract.from_document(
        {
            "schemaVersion": "v1",
            "policies": {"attestation": [{"ref": "fetcher.yaml", "allowedHosts": ["*.allowed.example"]}]},
        },
        "test",
    )
    state = CraftingState(
        contract=contract.document,
        attestation=Attestation(initialized_at="t", workflow=WorkflowMetadata(name="w", project="p")),
    )
    verifier = PolicyVerifier(contract, cwd=tmp_path, options=VerifierOptions(timeout=5.0))
    try:
        with pytest.raises(PolicyError) as info:
            verifier.verify_statement(state, {"url": "https://blocked.example/x"})
    finally:
        verifier.close()
    assert "now: *.allowed.example" in (info.value.hint or "")


def test_wasm_memory_cap_is_a_verifier_option(tmp_path: Path) -> None:
    from crafter._internal.contract import Contract
    from crafter._internal.policies.engines.wasm import WasmEngine
    from crafter._internal.policies.verifier import PolicyVerifier

    verifier = PolicyVerifier(
        Contract.empty(), cwd=tmp_path, options=VerifierOptions(wasm_memory_bytes=64 << 20)
    )
    try:
        engine = verifier.engines.get("wasm")
        assert isinstance(engine, WasmEngine) and engine.memory_cap == 64 << 20
        assert engine._settings(verifier.options.limits()).max_pages == (64 << 20) // 65536
    finally:
        verifier.close()
