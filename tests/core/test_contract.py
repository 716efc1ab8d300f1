"""Contracts: both Chainloop forms, both key spellings, and errors that name file, key path and type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crafter._internal.contract import Contract, load_contract
from crafter.errors import ContractError, ExitCode

REFERENCE_VALID = [
    "empty_generic.yaml",
    "empty_generic_v2.json",
    "empty_github.json",
    "empty_github.yaml",
    "jenkins_with_env_vars.yaml",
    "with_env_vars.yaml",
    "with_material_annotations.yaml",
    "with_material_annotations_v2.json",
    "with_missing_policy.yaml",
    "with_policy_embedded.yaml",
    "with_policy_missing_rego.yaml",
    "with_rego.yaml",
]


@pytest.mark.parametrize("name", REFERENCE_VALID)
def test_reference_contracts_load(contracts_dir: Path, name: str) -> None:
    contract, raw = load_contract(contracts_dir / name)
    assert raw == (contracts_dir / name).read_bytes()
    assert contract.version in {"v1", "v2"}


def test_reference_contract_fields(contracts_dir: Path) -> None:
    jenkins, _ = load_contract(contracts_dir / "jenkins_with_env_vars.yaml")
    assert jenkins.runner == "JENKINS_JOB"
    assert jenkins.env_allow_list == ("CUSTOM_VAR_1", "CUSTOM_VAR_2")
    annotated, _ = load_contract(contracts_dir / "with_material_annotations.yaml")
    (m,) = annotated.materials
    assert (m.name, m.kind, m.annotations[0].name, m.annotations[0].value) == (
        "string",
        "STRING",
        "withDefaultVal",
        "val1",
    )
    v2, _ = load_contract(contracts_dir / "with_material_annotations_v2.json")
    assert v2.name == "with-material-annotations-v2"
    assert v2.version == "v2"
    policies, _ = load_contract(contracts_dir / "with_rego.yaml")
    assert policies.policies == {"attestation": [{"ref": "testdata/policies/policy_rego.yaml"}]}


def test_reference_invalid_contract_fails_clearly(contracts_dir: Path) -> None:
    path = contracts_dir / "invalid.xml"
    with pytest.raises(ContractError) as err:
        load_contract(path)
    assert str(path) in err.value.message
    assert "empty" in err.value.message
    assert err.value.exit_code == ExitCode.CONTRACT


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


V2_FULL = """
apiVersion: chainloop.dev/v1
kind: Contract
metadata:
  name: full
  description: every field
  annotations: {owner: me}
  organization: acme
spec:
  annotations:
    - name: version
      value: "1.0.0"
    - name: release_channel
  materials:
    - {type: CONTAINER_IMAGE, name: image, output: true, annotations: [{name: component, value: cp}]}
    - {type: SBOM_CYCLONEDX_JSON, name: sbom-cdx, group: sbom}
    - {type: SBOM_SPDX_JSON, name: sbom-spdx, group: sbom}
    - {type: ARTIFACT, name: big-binary, optional: true, skipUpload: true}
  envAllowList: [CUSTOM_VAR]
  runner: {type: GITHUB_ACTION}
  policies:
    materials:
      - ref: cyclonedx-freshness
        selector: {name: sbom-cdx, matchMode: PREFIX}
        with: {limit: 30, strict: yes}
        requirements: [acme/slsa/level-3@v1]
        gate: true
        disabled: false
    attestation:
      - embedded:
          apiVersion: chainloop.dev/v1
          kind: Policy
          metadata: {name: inline}
          spec: {policies: [{kind: ATTESTATION, embedded: "package main"}]}
  policyGroups:
    - ref: sbom-quality
      with: {bannedLicenses: "GPL, AGPL"}
      skip: [policy-to-skip]
      gate: false
"""


def test_v2_every_field(tmp_path: Path) -> None:
    c, _ = load_contract(write(tmp_path, V2_FULL))
    assert c.name == "full"
    assert [m.name for m in c.materials] == ["image", "sbom-cdx", "sbom-spdx", "big-binary"]
    image, cdx, _, big = c.materials
    assert image.output and image.annotations[0].value == "cp"
    assert cdx.group == "sbom" and not cdx.required
    assert big.skip_upload and big.optional
    assert c.runner == "GITHUB_ACTION"
    assert [(a.name, a.value) for a in c.annotations] == [("version", "1.0.0"), ("release_channel", "")]
    # Unquoted YAML scalars in `with:` keep the text written (YAML 1.2 booleans: `yes` stays "yes").
    assert c.policies["materials"][0]["with"] == {"limit": "30", "strict": "yes"}
    assert c.policy_groups[0]["skip"] == ["policy-to-skip"]


def test_snake_case_spelling_is_accepted_and_equivalent(tmp_path: Path) -> None:
    snake = (
        V2_FULL.replace("skipUpload", "skip_upload")
        .replace("envAllowList", "env_allow_list")
        .replace("matchMode", "match_mode")
        .replace("policyGroups", "policy_groups")
        .replace(
            "apiVersion: chainloop.dev/v1\nkind: Contract", "api_version: chainloop.dev/v1\nkind: Contract"
        )
    )
    camel_c, _ = load_contract(write(tmp_path, V2_FULL, "camel.yaml"))
    snake_c, _ = load_contract(write(tmp_path, snake, "snake.yaml"))
    assert snake_c.document == camel_c.document


def test_v1_form_in_json(tmp_path: Path) -> None:
    doc = {
        "schemaVersion": "v1",
        "materials": [{"type": "JUNIT_XML", "name": "tests"}],
        "env_allow_list": ["A"],
        "annotations": [{"name": "x", "value": "y"}],
        "policy_groups": [{"ref": "g"}],
    }
    c, _ = load_contract(write(tmp_path, json.dumps(doc), "c.json"))
    assert c.version == "v1"
    assert c.env_allow_list == ("A",)
    assert c.materials[0].required


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "schemaVersion: v1\nmaterials:\n  - {name: a, type: STRING, optional: 'no'}\n",
            "materials[0].optional: expected boolean, got string 'no'",
        ),
        (
            "schemaVersion: v1\nmaterials:\n  - {name: a, type: STRING, colour: red}\n",
            "unknown key 'materials[0].colour'",
        ),
        (
            "schemaVersion: v1\nenv_allow_list: FOO\n",
            "env_allow_list: expected array, got string 'FOO'",
        ),
        (
            "schemaVersion: v1\nmaterials:\n  - {name: a, type: NOPE}\n",
            "materials[0].type: 'NOPE' is not one",
        ),
        (
            "schemaVersion: v1\nmaterials:\n  - {name: Bad_Name, type: STRING}\n",
            "materials[0].name: 'Bad_Name'",
        ),
        ("schemaVersion: v1\nmaterials:\n  - {name: a}\n", "materials[0]: missing required key 'type'"),
        (
            "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: x}\nspec: {bogus: 1}\n",
            "unknown key 'spec.bogus'",
        ),
        ("apiVersion: chainloop.dev/v1\nkind: Contract\nspec: {}\n", "missing required key 'metadata'"),
        (
            "schemaVersion: v1\npolicies:\n  materials:\n    - {ref: a, embedded: {apiVersion: x, kind: Policy, metadata: {}, spec: {}}}\n",
            "policies.materials[0]: give exactly one of 'ref' or 'embedded'",
        ),
        (
            "schemaVersion: v1\nmaterials:\n  - {name: a, type: STRING}\n  - {name: a, type: ARTIFACT}\n",
            "material with name=a is duplicated",
        ),
        ("schemaVersion: v1\nenvAllowList: [A]\nenv_allow_list: [B]\n", "the key is given twice"),
        ("- a\n- b\n", "a contract must be a mapping, got array"),
        ("schemaVersion: v1\nmaterials: [\n", "invalid YAML (line"),
        ('{"schemaVersion": "v1",}', "invalid JSON"),
    ],
)
def test_invalid_contracts_name_file_path_and_type(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ContractError) as err:
        load_contract(path)
    assert err.value.message.startswith(f"{path}: ")
    assert expected in err.value.message


def test_unknown_key_hint_lists_allowed_keys(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as err:
        load_contract(write(tmp_path, "schemaVersion: v1\nmaterial: []\n"))
    assert err.value.hint is not None
    assert "materials" in err.value.hint


def test_missing_file_and_cue(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="file not found"):
        load_contract(tmp_path / "nope.yaml")
    cue = write(tmp_path, "x: 1", "c.cue")
    with pytest.raises(ContractError, match="CUE contract format is no longer supported"):
        load_contract(cue)


def test_empty_contract_is_generic() -> None:
    c = Contract.empty()
    assert c.materials == () and c.runner == "RUNNER_TYPE_UNSPECIFIED"


def test_parsing_never_mutates_the_callers_document() -> None:
    doc = {"schemaVersion": "v1", "env_allow_list": ["A"]}
    before = json.dumps(doc)
    Contract.from_document(doc, "x")
    assert json.dumps(doc) == before


def test_name_hint_only_for_dns_names(tmp_path: Path) -> None:
    bad_annotation = (
        "schemaVersion: v1\nmaterials:\n  - {name: a, type: STRING, annotations: [{name: 'bad key'}]}\n"
    )
    with pytest.raises(ContractError) as err:
        load_contract(write(tmp_path, bad_annotation))
    assert "annotations[0].name: 'bad key' does not match" in err.value.message
    assert err.value.hint is None
    with pytest.raises(ContractError) as err:
        load_contract(write(tmp_path, "schemaVersion: v1\nmaterials:\n  - {name: Bad, type: STRING}\n"))
    assert err.value.hint is not None and "lowercase" in err.value.hint
