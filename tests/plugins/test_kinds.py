"""Material kinds from plugins (entry points ``crafter.material_kinds``): a kind of the test distribution
recorded, checked by a policy that reads the input the kind gives, pushed and verified; a plugin kind's
ValueError as exit code 6 naming it; built-in kinds neither replaced nor wrapped."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from crafter._internal.contract import Contract
from crafter._internal.crafting_state import Material
from crafter._internal.materials import registry as kind_registry
from crafter._internal.materials.plugin import PluginKind
from crafter._internal.materials.registry import default_registry
from crafter._internal.materials.sbom import SPDXKind
from crafter._internal.policies import inputs
from crafter._internal.policies.inputs import material_input
from crafter.errors import ContractError, ExitCode, MaterialError
from tests.conftest import run_cli
from tools import schemas

CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: release}
spec:
  materials:
    - {name: manifest, type: TEST_MANIFEST}
  policies:
    materials:
      - ref: ./manifest-policy.yaml
        selector: {name: manifest}
"""
POLICY = """\
apiVersion: chainloop.dev/v1
kind: Policy
metadata: {name: manifest-size}
spec:
  policies:
    - ref: manifest-size.rego
"""
# Reads what TEST_MANIFEST gives policies ({"name", "item_count"}), which is not the file's JSON.
REGO = """\
package main

import rego.v1

result := {"skipped": false, "violations": violations, "skip_reason": ""}

violations contains msg if {
    input.item_count < 3
    msg := sprintf("manifest %s lists %d items", [input.name, input.item_count])
}
"""


@pytest.fixture
def kinds(test_plugins: ModuleType) -> Iterator[ModuleType]:
    import crafter_test_kinds

    yield crafter_test_kinds
    sys.modules.pop("crafter_test_kinds", None)


def _payload(bundle: Path) -> dict[str, Any]:
    envelope = json.loads(bundle.read_text())["dsseEnvelope"]
    doc: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return doc


def test_a_plugin_kind_end_to_end(
    kinds: ModuleType, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "contract.yaml").write_text(CONTRACT)
    (cli_env / "manifest-policy.yaml").write_text(POLICY)
    (cli_env / "manifest-size.rego").write_text(REGO)
    manifest = cli_env / "manifest.json"
    manifest.write_text(json.dumps({"manifest": "shop", "items": ["a", "b"]}))
    code, _, err = run_cli(capsys, "init", "--contract", str(cli_env / "contract.yaml"), "--project", "p")
    assert code == 0, err
    code, out, err = run_cli(capsys, "add", "--name", "manifest", "--value", str(manifest))
    assert code == 0, err
    assert "policy manifest-size on manifest: 1 violation(s)" in out
    assert "manifest shop lists 2 items" in out
    bundle = cli_env / "b.sigstore.json"
    code, _, err = run_cli(capsys, "push", "--key", str(cli_env / "k.key"), "--bundle", str(bundle))
    assert code == 0, err
    predicate = _payload(bundle)["predicate"]
    (recorded,) = predicate["materials"]
    assert recorded["annotations"]["chainloop.material.type"] == "TEST_MANIFEST"
    assert recorded["annotations"]["test.manifest.name"] == "shop"
    (evaluation,) = predicate["policyEvaluations"]["manifest"]
    assert [v["message"] for v in evaluation["violations"]] == ["manifest shop lists 2 items"]
    args = ["verify", str(bundle), "--key", str(cli_env / "k.pub"), "--material", str(manifest)]
    code, out, err = run_cli(capsys, *args, "--contract", str(cli_env / "contract.yaml"), "--replay")
    assert code == 0, err + out
    assert "valid (public key)" in out and "manifest-size" in out


def test_the_policy_input_is_the_kinds_own(kinds: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"manifest": "shop", "items": [1, 2, 3], "secret": "x"}))
    material = Material(name="m", kind="TEST_MANIFEST", added_at="t", digest="sha256:" + "a" * 64)
    doc = json.loads(material_input(material, str(path)))
    assert {k: v for k, v in doc.items() if k != "chainloop_metadata"} == {"name": "shop", "item_count": 3}


def test_a_failing_plugin_kind_is_exit_code_6_naming_it(
    kinds: ModuleType, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "f.txt").write_text("data\n")
    assert run_cli(capsys, "init", "--project", "p")[0] == 0
    code, _, err = run_cli(capsys, "add", "--kind", "TEST_BROKEN", "--value", str(cli_env / "f.txt"))
    assert code == ExitCode.MATERIAL == 6
    assert "material kind plugin 'TEST_BROKEN'" in err
    assert "entry point TEST_BROKEN = crafter_test_kinds:BrokenKind in crafter.material_kinds" in err
    assert "ValueError: the test kind cannot parse" in err


def test_a_plugin_kinds_failing_policy_input_is_a_material_error(
    kinds: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object, path: str, name: str) -> object:
        raise ValueError("cannot project")

    monkeypatch.setattr(kinds.ManifestKind, "policy_input", broken)
    path = tmp_path / "m.json"
    path.write_text("{}")
    material = Material(name="m", kind="TEST_MANIFEST", added_at="t", digest="sha256:" + "a" * 64)
    with pytest.raises(
        MaterialError, match=r"material kind plugin 'TEST_MANIFEST' \(entry point .*ValueError"
    ):
        material_input(material, str(path))


def test_built_in_kinds_are_not_replaced_nor_wrapped(kinds: ModuleType) -> None:
    registry = default_registry()
    assert type(registry.get("SBOM_SPDX_JSON")) is SPDXKind  # the plugin's SBOM_SPDX_JSON is ignored
    assert isinstance(registry.get("TEST_MANIFEST"), PluginKind)
    assert "TEST_MANIFEST" in registry.plugin_names() and "SBOM_SPDX_JSON" not in registry.plugin_names()
    with pytest.raises(MaterialError, match='"NOPE" kind not found') as info:
        registry.get("NOPE")
    assert str(info.value.hint).endswith("; installed plugin kinds: TEST_BROKEN, TEST_MANIFEST")


def test_a_contract_naming_a_plugin_kind_needs_the_plugin(
    test_plugins: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = {"schemaVersion": "v1", "materials": [{"name": "m", "type": "TEST_MANIFEST"}]}
    assert Contract.from_document(doc, "c.yaml").materials[0].kind == "TEST_MANIFEST"
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "tests/plugins/site" not in p])
    with pytest.raises(ContractError, match="'TEST_MANIFEST' is not one of the accepted values"):
        Contract.from_document(doc, "c.yaml")


def test_the_published_kind_enums_are_the_registrys() -> None:
    stale = schemas.stale()
    assert stale == [], (
        f"the material kind enums of {stale} differ from the registry: {schemas.HOW_TO_UPDATE}"
    )
    contract = json.loads((schemas.SCHEMAS / "contract.schema.json").read_text())
    assert contract["$defs"]["materialType"]["enum"] == list(kind_registry.builtin_kinds())
    assert set(kind_registry.BUILTIN) <= set(kind_registry.builtin_kinds())


def test_a_kind_missing_from_the_schemas_fails_the_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(kind_registry, "builtin_kinds", lambda: (*kind_registry.CHAINLOOP_KINDS, "NEW_KIND"))
    assert schemas.stale() == ["contract.schema.json", "policy-group.schema.json", "policy.schema.json"]
    assert schemas.main(["--check"]) == 1
    assert "run python -m tools.schemas and commit schemas/" in capsys.readouterr().err


def test_kinds_say_what_policies_read() -> None:
    registry = default_registry()
    unread = {name for name in registry.names() if not registry.get(name).policy_reads_content}
    assert unread == inputs._NOT_READ
    assert inputs.reads_content("GHAS_CODE_SCAN")  # a kind crafter lacks is read as JSON


def test_policy_documents_may_name_a_plugin_kind(
    kinds: ModuleType, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A script's ``kind:`` and a group material's ``type:`` name the plugin kind, as a contract's materials do:
    the group adds a TEST_MANIFEST material to the contract and its policy runs on that kind only."""
    (cli_env / "manifest-size.rego").write_text(REGO)
    (cli_env / "manifest-policy.yaml").write_text(
        POLICY.replace(
            "    - ref: manifest-size.rego", "    - kind: TEST_MANIFEST\n      ref: manifest-size.rego"
        )
    )
    (cli_env / "group.yaml").write_text(
        "apiVersion: chainloop.dev/v1\nkind: PolicyGroup\nmetadata: {name: manifests}\nspec:\n  policies:\n"
        "    materials:\n      - name: manifest\n        type: TEST_MANIFEST\n"
        "        policies:\n          - ref: manifest-policy.yaml\n"
    )
    (cli_env / "contract.yaml").write_text("schemaVersion: v1\npolicyGroups:\n  - ref: group.yaml\n")
    manifest = cli_env / "manifest.json"
    manifest.write_text(json.dumps({"manifest": "shop", "items": ["a"]}))
    code, out, err = run_cli(capsys, "init", "--contract", str(cli_env / "contract.yaml"), "-o", "json")
    assert code == 0, err
    assert "manifest" in json.loads(out)["missingMaterials"]
    code, out, err = run_cli(capsys, "add", "--name", "manifest", "--value", str(manifest))
    assert code == 0, err
    assert "manifest shop lists 1 items" in out

    # Without the plugin installed the kind is unknown: the same policy is refused, naming the field.
    (cli_env / "other-policy.yaml").write_text(
        POLICY.replace(
            "    - ref: manifest-size.rego", "    - kind: NOT_A_KIND\n      ref: manifest-size.rego"
        )
    )
    code, _, err = run_cli(
        capsys,
        "policy",
        "eval",
        "--policy",
        str(cli_env / "other-policy.yaml"),
        "--material",
        str(manifest),
        "--kind",
        "TEST_MANIFEST",
    )
    assert code == ExitCode.POLICY and "spec.policies[0].kind" in err
