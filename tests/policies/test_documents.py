"""Policy and PolicyGroup documents: the schemas, both key spellings, script sources and engines, errors that
name the file and the key path, and attachments read from contracts."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
import yaml

from crafter._internal.contract import Contract
from crafter._internal.policies.documents import (
    parse_attachment,
    parse_group,
    parse_group_attachment,
    parse_policy,
)
from crafter._internal.policies.engines.interface import WASM_MAGIC
from crafter._internal.resources import load_schema
from crafter.errors import ContractError, PolicyError

ENGINES = ("rego", "wasm")
REGO = b"package main\n\nimport rego.v1\n\nresult := {}\n"
WASM = WASM_MAGIC + b"\x01\x00\x00\x00"


class Scripts:
    """A script resolver standing in for the loader: serves fixed bytes and records what was asked."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files = files or {}
        self.asked: list[str] = []

    def __call__(self, ref: str) -> tuple[bytes, str]:
        self.asked.append(ref)
        if ref not in self.files:
            raise PolicyError(f"{ref}: file not found")
        return self.files[ref], f"/policies/{ref}"


def policy(text: str, scripts: Scripts | None = None, engines: tuple[str, ...] = ENGINES) -> Any:
    return parse_policy(yaml.safe_load(text), "p.yaml", scripts or Scripts(), engines)


HEAD = "apiVersion: chainloop.dev/v1\nkind: Policy\nmetadata: {name: p}\n"


def test_full_policy_document() -> None:
    scripts = Scripts({"sbom.rego": REGO, "att.rego": REGO})
    p = policy(
        """
apiVersion: workflowcontract.chainloop.dev/v1
kind: Policy
metadata:
  name: policy-with-inputs
  description: Policy with inputs
  annotations: {category: SBOM}
  organization: acme
  findingType: LICENSE_VIOLATION
spec:
  inputs:
    - {name: email, required: true, description: who}
    - {name: limit, default: 5}
  policies:
    - {kind: SBOM_CYCLONEDX_JSON, ref: sbom.rego}
    - {kind: ATTESTATION, path: att.rego, attestationPhases: [PUSH]}
    - {embedded: "package main\\nresult := {}\\n"}
""",
        scripts,
    )
    assert p.name == "policy-with-inputs"
    assert p.description == "Policy with inputs"
    assert p.annotations == {"category": "SBOM"}
    assert p.finding_type == "LICENSE_VIOLATION"
    assert [(i.name, i.required, i.default, i.description) for i in p.inputs] == [
        ("email", True, "", "who"),
        ("limit", False, "5", ""),  # a YAML number given as a default keeps its text
    ]
    assert [(s.kind, s.engine, s.origin, s.phases) for s in p.scripts] == [
        ("SBOM_CYCLONEDX_JSON", "rego", "/policies/sbom.rego", ()),
        ("ATTESTATION", "rego", "/policies/att.rego", ("PUSH",)),
        ("", "rego", "embedded", ()),
    ]
    assert p.scripts[0].source == REGO
    assert p.kinds == ("SBOM_CYCLONEDX_JSON", "ATTESTATION")
    assert p.phases_for("ATTESTATION") == ("PUSH",)
    assert p.reference is None  # set by the loader only
    assert scripts.asked == ["sbom.rego", "att.rego"]


def test_snake_case_keys_are_accepted() -> None:
    p = policy(
        HEAD.replace("{name: p}", "{name: p, finding_type: SAST}")
        + "spec:\n  auto_match: {path: x}\n  policies:\n    - {kind: ATTESTATION, embedded: x, attestation_phases: [INIT]}\n"
    )
    assert p.finding_type == "SAST"
    assert p.scripts[0].phases == ("INIT",)


def test_unspecified_kind_means_every_kind() -> None:
    p = policy(HEAD + "spec:\n  policies:\n    - {kind: MATERIAL_TYPE_UNSPECIFIED, embedded: x}\n")
    assert p.scripts[0].kind == ""
    assert p.kinds == ()
    assert p.scripts_for("SARIF") == p.scripts


def test_legacy_single_script_form() -> None:
    scripts = Scripts({"sbom_syft.rego": REGO})
    p = policy(HEAD + "spec:\n  type: SBOM_SPDX_JSON\n  path: sbom_syft.rego\n", scripts)
    assert p.legacy_type == "SBOM_SPDX_JSON"
    assert p.kinds == ("SBOM_SPDX_JSON",)
    # Chainloop runs the legacy script for whatever is evaluated; spec.type only decides where it applies.
    assert [s.kind for s in p.scripts] == [""]
    assert p.scripts_for("ATTESTATION") == p.scripts
    assert p.phases_for("ATTESTATION") == ()


def test_legacy_script_wins_over_policies() -> None:
    scripts = Scripts({"a.rego": REGO})
    p = policy(HEAD + "spec:\n  embedded: legacy\n  policies: [{kind: SARIF, ref: a.rego}]\n", scripts)
    assert [s.source for s in p.scripts] == [b"legacy"]
    assert scripts.asked == []


def test_base64_wasm_embedded_is_decoded_and_detected() -> None:
    encoded = base64.b64encode(WASM).decode()
    block = "\n".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))  # a YAML block scalar's newlines
    doc = yaml.safe_load(HEAD + "spec:\n  policies: [{kind: SARIF, embedded: x}]\n")
    doc["spec"]["policies"][0]["embedded"] = block
    p = parse_policy(doc, "p.yaml", Scripts(), ENGINES)
    assert p.scripts[0].engine == "wasm"
    assert p.scripts[0].source == WASM


def test_wasm_by_reference_raw_and_base64() -> None:
    scripts = Scripts({"raw.wasm": WASM, "b64.txt": base64.b64encode(WASM) + b"\n"})
    p = policy(HEAD + "spec:\n  policies: [{ref: raw.wasm}, {ref: b64.txt}]\n", scripts)
    assert [(s.engine, s.source) for s in p.scripts] == [("wasm", WASM), ("wasm", WASM)]


def test_named_engine() -> None:
    p = policy(HEAD + "spec:\n  policies: [{embedded: 'x := 1', engine: cel}]\n", engines=("rego", "cel"))
    assert p.scripts[0].engine == "cel"


def test_unknown_engine_lists_the_installed_ones() -> None:
    with pytest.raises(PolicyError) as err:
        policy(HEAD + "spec:\n  policies: [{kind: SARIF, embedded: x, engine: nope}]\n")
    assert err.value.message == (
        "p.yaml: spec.policies[0].engine: unknown policy engine (installed: rego, wasm)"
    )


def test_detected_engine_must_be_installed() -> None:
    with pytest.raises(PolicyError, match="needs the 'wasm' policy engine, which is not installed"):
        policy(
            HEAD + "spec:\n  policies: [{ref: raw.wasm}]\n", Scripts({"raw.wasm": WASM}), engines=("rego",)
        )


def test_script_load_errors_name_the_policy_and_key() -> None:
    with pytest.raises(PolicyError) as err:
        policy(HEAD + "spec:\n  policies: [{kind: SARIF, ref: missing.rego}]\n")
    assert err.value.message == "p.yaml: spec.policies[0].ref: missing.rego: file not found"


INVALID = [
    ("kind: Policy\nmetadata: {name: p}\nspec: {embedded: x}\n", "p.yaml: (top level): missing required key 'apiVersion'"),
    ("apiVersion: v2\nkind: Policy\nmetadata: {name: p}\nspec: {embedded: x}\n", "p.yaml: apiVersion: not one of the accepted values"),
    ("apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: p}\nspec: {embedded: x}\n",
     'p.yaml: kind: expected "Policy"'),
    (HEAD.replace("{name: p}", "{name: My_Policy}") + "spec: {embedded: x}\n", "metadata.name: does not match ^[a-z0-9]"),
    (HEAD.replace("{name: p}", "{description: x}") + "spec: {embedded: x}\n", "metadata: missing required key 'name'"),
    (HEAD.replace("{name: p}", "{name: p, findingType: BUG}") + "spec: {embedded: x}\n",
     "metadata.findingType: not one of the accepted values"),
    (HEAD.replace("{name: p}", "{name: p, annotations: {a: [1]}}") + "spec: {embedded: x}\n",
     "metadata.annotations.*: expected string, got array"),
    (HEAD + "spec: {embedded: x, bogus: 1}\n", "p.yaml: unknown key in spec"),
    (HEAD + "spec: {policies: [{embedded: x, attestation_phase: [PUSH]}]}\n",
     "p.yaml: unknown key in spec.policies[0]"),
    (HEAD + "spec: {}\n", "spec: no script: give 'policies' (or the deprecated 'path' or 'embedded')"),
    (HEAD + "spec: {policies: []}\n", "spec: no script"),
    (HEAD + "spec: {path: a, embedded: b}\n", "spec: give exactly one of 'path' or 'embedded'"),
    (HEAD + "spec: {policies: [{kind: SARIF}]}\n", "spec.policies[0]: give exactly one of 'embedded', 'ref' or 'path'"),
    (HEAD + "spec: {policies: [{embedded: x, ref: y}]}\n", "spec.policies[0]: give exactly one of"),
    (HEAD + "spec: {policies: [{kind: ARTIFACT, embedded: x}]}\n", "spec.policies[0].kind: not one of the accepted values"),
    (HEAD + "spec: {policies: [{kind: SBOM, embedded: x}]}\n", "spec.policies[0].kind: not one of the accepted values"),
    (HEAD + "spec: {policies: [{embedded: x, attestationPhases: [ADD]}]}\n",
     "spec.policies[0].attestationPhases[0]: not one of the accepted values"),
    (HEAD + "spec: {policies: [{embedded: ''}]}\n", "spec.policies[0].embedded: must not be empty"),
    (HEAD + "spec: {type: STRING, path: x}\n", "spec.type: not one of the accepted values"),
    (HEAD + "spec: {type: EVIDENCE, path: x}\n", "spec.type: not one of the accepted values"),
    (HEAD + "spec:\n  inputs: [{name: 1bad}]\n  embedded: x\n", "spec.inputs[0].name: does not match ^[a-zA-Z]"),
    (HEAD + "spec:\n  inputs: [{name: a, required: 'yes'}]\n  embedded: x\n", "spec.inputs[0].required: expected boolean"),
    (HEAD + "spec:\n  inputs: [{name: a, required: true, default: x}]\n  embedded: x\n",
     "spec.inputs[0]: an input can not be required and have a default at the same time"),
    (HEAD + "spec:\n  inputs: [{name: a}, {name: a}]\n  embedded: x\n", "spec.inputs[1].name: the input name is declared twice (first in spec.inputs[0])"),
    (HEAD + "spec:\n  attestationPhases: [PUSH]\n  attestation_phases: [INIT]\n  embedded: x\n",
     "spec.attestation_phases: the key is given twice, in camelCase and snake_case"),
    ("- a\n", "p.yaml: a Policy document must be a mapping, got array"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), INVALID)
def test_invalid_policies_name_file_and_key_path(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as err:
        policy(text)
    assert err.value.message.startswith("p.yaml: ")
    assert expected in err.value.message


def test_unknown_key_hint_lists_allowed_keys() -> None:
    with pytest.raises(PolicyError) as err:
        policy(HEAD + "spec: {policies: [{embedded: x, engines: rego}]}\n")
    assert err.value.hint is not None and "engine" in err.value.hint and "attestationPhases" in err.value.hint


def test_parsing_never_mutates_the_callers_document() -> None:
    doc = yaml.safe_load(
        HEAD
        + "spec:\n  inputs: [{name: a, default: 1}]\n  policies: [{embedded: x, attestation_phases: [PUSH]}]\n"
    )
    before = copy.deepcopy(doc)
    parse_policy(doc, "p.yaml", Scripts(), ENGINES)
    assert doc == before


GROUP = """
apiVersion: chainloop.dev/v1
kind: PolicyGroup
metadata:
  name: group-with-inputs
  description: test group
  annotations: {category: test}
spec:
  inputs:
    - {name: sbom_name, default: sbom}
    - {name: user_name, required: true}
  policies:
    materials:
      - name: "{{ inputs.sbom_name }}"
        type: SBOM_CYCLONEDX_JSON
        match_mode: PREFIX
        optional: true
        policies:
          - ref: file://policy_with_inputs.yaml
            with: {email: "{{inputs.user_name}}@example.com", count: 3}
            timeout: 2.5
      - type: SBOM_SPDX_JSON
        policies: [{ref: other.yaml, gate: true}]
    attestation:
      - embedded: {apiVersion: chainloop.dev/v1, kind: Policy, metadata: {name: e}, spec: {embedded: x}}
"""


def test_group_document() -> None:
    g = parse_group(yaml.safe_load(GROUP), "g.yaml")
    assert (g.name, g.description, g.annotations) == ("group-with-inputs", "test group", {"category": "test"})
    assert [(i.name, i.required, i.default) for i in g.inputs] == [
        ("sbom_name", False, "sbom"),
        ("user_name", True, ""),
    ]
    named, nameless = g.materials
    assert (named.kind, named.name, named.match_mode, named.optional) == (
        "SBOM_CYCLONEDX_JSON",
        "{{ inputs.sbom_name }}",
        "PREFIX",
        True,
    )
    (att,) = named.policies
    assert att.ref == "file://policy_with_inputs.yaml"
    assert att.with_ == {"email": "{{inputs.user_name}}@example.com", "count": "3"}
    assert att.timeout == 2.5
    assert (nameless.kind, nameless.name, nameless.match_mode) == ("SBOM_SPDX_JSON", "", "EXACT")
    assert nameless.policies[0].gate is True
    (embedded,) = g.attestation
    assert embedded.embedded is not None and embedded.embedded["metadata"] == {"name": "e"}


GROUP_HEAD = "apiVersion: chainloop.dev/v1\nkind: PolicyGroup\nmetadata: {name: g}\n"
INVALID_GROUPS = [
    (GROUP_HEAD + "spec:\n  policies:\n    materials:\n      - {name: sbom, policies: [{ref: x}]}\n",
     "spec.policies.materials[0]: a named material needs a type"),
    (GROUP_HEAD + "spec:\n  policies:\n    materials:\n      - {name: sbom, type: MATERIAL_TYPE_UNSPECIFIED}\n",
     "spec.policies.materials[0].type: a named material needs a type"),
    (GROUP_HEAD + "spec:\n  policies:\n    materials:\n      - {type: SBOM, policies: [{ref: x}]}\n",
     "spec.policies.materials[0].type: not one of the accepted values"),
    (GROUP_HEAD + "spec:\n  policies:\n    materials:\n      - {type: SARIF, matchMode: SUFFIX}\n",
     "spec.policies.materials[0].matchMode: not one of the accepted values"),
    (GROUP_HEAD + "spec:\n  policies:\n    attestation: [{ref: x, bogus: 1}]\n",
     "g.yaml: unknown key in spec.policies.attestation[0]"),
    (GROUP_HEAD + "spec:\n  policies:\n    attestation: [{ref: x, timeout: 0}]\n",
     "spec.policies.attestation[0].timeout: must be > 0"),
    (GROUP_HEAD + "spec:\n  policies:\n    attestation: [{ref: x, embedded: {}}]\n",
     "spec.policies.attestation[0]: give exactly one of 'ref' or 'embedded'"),
    (GROUP_HEAD + "spec:\n  policies:\n    attestation: [{}]\n",
     "spec.policies.attestation[0]: give exactly one of 'ref' or 'embedded'"),
    (GROUP_HEAD + "spec:\n  policies: {material: []}\n", "g.yaml: unknown key in spec.policies"),
    (GROUP_HEAD + "spec:\n  inputs: [{name: a, required: true, default: b}]\n",
     "spec.inputs[0]: an input can not be required and have a default at the same time"),
    (GROUP_HEAD.replace("PolicyGroup", "Policy") + "spec: {}\n", 'g.yaml: kind: expected "PolicyGroup"'),
    (GROUP_HEAD, "(top level): missing required key 'spec'"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), INVALID_GROUPS)
def test_invalid_groups_name_file_and_key_path(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_group(yaml.safe_load(text), "g.yaml")
    assert err.value.message.startswith("g.yaml: ")
    assert expected in err.value.message


def test_nameless_group_material_needs_no_type() -> None:
    g = parse_group(
        yaml.safe_load(GROUP_HEAD + "spec:\n  policies:\n    materials: [{policies: [{ref: x}]}]\n"), "g"
    )
    assert g.materials[0].kind == "" and g.materials[0].name == ""


def test_parse_attachment_from_a_contract() -> None:
    contract = Contract.from_document(
        yaml.safe_load(
            """
schemaVersion: v1
policies:
  materials:
    - ref: builtin://sbom-min-components
      selector: {name: sbom, match_mode: PREFIX}
      with: {min_components: 3, strict: true}
      requirements: [owasp/top-10]
      gate: false
      timeout: 20
  attestation:
    - embedded: {apiVersion: chainloop.dev/v1, kind: Policy, metadata: {name: e}, spec: {embedded: x}}
      disabled: true
policy_groups:
  - {ref: g.yaml, with: {a: b}, skip: [x], gate: true}
"""
        ),
        "contract.yaml",
    )
    att = parse_attachment(contract.policies["materials"][0])
    assert att.ref == "builtin://sbom-min-components"
    assert (att.selector.name, att.selector.match_mode) == ("sbom", "PREFIX")
    assert att.with_ == {"min_components": "3", "strict": "true"}
    assert (att.requirements, att.gate, att.disabled, att.timeout) == (("owasp/top-10",), False, False, 20.0)
    emb = parse_attachment(contract.policies["attestation"][0])
    assert emb.ref == "" and emb.embedded is not None and emb.disabled
    assert parse_attachment({"ref": "x"}).selector.match_mode == "EXACT"
    assert (
        parse_attachment(
            {"ref": "x", "selector": {"matchMode": "MATCH_MODE_UNSPECIFIED"}}
        ).selector.match_mode
        == "EXACT"
    )
    ga = parse_group_attachment(contract.policy_groups[0])
    assert (ga.ref, ga.with_, ga.skip, ga.gate) == ("g.yaml", {"a": "b"}, ("x",), True)


def test_attachment_errors() -> None:
    with pytest.raises(PolicyError, match="exactly one of ref or embedded"):
        parse_attachment({"ref": "x", "embedded": {}})
    with pytest.raises(PolicyError, match="exactly one of ref or embedded"):
        parse_attachment({})
    with pytest.raises(PolicyError, match="'ref' is required"):
        parse_group_attachment({"with": {}})


@pytest.mark.parametrize("timeout", [0, -1, "10"])
def test_contract_attachment_timeout_must_be_a_positive_number(timeout: object) -> None:
    doc = {"schemaVersion": "v1", "policies": {"materials": [{"ref": "x", "timeout": timeout}]}}
    with pytest.raises(ContractError, match=r"policies\.materials\[0\]\.timeout"):
        Contract.from_document(doc, "c.yaml")


def test_schema_kind_lists_follow_the_contract_material_types() -> None:
    types = load_schema("contract.schema.json")["$defs"]["materialType"]["enum"]
    policy_defs = load_schema("policy.schema.json")["$defs"]
    unspecified = ["MATERIAL_TYPE_UNSPECIFIED"]
    assert policy_defs["scriptKind"]["enum"] == unspecified + [t for t in types if t != "ARTIFACT"]
    legacy = [t for t in types if t not in ("STRING", "ARTIFACT", "EVIDENCE")]
    assert policy_defs["legacyType"]["enum"] == unspecified + legacy
    group_defs = load_schema("policy-group.schema.json")["$defs"]
    assert group_defs["materialType"]["enum"] == unspecified + types


def test_schemas_are_valid_json_schema() -> None:
    import jsonschema

    for name in ("policy.schema.json", "policy-group.schema.json", "contract.schema.json"):
        jsonschema.Draft202012Validator.check_schema(load_schema(name))
        assert json.dumps(load_schema(name))  # plain JSON, publishable as is
