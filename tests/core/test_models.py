"""The crafting-state models: immutable and hashable, validated where crafter creates them, lenient where they
are read back from what another producer wrote, serialised as before."""

from __future__ import annotations

import copy
import json
import pickle
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import crafter._internal.crafting_state
from crafter._internal.crafting_state import (
    Attestation,
    CraftingState,
    Material,
    WorkflowMetadata,
    is_valid_digest,
    is_valid_name,
)
from crafter._internal.frozen import FrozenDict, FrozenList, freeze, lenient
from crafter._internal.materials.interface import ImageInfo, MainComponent
from crafter._internal.policy_record import EvaluatedViolation, PolicyEvaluation, PolicyReference
from crafter._internal.state_store import StateStore
from crafter.errors import ExitCode

DIGEST = "sha256:" + "ab" * 32


def material(**changes: Any) -> Material:
    fields: dict[str, Any] = {
        "name": "sbom",
        "kind": "SBOM_CYCLONEDX_JSON",
        "added_at": "2026-01-01T00:00:00.000000000Z",
        "digest": DIGEST,
        "filename": "sbom.json",
        "main_component": MainComponent("app", "1.0", "application"),
        "annotations": {"b": "2", "a": "1"},
        "output": True,
    }
    fields.update(changes)
    return Material(**fields)


def state(**attestation: Any) -> CraftingState:
    return CraftingState(
        contract={
            "schemaVersion": "v1",
            "materials": [{"type": "STRING", "name": "m"}],
            "runner": {"type": "x"},
        },
        attestation=Attestation(
            initialized_at="2026-01-01T00:00:00.000000000Z",
            workflow=WorkflowMetadata(name="wf", project="p", workflow_run_id="a1"),
            materials={"sbom": material()},
            annotations={"k": "v"},
            env_vars={"E": "1"},
            policy_evaluations=(
                PolicyEvaluation(
                    name="no-bad",
                    type="SBOM_CYCLONEDX_JSON",
                    reference=PolicyReference("no-bad"),
                    material_name="sbom",
                    annotations={"a": "1"},
                    violations=(EvaluatedViolation("sbom", "m"),),
                    with_={"x": "1"},
                ),
            ),
            **attestation,
        ),
    )


def test_material_is_hashable_and_equal_materials_hash_alike() -> None:
    assert hash(material()) == hash(material(annotations={"a": "1", "b": "2"}))
    assert len({material(), material(), material(name="other")}) == 2
    image = material(kind="CONTAINER_IMAGE", image=ImageInfo("r/x", "1", False), main_component=None)
    assert hash(image) != hash(material())


def test_whole_state_is_hashable() -> None:
    assert hash(state()) == hash(state())
    assert {state(): 1}[state()] == 1


def mutations(s: CraftingState) -> list[Callable[[], object]]:
    a = s.attestation
    m = a.materials["sbom"]
    contract_list: Any = s.contract["materials"]
    evaluation: Any = a.policy_evaluations[0]
    return [
        lambda: m.annotations.__setitem__("x", "y"),  # type: ignore[attr-defined]
        lambda: m.annotations.update(x="y"),  # type: ignore[attr-defined]
        lambda: m.annotations.pop("a"),  # type: ignore[attr-defined]
        lambda: a.materials.__setitem__("x", m),  # type: ignore[attr-defined]
        lambda: a.materials.clear(),  # type: ignore[attr-defined]
        lambda: a.annotations.__delitem__("k"),  # type: ignore[attr-defined]
        lambda: a.env_vars.setdefault("F", "2"),  # type: ignore[attr-defined]
        lambda: s.contract.__setitem__("x", 1),  # type: ignore[attr-defined]
        lambda: contract_list.append({}),
        lambda: contract_list[0].__setitem__("name", "n"),
        lambda: s.contract["runner"].popitem(),
        lambda: evaluation.with_.__setitem__("x", "2"),
        lambda: evaluation.with_.__ior__({"y": "2"}),
        lambda: evaluation.annotations.update(a="2"),
        lambda: evaluation.annotations.clear(),
    ]


@pytest.mark.parametrize("index", range(15))
def test_every_nested_mapping_and_sequence_refuses_change(index: int) -> None:
    s = state()
    before = s.to_dict()
    with pytest.raises(TypeError, match="is immutable"):
        mutations(s)[index]()
    assert s.to_dict() == before


def test_policy_evaluations_are_a_tuple_and_attributes_are_frozen() -> None:
    s = state()
    assert isinstance(s.attestation.policy_evaluations, tuple)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        s.attestation.materials["sbom"].name = "x"  # type: ignore[misc]
    (evaluation,) = s.attestation.policy_evaluations
    assert isinstance(evaluation.violations, tuple)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        evaluation.material_name = "x"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        evaluation.violations[0].message = "x"  # type: ignore[misc]


def test_construction_copies_its_arguments_once() -> None:
    annotations = {"a": "1"}
    contract: dict[str, Any] = {"schemaVersion": "v1", "materials": [{"name": "m"}]}
    m = material(annotations=annotations)
    s = CraftingState(contract=contract, attestation=state().attestation)
    annotations["a"] = "changed"
    contract["materials"][0]["name"] = "changed"
    assert m.annotations == {"a": "1"}
    assert s.contract["materials"] == [{"name": "m"}]


def test_to_dict_is_plain_so_callers_may_edit_it() -> None:
    d = state().to_dict()
    d["inputSchema"]["materials"][0]["name"] = "x"
    d["attestation"]["policyEvaluations"][0]["violations"].append({})
    d["attestation"]["materials"]["sbom"]["annotations"]["c"] = "3"
    assert state().to_dict() != d


def test_frozen_values_survive_copy_and_pickle() -> None:
    s = state()
    assert copy.deepcopy(s) == s and copy.copy(s.contract) is s.contract
    assert pickle.loads(pickle.dumps(s)) == s
    assert isinstance(pickle.loads(pickle.dumps(freeze({"a": [1]})))["a"], FrozenList)


def test_serialisation_is_unchanged_and_round_trips() -> None:
    s = state()
    plain = {
        "schemaVersion": "v1",
        "materials": [{"type": "STRING", "name": "m"}],
        "runner": {"type": "x"},
    }
    assert json.dumps(s.to_dict()["inputSchema"], sort_keys=True) == json.dumps(plain, sort_keys=True)
    assert json.dumps(dict(freeze(plain))) == json.dumps(plain)
    assert json.dumps(freeze(plain), indent=2) == json.dumps(plain, indent=2)
    m = s.attestation.materials["sbom"]
    assert m.to_dict()["annotations"] == {"a": "1", "b": "2"} and list(m.annotations) == ["a", "b"]
    assert CraftingState.from_dict(json.loads(json.dumps(s.to_dict()))) == s


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"name": "NOT VALID NAME!"},
            "material name 'NOT VALID NAME!' is not valid: expected a DNS-1123 label",
        ),
        ({"name": ""}, "material name '' is not valid"),
        ({"name": "-x"}, "material name '-x' is not valid"),
        ({"name": "a" * 64}, "is not valid: expected a DNS-1123 label"),
        ({"kind": "NOPE"}, "material kind 'NOPE' of 'sbom' is not a known kind"),
        ({"digest": "md5:zz"}, "material digest 'md5:zz' of 'sbom' is not valid: expected sha256: and 64"),
        ({"digest": "sha256:" + "AB" * 32}, "material digest 'sha256:ABAB"),
        ({"digest": "sha512:" + "ab" * 64}, "material digest 'sha512:"),
        ({"digest": DIGEST[:-1]}, "material digest"),
    ],
)
def test_construction_validates_name_kind_and_digest(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        material(**changes)


def test_valid_materials_construct() -> None:
    assert material(name="a", kind="CHAINLOOP_PR_INFO").kind == "CHAINLOOP_PR_INFO"  # a Chainloop kind
    assert material(name="a" * 63, digest=None).digest is None  # old Chainloop STRING records have none
    assert material(kind="STRING", value="v").value == "v"


def test_plugin_kinds_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[str] = []
    lookups: list[int] = []

    def plugin_kinds() -> list[str]:
        lookups.append(1)
        return installed

    monkeypatch.setattr(
        crafter._internal.crafting_state, "_known_kinds", set(crafter._internal.crafting_state._known_kinds)
    )
    monkeypatch.setattr(crafter._internal.crafting_state, "installed_plugin_kinds", plugin_kinds)
    with pytest.raises(ValueError, match="'ACME_REPORT' of 'sbom' is not a known kind"):
        material(kind="ACME_REPORT")
    installed.append("ACME_REPORT")  # installed later in the process: found, then remembered
    assert [material(kind="ACME_REPORT").kind for _ in range(3)] == ["ACME_REPORT"] * 3
    assert len(lookups) == 2
    material()  # a built-in kind never looks plugins up
    assert len(lookups) == 2


def chainloop_material() -> dict[str, Any]:
    """A material as a newer Chainloop (or another producer) records it: a kind crafter lacks, a name and a
    digest crafter would refuse to create."""
    return {
        "id": "Build_Log",
        "materialType": "CHAINLOOP_FUTURE_KIND",
        "addedAt": "2026-01-01T00:00:00Z",
        "artifact": {
            "id": "Build_Log",
            "name": "log.txt",
            "digest": "sha512:" + "cd" * 64,
            "isSubject": True,
        },
        "annotations": {"x": "y"},
    }


def test_reading_back_another_producers_material_is_lenient() -> None:
    m = Material.from_dict("Build_Log", chainloop_material(), validated=False)
    assert (m.name, m.kind, m.digest, m.output) == (
        "Build_Log",
        "CHAINLOOP_FUTURE_KIND",
        "sha512:" + "cd" * 64,
        True,
    )
    assert m.to_dict() == chainloop_material() | {"output": True}
    assert hash(m) == hash(Material.lenient(**attrs.asdict(m, recurse=False)))
    with pytest.raises(ValueError, match="material name 'Build_Log'"):
        Material.from_dict("Build_Log", chainloop_material())
    doc = state().to_dict()["attestation"] | {"materials": {"Build_Log": chainloop_material()}}
    assert Attestation.from_dict(doc, validated=False).materials["Build_Log"].kind == "CHAINLOOP_FUTURE_KIND"
    with lenient():
        assert Material(name="X", kind="Y", added_at="").name == "X"
    with pytest.raises(ValueError):
        Material(name="X", kind="Y", added_at="")  # the lenient scope ended


def test_frozen_dict_hash_follows_its_items() -> None:
    assert hash(FrozenDict({"a": 1, "b": 2})) == hash(FrozenDict({"b": 2, "a": 1}))
    assert FrozenDict({"a": 1}) == {"a": 1} and isinstance(FrozenDict(), dict)


def hand_edit(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(path.read_text())
    edit(doc["state"]["attestation"]["materials"]["sbom"])
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("id", "Not Valid", "material name 'Not Valid' is not valid"),
        ("materialType", "NOPE", "material kind 'NOPE' of 'sbom' is not a known kind"),
        ("artifact", {"id": "sbom", "name": "f", "digest": "md5:zz"}, "material digest 'md5:zz' of 'sbom'"),
    ],
)
def test_hand_edited_invalid_material_in_state_exits_3_with_one_line(
    tmp_path: Path, field: str, value: Any, expected: str
) -> None:
    store = StateStore(tmp_path / "st")
    path = store.create(state())
    store.set_current("a1")

    def edit(m: dict[str, Any]) -> None:
        m.pop("sbomArtifact", None)
        m.setdefault("artifact", {"id": "sbom", "name": "f", "digest": DIGEST})
        m[field] = value

    hand_edit(path, edit)
    before = path.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "crafter._internal.cli.main", "--state-dir", str(tmp_path / "st"), "status"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == ExitCode.STATE == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(path) in lines[0] and expected in lines[0] and "Traceback" not in proc.stderr
    assert path.read_bytes() == before  # never rewritten


@given(st.text(alphabet="abz09-A_.:\n", max_size=70))
def test_fast_and_slow_name_checks_agree(name: str) -> None:
    ok = is_valid_name(name)
    assert bool(crafter._internal.crafting_state._NAME.fullmatch(name)) == ok
    if ok:
        assert material(name=name).name == name
    else:
        with pytest.raises(ValueError, match="material name"):
            material(name=name)


@given(st.text(alphabet="sha256:0f9aF", min_size=60, max_size=75))
def test_fast_and_slow_digest_checks_agree(digest: str) -> None:
    ok = is_valid_digest(digest)
    assert bool(crafter._internal.crafting_state._SHA256.fullmatch(digest)) == ok
    if ok:
        assert material(digest=digest).digest == digest
    else:
        with pytest.raises(ValueError, match="material digest"):
            material(digest=digest)
