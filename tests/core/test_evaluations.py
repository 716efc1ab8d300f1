"""Policy evaluations as frozen models across the layers (crafter.PolicyEvaluation): validated where crafter
makes them, read back as stored, immutable and hashable, one JSON form each way, and the deprecated dict reads
of crafter 0.1 still answered, with a DeprecationWarning."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import crafter
from crafter import Crafter, PolicyEvaluation
from crafter._internal.crafting_state import CraftingState, Material
from crafter._internal.frozen import lenient
from crafter.errors import PolicyError
from crafter.policies.hooks import EvaluatedViolation, PolicyReference

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
DIGEST = "sha256:" + "a" * 64


def evaluation(**fields: Any) -> PolicyEvaluation:
    values: dict[str, Any] = {
        "name": "no-bad",
        "type": "STRING",
        "reference": PolicyReference("no-bad", uri="file:///p.yaml", digest=DIGEST),
        "material_name": "note",
        "violations": (EvaluatedViolation("no-bad", "bad"), EvaluatedViolation("no-bad", "hidden", True)),
        "with_": {"limit": "3"},
        "annotations": {"category": "test"},
        "input_digest": DIGEST,
        "source_digests": (DIGEST,),
        "sources": (b"package main",),
        "engine": "rego",
        "evaluated_at": "2026-12-03T00:00:00Z",
        "duration_ms": 4,
    }
    values.update(fields)
    return PolicyEvaluation(**values)


# -- the model ------------------------------------------------------------------------------------------------
def test_public_names_are_one_class() -> None:
    from crafter.policies.hooks import PolicyEvaluation as FromHooks

    assert crafter.PolicyEvaluation is FromHooks is PolicyEvaluation


def test_an_evaluation_is_frozen_hashable_and_its_mappings_refuse_change() -> None:
    e = evaluation()
    assert hash(e) == hash(evaluation()) and {e: 1}[evaluation()] == 1
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        e.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError, match="is immutable"):
        e.with_["limit"] = "4"  # type: ignore[index]
    with pytest.raises(TypeError, match="is immutable"):
        e.annotations.clear()  # type: ignore[attr-defined]
    assert isinstance(e.violations, tuple) and isinstance(e.source_digests, tuple)


def test_construction_copies_its_arguments() -> None:
    with_ = {"limit": "3"}
    violations = [EvaluatedViolation("p", "m")]
    e = evaluation(with_=with_, violations=violations)
    with_["limit"] = "changed"
    violations.append(EvaluatedViolation("p", "later"))
    assert e.with_ == {"limit": "3"} and len(e.violations) == 1


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"name": ""}, "name must be a non-empty string"),
        ({"type": ""}, "type must be a non-empty string"),
        ({"input_digest": "md5:abc"}, "'md5:abc' is not sha256"),
        ({"source_digests": ("sha256:XYZ",)}, "'sha256:XYZ' is not sha256"),
        ({"duration_ms": -1}, "durationMs must be a non-negative integer"),
    ],
)
def test_what_crafter_makes_is_validated_at_construction(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        evaluation(**fields)
    with lenient():  # what another producer wrote is read as written
        assert evaluation(**fields).name == fields.get("name", "no-bad")


def test_stored_forms_are_read_as_written() -> None:
    # Chainloop's deprecated reference fields, a digest crafter would not write, its "body": read, not refused.
    stored = {
        "name": "legacy",
        "type": "SBOM_CYCLONEDX_JSON",
        "referenceName": "chainloop://legacy",
        "referenceDigest": "sha1:abc",
        "inputDigest": "md5:abc",
        "body": "cGFja2FnZSBtYWlu",
        "violations": [{"subject": "legacy", "message": "m"}],
    }
    e = PolicyEvaluation.from_dict(stored)
    assert (e.reference.uri, e.reference.digest, e.input_digest) == (
        "chainloop://legacy",
        "sha1:abc",
        "md5:abc",
    )
    assert e.status == "violated" and "body" not in e.to_dict()


texts = st.text(min_size=1, max_size=8)
strings = st.dictionaries(texts, texts, max_size=3)
digests = st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "sha256:" + h)


@given(
    name=texts,
    violations=st.lists(st.builds(EvaluatedViolation, texts, texts, st.booleans()), max_size=3),
    with_=strings,
    annotations=strings,
    skipped=st.booleans(),
    gate=st.booleans(),
    gate_explicit=st.booleans(),
    input_digest=st.one_of(st.just(""), digests),
    sources=st.lists(st.binary(max_size=16), max_size=2),
    duration_ms=st.integers(0, 10**6),
)
def test_the_stored_form_round_trips(**fields: Any) -> None:
    e = evaluation(**fields)
    assert PolicyEvaluation.from_dict(e.to_dict()) == e


def test_enforced_makes_a_gate_unless_the_attachment_decided() -> None:
    assert evaluation().enforced().gate
    decided = evaluation(gate_explicit=True)
    assert decided.enforced() is decided and not decided.enforced().gate


# -- the deprecated dict reads ------------------------------------------------------------------------------
def test_dict_reads_still_answer_with_a_deprecation_warning() -> None:
    e = evaluation()
    with pytest.warns(
        DeprecationWarning, match="dict access is deprecated and will be removed in crafter 0.3"
    ):
        assert e["name"] == "no-bad"
    with pytest.warns(DeprecationWarning, match="PolicyEvaluation models, not dicts"):
        assert e.get("materialName") == "note" and e.get("missing", 7) == 7
    with pytest.warns(DeprecationWarning, match="PolicyEvaluation models, not dicts"):
        assert "with" in e and dict(e) == e.to_dict()
    with pytest.warns(DeprecationWarning, match="PolicyEvaluation models, not dicts"):
        assert e["violations"][0] == {"subject": "no-bad", "message": "bad"}
    with pytest.raises(TypeError, match="not iterable"):
        iter(e)  # a dict iterated its keys; a model refuses rather than guess


def test_attribute_reads_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = evaluation()
        assert (e.name, e.material_name, e.status, len(e.active_violations)) == (
            "no-bad",
            "note",
            "violated",
            1,
        )


# -- through the library ------------------------------------------------------------------------------------
def test_add_and_push_results_carry_models(tmp_path: Path) -> None:
    c = Crafter(state_dir=tmp_path / "state", cwd=tmp_path, environ={"PATH": "/usr/bin:/bin"})
    c.init(contract=DEMO / "contract.yaml", project="hello")
    added = c.record([str(DEMO / "sbom.cdx.json")], name="sbom")
    assert added.evaluations and all(isinstance(e, PolicyEvaluation) for e in added.evaluations)
    assert c.status().state.attestation.policy_evaluations == added.evaluations


class DictHook:
    """A hook written for crafter 0.1: it returns stored dicts."""

    def __init__(self, returned: Any) -> None:
        self.returned = returned

    def verify_material(self, state: CraftingState, material: Material, path: str | None) -> Any:
        return self.returned

    def verify_statement(
        self, state: CraftingState, statement: Mapping[str, Any], phase: str = "PUSH"
    ) -> Any:
        return ()

    def close(self) -> None:
        pass


def test_a_hook_returning_dicts_is_read_with_a_deprecation_warning(tmp_path: Path) -> None:
    stored = {"name": "legacy-hook", "type": "STRING", "materialName": "note", "violations": []}
    c = Crafter(state_dir=tmp_path / "state", cwd=tmp_path, environ={}, policies=DictHook((stored,)))
    c.init(project="p", workflow="w")
    with pytest.warns(DeprecationWarning, match="policy hook DictHook returned a dict"):
        added = c.record(["hello"], name="note")
    (e,) = added.evaluations
    assert isinstance(e, PolicyEvaluation) and e.name == "legacy-hook" and e.status == "passed"


@pytest.mark.parametrize(
    ("returned", "problem"),
    [
        ((42,), "is a int, not a PolicyEvaluation"),
        (({"name": "", "type": "STRING"},), "name must be a non-empty string"),
        (({"name": "x", "type": "STRING", "durationMs": "soon"},), "invalid literal"),
    ],
)
def test_a_hook_returning_something_else_is_its_error(tmp_path: Path, returned: Any, problem: str) -> None:
    c = Crafter(state_dir=tmp_path / "state", cwd=tmp_path, environ={}, policies=DictHook(returned))
    c.init(project="p", workflow="w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(
            PolicyError, match=f"policy hook DictHook returned an invalid evaluation: .*{problem}"
        ):
            c.record(["hello"], name="note")
    assert c.status().state.attestation.materials == {}  # nothing recorded


def test_what_the_deprecation_cannot_keep_fails_at_once() -> None:
    e = evaluation()
    with pytest.raises(TypeError, match="not JSON serializable"):
        json.dumps(e)
    assert json.loads(json.dumps(e.to_dict()))["name"] == "no-bad"
