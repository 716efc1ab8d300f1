"""The PolicyVerifier with a third engine installed from a test package through the entry-point group.

The "keys" engine is a real, tiny policy language (a JSON document of rules over the input's top-level keys),
found the way any plugin is: a distribution on sys.path whose entry_points.txt names it under
``crafter.policy_engines``. It lets these tests exercise the verifier's own rules (applicability, merging,
arguments, groups, phases, gating, ordering, recorded fields) independently of Rego.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crafter import Crafter
from crafter._internal.contract import Contract
from crafter._internal.crafting_state import Attestation, CraftingState, Material, WorkflowMetadata
from crafter._internal.policies.engines.interface import EngineRegistry
from crafter._internal.policies.verifier import PolicyVerifier, VerifierOptions, default_engines
from crafter._internal.policy_record import PolicyEvaluation
from crafter._internal.push_rules import PushResult
from crafter.errors import ExitCode, PolicyError, PolicyGateError
from crafter.signing.keys import generate_key_pair

ENGINE_MODULE = '''
import json
from crafter.plugin import EngineResult, PolicyEngine, Violation


class KeysEngine(PolicyEngine):
    """Rules: {"require": [keys], "skip_unless": key, "ignore_if": key}; args "also" adds required keys."""

    name = "keys"

    def evaluate(self, script, input_json, args, limits):
        rules = json.loads(script.source)
        doc = json.loads(input_json)
        if rules.get("ignore_if") in doc:
            return EngineResult(ignore=True)
        if "skip_unless" in rules and rules["skip_unless"] not in doc:
            return EngineResult(skipped=True, skip_reason="no " + rules["skip_unless"])
        also = args.get("also", [])
        wanted = list(rules.get("require", [])) + ([also] if isinstance(also, str) else list(also))
        return EngineResult(violations=tuple(Violation("missing " + k) for k in wanted if k not in doc))


def make():
    return KeysEngine()
'''


def as_stored(evaluations: Iterable[PolicyEvaluation]) -> tuple[dict[str, Any], ...]:
    """The evaluations in their stored JSON form, which these tests check field by field."""
    return tuple(e.to_dict() for e in evaluations)


@pytest.fixture
def keys_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "crafter_keys_engine.py").write_text(ENGINE_MODULE)
    info = site / "crafter_keys_engine-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: crafter-keys-engine\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[crafter.policy_engines]\nkeys = crafter_keys_engine:make\n")
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop("crafter_keys_engine", None)


def policy_doc(name: str, scripts: list[dict[str, Any]], inputs: list[dict[str, Any]] | None = None) -> str:
    doc = {
        "apiVersion": "chainloop.dev/v1",
        "kind": "Policy",
        "metadata": {"name": name, "description": f"{name} policy", "annotations": {"category": "test"}},
        "spec": {"policies": scripts, **({"inputs": inputs} if inputs else {})},
    }
    return json.dumps(doc)


def keys_script(kind: str, rules: dict[str, Any], **extra: Any) -> dict[str, Any]:
    script = {"engine": "keys", "embedded": json.dumps(rules), **extra}
    return {"kind": kind, **script} if kind else script


@pytest.fixture
def work(tmp_path: Path, keys_plugin: None) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    (d / "needs-components.yaml").write_text(
        policy_doc("needs-components", [keys_script("SBOM_CYCLONEDX_JSON", {"require": ["components"]})])
    )
    (d / "merge.yaml").write_text(
        policy_doc(
            "merge",
            [
                keys_script("SBOM_CYCLONEDX_JSON", {"ignore_if": "bomFormat"}),
                keys_script("SBOM_CYCLONEDX_JSON", {"skip_unless": "nothing-here"}),
                keys_script("SARIF", {"ignore_if": "runs"}),
            ],
        )
    )
    (d / "with-inputs.yaml").write_text(
        policy_doc(
            "with-inputs",
            [keys_script("", {})],
            inputs=[{"name": "also", "default": "metadata"}, {"name": "owner", "required": True}],
        )
    )
    (d / "statement.yaml").write_text(
        policy_doc(
            "statement-keys",
            [keys_script("ATTESTATION", {"require": ["subject", "nope"]}, attestationPhases=["PUSH"])],
        )
    )
    (d / "sbom.json").write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1}))
    return d


def contract(policies: dict[str, Any], groups: list[dict[str, Any]] | None = None) -> Contract:
    doc: dict[str, Any] = {"schemaVersion": "v1", "policies": policies}
    if groups:
        doc["policyGroups"] = groups
    return Contract.from_document(doc, "test")


def state(c: Contract) -> CraftingState:
    return CraftingState(
        contract=c.document,
        attestation=Attestation(
            initialized_at="2026-11-25T10:00:00.000000000Z", workflow=WorkflowMetadata(name="w", project="p")
        ),
    )


def sbom_material(name: str = "sbom") -> Material:
    return Material(name=name, kind="SBOM_CYCLONEDX_JSON", added_at="t", digest="sha256:" + "1" * 64)


def verifier(work: Path, c: Contract, **options: Any) -> PolicyVerifier:
    return PolicyVerifier(
        c, cwd=work, contract_path=str(work / "contract.yaml"), options=VerifierOptions(**options)
    )


def test_third_engine_is_found_through_entry_points(keys_plugin: None) -> None:
    registry = default_engines(VerifierOptions())
    assert "keys" in registry.names() and "rego" in registry.names()
    assert registry.get("keys").name == "keys"
    with pytest.raises(PolicyError) as err:
        EngineRegistry({}).get("nope")
    assert "unknown policy engine 'nope'" in err.value.message


def test_material_applicability_and_recorded_fields(work: Path) -> None:
    c = contract({"materials": [{"ref": "needs-components.yaml"}]})
    v = verifier(work, c)
    try:
        (ev,) = as_stored(v.verify_material(state(c), sbom_material(), str(work / "sbom.json")))
        # Not applied to another kind, even by name.
        other = Material(name="sbom", kind="SARIF", added_at="t", digest="sha256:" + "2" * 64)
        assert v.verify_material(state(c), other, str(work / "sbom.json")) == ()
    finally:
        v.close()
    assert (
        ev["name"] == "needs-components"
        and ev["materialName"] == "sbom"
        and ev["type"] == "SBOM_CYCLONEDX_JSON"
    )
    assert ev["violations"] == [{"subject": "needs-components", "message": "missing components"}]
    assert ev["engine"] == "keys"
    assert ev["evaluatedAt"] == "2026-11-25T10:00:00.000000000Z"
    raw = (work / "needs-components.yaml").read_bytes()
    assert ev["policyReference"]["digest"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert ev["policyReference"]["uri"].endswith("needs-components.yaml")
    assert ev["sourceDigests"] == [
        "sha256:" + hashlib.sha256(json.dumps({"require": ["components"]}).encode()).hexdigest()
    ]
    assert ev["inputDigest"].startswith("sha256:") and ev["description"] == "needs-components policy"


def test_selector_and_kindless_policy(work: Path) -> None:
    c = contract(
        {
            "materials": [
                {"ref": "needs-components.yaml", "selector": {"name": "sbom-", "matchMode": "PREFIX"}},
                {"ref": "with-inputs.yaml", "with": {"owner": "me"}},  # no kind, no selector: never applied
                {"ref": "with-inputs.yaml", "with": {"owner": "me"}, "selector": {"name": "sbom-a"}},
            ]
        }
    )
    v = verifier(work, c)
    try:
        a = as_stored(v.verify_material(state(c), sbom_material("sbom-a"), str(work / "sbom.json")))
        b = as_stored(v.verify_material(state(c), sbom_material("other"), str(work / "sbom.json")))
    finally:
        v.close()
    assert [e["name"] for e in a] == ["needs-components", "with-inputs"]
    assert b == ()


def test_scripts_are_merged_ignored_dropped(work: Path) -> None:
    c = contract({"materials": [{"ref": "merge.yaml"}]})
    v = verifier(work, c)
    try:
        (ev,) = as_stored(v.verify_material(state(c), sbom_material(), str(work / "sbom.json")))
        sarif = Material(name="r", kind="SARIF", added_at="t", digest="sha256:" + "3" * 64)
        (work / "r.json").write_text('{"runs": []}')
        assert v.verify_material(state(c), sarif, str(work / "r.json")) == ()  # only an ignored script
    finally:
        v.close()
    assert ev["skipped"] is True and ev["skipReasons"] == ["no nothing-here"]
    assert len(ev["sourceDigests"]) == 1  # the ignored script is not recorded


def test_arguments_defaults_required_and_runtime_override(work: Path) -> None:
    att = {"ref": "with-inputs.yaml", "selector": {"name": "sbom"}}
    c = contract({"materials": [{**att, "with": {"owner": "me"}}]})
    v = verifier(work, c, runtime_inputs={"also": "bomFormat,components"})
    try:
        (ev,) = as_stored(v.verify_material(state(c), sbom_material(), str(work / "sbom.json")))
    finally:
        v.close()
    assert ev["with"] == {"owner": "me", "also": "bomFormat,components"}
    assert ev["runtimeInputOverrides"] == ["also"]
    assert [x["message"] for x in ev["violations"]] == ["missing components"]
    missing = contract({"materials": [att]})
    v = verifier(work, missing)
    try:
        with pytest.raises(PolicyError, match='missing required input "owner"'):
            v.verify_material(state(missing), sbom_material(), str(work / "sbom.json"))
    finally:
        v.close()
    v = verifier(work, missing, runtime_inputs={"owner": "cli"})  # a runtime input fills a required one
    try:
        (ev,) = as_stored(v.verify_material(state(missing), sbom_material(), str(work / "sbom.json")))
    finally:
        v.close()
    assert ev["with"]["owner"] == "cli" and ev["runtimeInputOverrides"] == ["owner"]


def test_results_keep_attachment_order_in_parallel(work: Path) -> None:
    attachments = [
        {"ref": "with-inputs.yaml", "selector": {"name": "sbom"}, "with": {"owner": "o", "also": f"k{i}"}}
        for i in range(12)
    ]
    c = contract({"materials": attachments})
    v = verifier(work, c, max_workers=4)
    try:
        evs = as_stored(v.verify_material(state(c), sbom_material(), str(work / "sbom.json")))
    finally:
        v.close()
    assert [e["violations"][0]["message"] for e in evs] == [f"missing k{i}" for i in range(12)]


def test_statement_phases(work: Path) -> None:
    c = contract({"attestation": [{"ref": "statement.yaml", "gate": True}]})
    v = verifier(work, c)
    try:
        assert v.verify_statement(state(c), {"subject": []}, phase="INIT") == ()
        (ev,) = as_stored(v.verify_statement(state(c), {"subject": []}, phase="PUSH"))
    finally:
        v.close()
    assert ev["type"] == "ATTESTATION" and "materialName" not in ev and ev["gate"] is True
    assert [x["message"] for x in ev["violations"]] == ["missing nope"]


def test_groups_templated_names_skip_and_gate(work: Path) -> None:
    (work / "group.yaml").write_text(
        textwrap.dedent(
            """
            apiVersion: chainloop.dev/v1
            kind: PolicyGroup
            metadata: {name: quality}
            spec:
              inputs:
                - {name: sbom_name, default: main-sbom}
              policies:
                materials:
                  - name: "{{ inputs.sbom_name }}"
                    type: SBOM_CYCLONEDX_JSON
                    policies:
                      - ref: needs-components.yaml
                      - ref: merge.yaml
                attestation:
                  - ref: statement.yaml
            """
        )
    )
    c = contract({}, groups=[{"ref": "group.yaml", "skip": ["merge"], "gate": True}])
    v = verifier(work, c)
    try:
        assert v.group_materials() == [
            {"name": "main-sbom", "type": "SBOM_CYCLONEDX_JSON", "optional": False}
        ]
        assert v.verify_material(state(c), sbom_material("other"), str(work / "sbom.json")) == ()
        (ev,) = as_stored(v.verify_material(state(c), sbom_material("main-sbom"), str(work / "sbom.json")))
        (st,) = as_stored(v.verify_statement(state(c), {"subject": []}))
    finally:
        v.close()
    assert ev["name"] == "needs-components" and ev["gate"] is True
    assert ev["groupReference"]["name"] == "quality"
    assert st["groupReference"]["name"] == "quality"


def test_broken_reference_is_reported_at_check(work: Path) -> None:
    c = contract({"materials": [{"ref": "missing.yaml"}]})
    v = verifier(work, c)
    try:
        with pytest.raises(PolicyError) as err:
            v.check_references()
    finally:
        v.close()
    assert "missing.yaml" in err.value.message and err.value.exit_code == ExitCode.POLICY


def bundle_payload(bundle: Path) -> bytes:
    return base64.b64decode(json.loads(bundle.read_text())["dsseEnvelope"]["payload"])


def test_crafter_push_raises_on_gates_after_writing_the_bundle(work: Path) -> None:
    (work / "contract.yaml").write_text(
        json.dumps(
            {
                "schemaVersion": "v1",
                "materials": [{"name": "sbom", "type": "SBOM_CYCLONEDX_JSON"}],
                "policies": {
                    "materials": [{"ref": "needs-components.yaml", "gate": True}],
                    "attestation": [{"ref": "statement.yaml"}],
                },
            }
        )
    )
    key, _ = generate_key_pair(work / "k", b"pw")
    c = Crafter(state_dir=work / "st", cwd=work, environ={"PATH": "/usr/bin:/bin"})
    c.init(contract=work / "contract.yaml")
    c.add([str(work / "sbom.json")], name="sbom")
    (stored,) = as_stored(c.status().state.attestation.policy_evaluations)
    assert stored["violations"][0]["message"] == "missing components"
    with pytest.raises(PolicyGateError) as err:
        c.push(key=str(key), password=b"pw", bundle=work / "b.json")
    assert err.value.exit_code == ExitCode.POLICY_GATE
    assert err.value.message == 'the policy "needs-components" is configured as a gate and has violations'
    assert err.value.hint is not None and str(work / "b.json") in err.value.hint
    result = err.value.result
    assert isinstance(result, PushResult)
    # the signed attestation exists (Chainloop's behaviour) and the state is discarded
    assert result.bundle_path == work / "b.json" and result.bundle_path.is_file()
    payload = bundle_payload(result.bundle_path)
    assert result.payload_digest == "sha256:" + hashlib.sha256(payload).hexdigest()
    assert json.loads(payload) == result.statement
    assert c.list() == []
    assert result.gate_failures == ("needs-components",) and not result.bypassed
    assert {e.name for e in result.evaluations} == {"needs-components", "statement-keys"}
    with pytest.raises(PolicyGateError) as again:  # the helper stays, and raises the same error
        result.check_gates()
    assert again.value.message == err.value.message and again.value.result is result
    predicate = result.statement["predicate"]
    assert predicate["policyEvaluationsCount"] == 2
    assert predicate["policyHasGatedViolations"] is True and predicate["policyAttBlocked"] is True
    assert set(predicate["policyEvaluations"]) == {"sbom", "CHAINLOOP.ATTESTATION"}


def test_bypass_and_enforce(work: Path) -> None:
    (work / "contract.yaml").write_text(
        json.dumps({"schemaVersion": "v1", "policies": {"materials": [{"ref": "needs-components.yaml"}]}})
    )
    key, _ = generate_key_pair(work / "k", b"pw")
    c = Crafter(
        state_dir=work / "st",
        cwd=work,
        environ={"PATH": "/usr/bin:/bin"},
        policy_options=VerifierOptions(enforce=True),
    )
    c.init(contract=work / "contract.yaml")
    c.add([str(work / "sbom.json")], name="sbom", kind="SBOM_CYCLONEDX_JSON")
    with pytest.raises(PolicyGateError) as err:  # --enforce made the policy a gate
        c.push(key=str(key), password=b"pw", bundle=work / "enforced.json")
    assert isinstance(err.value.result, PushResult)
    assert err.value.result.gate_failures == ("needs-components",)
    assert (work / "enforced.json").is_file()

    c.init(contract=work / "contract.yaml")
    c.add([str(work / "sbom.json")], name="sbom", kind="SBOM_CYCLONEDX_JSON")
    result = c.push(key=str(key), password=b"pw", bundle=work / "b.json", bypass_policy_check=True)
    result.check_gates()  # bypassed: no error
    assert result.bypassed and result.gate_failures == ("needs-components",)
    assert result.gate_error() is None
    assert result.bundle_path.is_file() and c.list() == []
    p = result.statement["predicate"]
    assert p["policyBlockBypassEnabled"] is True and p["policyCheckBlockingStrategy"] == "ENFORCED"
    assert p["policyHasGatedViolations"] is True and p["policyAttBlocked"] is False
    assert json.loads(bundle_payload(result.bundle_path))["predicate"]["policyBlockBypassEnabled"] is True


@pytest.mark.parametrize(
    ("gate", "sbom"),
    [
        (False, {"bomFormat": "CycloneDX"}),  # a violation, but of an advisory policy
        (True, {"bomFormat": "CycloneDX", "components": []}),  # a gate without violations
    ],
    ids=["advisory-violation", "gate-passes"],
)
def test_push_without_gated_violations_does_not_raise(work: Path, gate: bool, sbom: dict[str, Any]) -> None:
    (work / "contract.yaml").write_text(
        json.dumps(
            {
                "schemaVersion": "v1",
                "policies": {"materials": [{"ref": "needs-components.yaml", "gate": gate}]},
            }
        )
    )
    (work / "sbom.json").write_text(json.dumps({"specVersion": "1.5", "version": 1, **sbom}))
    key, _ = generate_key_pair(work / "k", b"pw")
    c = Crafter(state_dir=work / "st", cwd=work, environ={"PATH": "/usr/bin:/bin"})
    c.init(contract=work / "contract.yaml")
    c.add([str(work / "sbom.json")], name="sbom", kind="SBOM_CYCLONEDX_JSON")
    result = c.push(key=str(key), password=b"pw", bundle=work / "b.json")
    assert result.gate_failures == () and result.gate_error() is None and not result.bypassed
    (ev,) = result.evaluations
    assert ev.gate is gate and len(ev.violations) == (0 if gate else 1)
    assert result.bundle_path.is_file() and c.list() == []
    predicate = result.statement["predicate"]  # false fields are omitted, as in protobuf JSON
    assert not predicate.get("policyHasGatedViolations") and not predicate.get("policyAttBlocked")
    assert predicate["policyEvaluationsCount"] == 1


def test_one_add_of_several_materials_evaluates_each(work: Path) -> None:
    (work / "contract.yaml").write_text(
        json.dumps({"schemaVersion": "v1", "policies": {"materials": [{"ref": "needs-components.yaml"}]}})
    )
    files = []
    for i in range(4):
        doc: dict[str, Any] = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1}
        if i % 2:
            doc["components"] = []
        path = work / f"sbom-{i}.json"
        path.write_text(json.dumps(doc))
        files.append(str(path))
    c = Crafter(state_dir=work / "st", cwd=work, environ={"PATH": "/usr/bin:/bin"})
    c.init(contract=work / "contract.yaml")
    c.add(files, kind="SBOM_CYCLONEDX_JSON")
    stored = as_stored(c.status().state.attestation.policy_evaluations)
    by_material = {e["materialName"]: [v["message"] for v in e.get("violations", [])] for e in stored}
    assert by_material == {
        "sbom-0-json": ["missing components"],
        "sbom-1-json": [],
        "sbom-2-json": ["missing components"],
        "sbom-3-json": [],
    }
