"""The fast path of the statement check: materials that :func:`plain_material` accepts are not handed to the
JSON Schema validator one by one. It must never accept a material the schema refuses (else the check would
be weaker), it must accept the materials crafter and Chainloop write (else there is no fast path), and a
statement with a bad material is refused with the same message as before."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crafter import Crafter
from crafter._internal.schema_check import _compiled
from crafter._internal.verify.statement import _check_chainloop, _historic, _schema_view, plain_material
from crafter.errors import SignatureError
from crafter.signing.keys import generate_key_pair

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"

VALID: dict[str, Any] = {
    "name": "sbom",
    "digest": {"sha256": "ab" * 32},
    "annotations": {"chainloop.material.type": "SBOM_CYCLONEDX_JSON", "chainloop.material.name": "sbom"},
}


@pytest.fixture(scope="module")
def statement(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("shape")
    key, _ = generate_key_pair(work / "k", b"pw")
    c = Crafter(state_dir=work / "state", cwd=work, environ={"PATH": "/usr/bin:/bin"})
    c.init(contract=DEMO / "contract.yaml", project="hello")
    c.add([str(DEMO / "sbom.cdx.json")], name="sbom")
    c.add([str(DEMO / "junit.xml")], name="tests")
    c.add([str(DEMO / "hello-1.0.0.py")], name="release-file")
    c.add(["v1.0.0"], name="build-ref")
    return copy.deepcopy(dict(c.push(key=str(key), password=b"pw", bundle=work / "b.json").statement))


def schema_errors(statement: dict[str, Any]) -> list[str]:
    errors = [e for e in _compiled("statement.schema.json").python_errors(statement) if not _historic(e)]
    return sorted(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def with_materials(statement: dict[str, Any], materials: list[Any]) -> dict[str, Any]:
    return {**statement, "predicate": {**statement["predicate"], "materials": materials}}


def test_what_crafter_writes_takes_the_fast_path(statement: dict[str, Any]) -> None:
    materials = statement["predicate"]["materials"]
    assert len(materials) == 4 and all(map(plain_material, materials))
    assert _schema_view(statement)["predicate"]["materials"] == []
    assert schema_errors(statement) == []


CASES: list[tuple[dict[str, Any] | Any, bool]] = [
    (VALID, True),
    ({**VALID, "digest": {"sha256": "AB"}}, False),  # the schema's hex is lower case
    ({**VALID, "digest": {"sha256": "ab\n"}}, True),  # "$" matches before a final newline, as in the schema
    ({**VALID, "digest": {}}, False),
    ({**VALID, "digest": {"sha256": 1}}, False),
    ({**VALID, "digest": "ab"}, False),
    ({**VALID, "name": 3}, False),
    ({**VALID, "content": None}, False),
    ({**VALID, "mediaType": ["x"]}, False),
    ({k: v for k, v in VALID.items() if k != "annotations"}, False),
    ({**VALID, "annotations": {"chainloop.material.type": "ARTIFACT"}}, False),
    ({**VALID, "annotations": {**VALID["annotations"], "chainloop.material.name": 1}}, False),
    ({"annotations": VALID["annotations"]}, False),  # anyOf: none of name, uri, digest, content
    ({"uri": "u", "annotations": VALID["annotations"]}, True),
    ({"content": "aGk=", "annotations": VALID["annotations"], "extra": 1}, True),
    ("sbom", False),
    (None, False),
]


@pytest.mark.parametrize(("item", "valid"), CASES)
def test_plain_material_agrees_with_the_schema(statement: dict[str, Any], item: Any, valid: bool) -> None:
    assert (schema_errors(with_materials(statement, [item])) == []) is valid
    assert plain_material(item) is valid


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["", "ab", "AB", "ab\n", "x", "0f"]),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["sha256", "a"]), inner, max_size=2)
    ),
    max_leaves=4,
)
KEYS = ["name", "uri", "digest", "content", "downloadLocation", "mediaType", "annotations", "other"]
ANNOTATIONS = st.dictionaries(
    st.sampled_from(["chainloop.material.type", "chainloop.material.name", "x"]), JSON | st.text(max_size=3)
)


VALUES = JSON | ANNOTATIONS | st.dictionaries(st.sampled_from(["sha256", "sha512"]), JSON, max_size=2)
ITEMS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5) | st.builds(
    lambda overrides, dropped: {k: v for k, v in {**VALID, **overrides}.items() if k not in dropped},
    st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=2),
    st.sets(st.sampled_from(KEYS), max_size=2),
)


@settings(max_examples=500, deadline=None)
@given(item=ITEMS)
def test_plain_material_never_accepts_what_the_schema_refuses(item: dict[str, Any]) -> None:
    base = {
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": "chainloop.dev/attestation/v0.2",
        "subject": [],
        "predicate": {"materials": [item]},
    }
    if plain_material(item):
        material_errors = [e for e in schema_errors(base) if e.startswith("['predicate', 'materials'")]
        assert material_errors == []


def test_a_bad_material_is_refused_as_before(statement: dict[str, Any]) -> None:
    bad = copy.deepcopy(statement)
    bad["predicate"]["materials"][2]["digest"]["sha256"] = "NOT-HEX"
    assert _schema_view(bad) is bad  # the whole statement goes to the validator
    with pytest.raises(
        SignatureError, match=r"at predicate/materials/2/digest/sha256: 'NOT-HEX' does not match"
    ):
        _check_chainloop(bad, Path("b.json"))
