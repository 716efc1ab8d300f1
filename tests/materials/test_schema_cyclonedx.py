"""crafter accepts and refuses CycloneDX JSON SBOMs as CycloneDX's own validator does.

The oracle is cyclonedx-python-lib's ``JsonStrictValidator`` with its ``json-validation`` extra (a dev
dependency): python-jsonschema with format checking. The corpus is built here: for each CycloneDX version
1.2-1.7 and each ``format`` its schema uses, a BOM carrying a value of that format, valid and mutated (plus
edge values where the rules are subtle), and JSF-signed BOMs. Each BOM is added in both key orders:
``specVersion`` before the components (they are checked one at a time as they are read) and after them (the
document is parsed whole). Then seeded random mutations of a BOM, anywhere in it.
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.materials import sbom
from crafter._internal.materials.interface import CraftOptions
from crafter._internal.materials.sbom import CycloneDXKind
from crafter.errors import MaterialError

validation = pytest.importorskip("cyclonedx.validation.json", reason="cyclonedx-python-lib[json-validation]")
pytest.importorskip("rfc3987_syntax", reason="the json-validation extra's iri-reference checker")
from cyclonedx.schema import SchemaVersion  # noqa: E402

CDX = CycloneDXKind()
VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
SERIAL = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"

#: Values of each format: the first valid, the second its mutation, then edge cases of the rules.
VALUES = {
    "date-time": [
        "2020-04-13T20:20:39Z",
        "2020-04-13",
        "2020-04-13t20:20:39.5+02:00",
        "2020-02-30T00:00:00Z",
        "2020-04-13T20:20:39+24:00",
        "2020-04-13T20:20:39Z\n",
    ],
    "idn-email": ["dev@example.com", "dev.example.com", "ünï@例え.jp"],
    "iri-reference": [
        "https://example.com/p?q=1#f",
        "https://exa mple.com/",
        "../relative/path",
        "https://例え.jp/ä",
        "http://[::1]/",
        "http://[1:2:3:4:5:6:7:8]/",
        "https://example.com/%zz",
        "",
    ],
    "uri": ["https://example.com/alg", "not a uri", "urn:example:alg", "ES256"],
    "date": [
        "2020-04-13",
        "2020-04-13T20:20:39Z",
        "2020-02-30",
        "2020-4-13",
        "2020-04-13\n",
    ],  # 1.7's patents
}
#: Formats a schema names that no checker knows (python-jsonschema ignores them).
UNCHECKED = {"string"}


@functools.cache
def oracle(version: str) -> Any:
    return validation.JsonStrictValidator(SchemaVersion.from_version(version))


def schema_formats(version: str) -> set[str]:
    validator = sbom._cyclonedx_validator(version)
    found: set[str] = set()
    stack: list[Any] = [validator.schema, *(sbom._cdx_schema(n) for n in sbom._CDX_REFERENCED)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("format"), str):
                found.add(node["format"])
            stack.extend(v for k, v in node.items() if k not in ("enum", "examples", "const", "default"))
        elif isinstance(node, list):
            stack.extend(node)
    if version in ("1.2", "1.3"):
        found.discard("uri")  # the JSF schema is referenced from 1.4 on
    return found


def bom(
    version: str,
    *,
    timestamp: str = "2020-04-13T20:20:39Z",
    email: str = "dev@example.com",
    url: str = "https://example.com/c",
    **extra: Any,
) -> dict[str, Any]:
    component = {
        "type": "library",
        "name": "acme-lib",
        "version": "1.0.0",
        "pedigree": {
            "commits": [
                {"uid": "abc", "url": url, "author": {"timestamp": timestamp, "name": "dev", "email": email}}
            ]
        },
    }
    return {
        "bomFormat": "CycloneDX",
        "specVersion": version,
        "serialNumber": SERIAL,
        "version": 1,
        "metadata": {"timestamp": timestamp},
        "components": [{"type": "library", "name": "other", "version": "2"}, component],
        **extra,
    }


def patent(filing_date: str) -> dict[str, Any]:
    """1.7's ``definitions.patents``: where its schema uses the ``date`` format."""
    return {
        "definitions": {
            "patents": [
                {
                    "patentNumber": "US1234567",
                    "jurisdiction": "US",
                    "patentLegalStatus": "granted",
                    "filingDate": filing_date,
                }
            ]
        }
    }


def components_first(doc: dict[str, Any]) -> dict[str, Any]:
    return {"components": doc["components"], **{k: v for k, v in doc.items() if k != "components"}}


def crafter_accepts(tmp_path: Path, doc: dict[str, Any]) -> bool:
    verdicts = set()
    for name, variant in (("streamed.json", doc), ("whole.json", components_first(doc))):
        path = tmp_path / name
        path.write_text(json.dumps(variant))
        try:
            CDX.craft(str(path), CraftOptions())
            problem = ""
        except MaterialError as exc:
            problem = exc.message
        assert not problem or "invalid cyclonedx sbom file" in problem
        verdicts.add(not problem)
    assert len(verdicts) == 1, "the two key orders disagree"
    return verdicts.pop()


def oracle_accepts(version: str, doc: dict[str, Any]) -> bool:
    return oracle(version).validate_str(json.dumps(doc)) is None


def cases() -> list[Any]:
    out = []
    for version in VERSIONS:
        for value in VALUES["date-time"]:
            out.append(pytest.param(version, {"timestamp": value}, id=f"{version}-date-time-{value!r}"))
        for value in VALUES["idn-email"]:
            out.append(pytest.param(version, {"email": value}, id=f"{version}-idn-email-{value!r}"))
        for value in VALUES["iri-reference"]:
            out.append(pytest.param(version, {"url": value}, id=f"{version}-iri-reference-{value!r}"))
        if version == "1.7":
            for value in VALUES["date"]:
                out.append(pytest.param(version, patent(value), id=f"{version}-date-{value!r}"))
        if version not in ("1.2", "1.3"):
            for value in VALUES["uri"]:
                signature = {"algorithm": value, "value": "MEUCIQDk"}
                out.append(pytest.param(version, {"signature": signature}, id=f"{version}-uri-{value!r}"))
    return out


def test_every_format_the_schemas_use_is_in_the_corpus() -> None:
    for version in VERSIONS:
        assert schema_formats(version) - UNCHECKED <= set(VALUES), version


@pytest.mark.parametrize(("version", "fields"), cases())
def test_formats_as_the_official_validator(tmp_path: Path, version: str, fields: dict[str, Any]) -> None:
    doc = bom(version, **fields)
    assert crafter_accepts(tmp_path, doc) == oracle_accepts(version, doc)


def test_valid_and_mutated_values_differ() -> None:
    # The corpus is worth something only if each format's first value passes and its mutation fails.
    for version in VERSIONS:
        for key, field in (("date-time", "timestamp"), ("idn-email", "email"), ("iri-reference", "url")):
            valid, mutated = VALUES[key][:2]
            assert oracle_accepts(version, bom(version, **{field: valid}))
            assert not oracle_accepts(version, bom(version, **{field: mutated}))
    valid, mutated = VALUES["date"][:2]
    assert oracle_accepts("1.7", bom("1.7", **patent(valid)))
    assert not oracle_accepts("1.7", bom("1.7", **patent(mutated)))


SIGNATURES = {
    "simple": {"algorithm": "ES256", "value": "MEUCIQDkYWJj"},
    "with-key": {
        "algorithm": "ES256",
        "publicKey": {"kty": "EC", "crv": "P-256", "x": "6BKxpty8cI", "y": "mCiepxlg"},
        "value": "MEUCIQDkYWJj",
    },
    "proprietary-uri": {"algorithm": "https://example.com/sig/xyz", "value": "c2ln"},
    "signers": {
        "signers": [{"algorithm": "RS256", "value": "c2ln"}, {"algorithm": "Ed25519", "value": "c2ln"}]
    },
    "chain": {"chain": [{"algorithm": "PS512", "value": "c2ln"}]},
    "unknown-algorithm": {"algorithm": "XX999", "value": "c2ln"},
    "no-value": {"algorithm": "ES256"},
}


@pytest.mark.parametrize("version", ["1.4", "1.5", "1.6", "1.7"])
@pytest.mark.parametrize("signature", sorted(SIGNATURES))
def test_signed_sboms_as_the_official_validator(tmp_path: Path, version: str, signature: str) -> None:
    doc = bom(version, signature=SIGNATURES[signature])
    doc["components"][0]["signature"] = SIGNATURES[signature]
    expected = oracle_accepts(version, doc)
    assert expected == (signature not in ("unknown-algorithm", "no-value"))
    assert crafter_accepts(tmp_path, doc) == expected


@pytest.mark.parametrize(
    ("serial", "accepted"),
    [(SERIAL, True), (SERIAL + "\n", True), (SERIAL.upper(), False), (SERIAL + "x", False)],
)
def test_patterns_mean_what_they_mean_to_python(tmp_path: Path, serial: str, accepted: bool) -> None:
    # "$" in a pattern also matches before a final newline for Python's re (the oracle's engine).
    doc = bom("1.6", serialNumber=serial)
    assert oracle_accepts("1.6", doc) is accepted
    assert crafter_accepts(tmp_path, doc) is accepted


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_old_versions_use_their_strict_schemas(tmp_path: Path, version: str) -> None:
    assert crafter_accepts(tmp_path, bom(version))
    unknown = bom(version, extra={"x": 1})
    assert not oracle_accepts(version, unknown)
    assert not crafter_accepts(tmp_path, unknown)
    # A property of a later version is refused too ("properties" on a BOM came with 1.3).
    later = bom(version, properties=[{"name": "a", "value": "b"}])
    assert crafter_accepts(tmp_path, later) == oracle_accepts(version, later)


# Values a mutation puts anywhere: wrong types, near-miss strings of the formats and patterns, duplicates.
MUTANTS = [
    None, True, 1, 1.0, -3, 2.5, "", "x", "library", "2020-04-13", "2020-04-13T20:20:39Z", "https://a b",
    "a@b", [], {}, [1, 1], ["a", "a"], {"name": "n"}, "SHA-256", SERIAL + "\n", "é", "0" * 64,
]  # fmt: skip


def mutated(seed: int) -> tuple[str, dict[str, Any]]:
    draw = random.Random(seed)
    version = draw.choice(VERSIONS)
    doc = bom(version)
    doc["components"][0].update(
        {"licenses": [{"license": {"id": "MIT"}}], "hashes": [{"alg": "SHA-256", "content": "0" * 64}]}
    )
    for _ in range(draw.randint(1, 3)):
        paths = [p for p in _paths(doc) if len(p) > 1]
        path = draw.choice(paths)
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        roll = draw.random()
        if roll < 0.65:
            parent[path[-1]] = json.loads(json.dumps(draw.choice(MUTANTS)))
        elif isinstance(parent, dict) and roll < 0.85:
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent["unknown"] = 1
    return version, doc


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Any:
    yield path
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        yield from _paths(value, (*path, key))


@pytest.mark.parametrize("seed", range(60))
def test_mutated_sboms_as_the_official_validator(tmp_path: Path, seed: int) -> None:
    version, doc = mutated(seed)
    errors = oracle(version).validate_str(json.dumps(doc), all_errors=True)
    # Chainloop's two tolerated deviations (duplicate components, "cwes": null) are crafter's on purpose.
    expected = errors is None or all(sbom._ignored_by_chainloop(e.data) for e in errors)
    assert crafter_accepts(tmp_path, doc) == expected
