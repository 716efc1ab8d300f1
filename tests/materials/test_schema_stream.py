"""Large JSON documents checked an item at a time (crafter._internal.materials.jsonstream): the reader follows JSON
exactly or gives up, and a document read that way is accepted, refused and described exactly as the same
document parsed whole (for SBOMs, ``specVersion`` after the large arrays cannot be streamed: the reference
here; for the others, python-jsonschema on the whole document)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.materials import sbom
from crafter._internal.materials.basic import check_schema
from crafter._internal.materials.fileio import FileBytes, parse_json
from crafter._internal.materials.interface import ANN_SCAN_TYPES, ANN_TOOL_NAME, CraftOptions
from crafter._internal.materials.jsonstream import DROP, EachObject, json_text, parse_text, stream_object
from crafter._internal.materials.sbom import CycloneDXKind
from crafter._internal.materials.security import CSAFKind, OpenVEXKind, SarifKind
from crafter.errors import MaterialError

CDX = CycloneDXKind()


def collect(text: str, keys: tuple[str, ...] = ("big",)) -> tuple[Any, list[Any]]:
    items: list[Any] = []

    def item(value: Any) -> Any:
        items.append(value)
        return DROP

    return stream_object(text, lambda key, before: item if key in keys else None), items


@pytest.mark.parametrize("indent", [None, 2, "\t"])
def test_items_of_named_arrays_go_to_the_callback(indent: Any) -> None:
    doc = {"a": 1, "big": [1, {"x": [2, 3]}, [], "s"], "c": {"big": [4]}, "other": [5]}
    result, items = collect(json.dumps(doc, indent=indent))
    assert result == ({"a": 1, "big": [], "c": {"big": [4]}, "other": [5]}, {"big": []})
    assert items == [1, {"x": [2, 3]}, [], "s"]
    assert collect(' \n{"big": [] }\r\n') == (({"big": []}, {"big": []}), [])
    assert collect("{}") == (({}, {}), [])


def test_objects_of_an_array_are_read_with_their_own_handlers() -> None:
    seen: list[Any] = []

    def done(obj: Any, kept: dict[str, list[Any]]) -> Any:
        seen.append((obj, kept))
        if not isinstance(obj, dict):  # an item that is not an object comes as it is
            return obj
        return DROP if obj.get("skip") else obj | kept

    def inner(key: str, before: dict[str, Any]) -> Any:
        return (lambda v: v * 10) if key == "results" else None

    text = json.dumps({"runs": [{"tool": 1, "results": [1, 2]}, 7, {"skip": True, "results": []}], "x": [1]})
    each = EachObject(inner, done)
    assert stream_object(text, lambda key, before: each if key == "runs" else None) == (
        {"runs": [], "x": [1]},
        {"runs": [{"tool": 1, "results": [10, 20]}, 7]},
    )
    assert seen == [
        ({"tool": 1, "results": []}, {"results": [10, 20]}),
        (7, {}),
        ({"skip": True, "results": []}, {"results": []}),
    ]


@pytest.mark.parametrize(
    "text",
    [
        '{"big": [1, 2], "big": [3]}',  # a key twice: json keeps the last
        '{"big": [1, 2]} x',
        '[{"big": [1]}]',
        '{"big": [1, 2',
        '{"big": [1 2]}',
        '{"big": [1,]}',
        '{"a": 1 "big": []}',
        '{"a": 1,}',
        "{'a': 1}",
        '{"big": [1], "a": tru}',
        "",
        "   ",
    ],
)
def test_the_reader_gives_up_where_json_is_not_followed(text: str) -> None:
    assert collect(text)[0] is None


def test_given_up_text_is_parsed_whole_with_the_usual_error(tmp_path: Path) -> None:
    bom_first = FileBytes(path="f.json", data='\ufeff{"a": 1}'.encode(), digest="sha256:0")
    assert parse_text(json_text(bom_first, "thing"), "f.json", "thing") == parse_json(bom_first, "thing")
    for text in ('{"big": [1, 2', '{"big": [1 2]}', '{"a": "\x01"}', "\ufeff\ufeff{}"):
        fb = FileBytes(path="f.json", data=text.encode(), digest="sha256:0")
        with pytest.raises(MaterialError) as whole:
            parse_json(fb, "thing")
        with pytest.raises(MaterialError) as streamed:
            parse_text(json_text(fb, "thing"), "f.json", "thing")
        assert streamed.value.message == whole.value.message
    utf16 = FileBytes(path="f.json", data='{"a": "é"}'.encode("utf-16"), digest="sha256:0")
    assert json.loads(json_text(utf16, "thing")) == {"a": "é"}
    bad = FileBytes(path="f.json", data=b'{"a": "\xff"}', digest="sha256:0")
    with pytest.raises(MaterialError, match="not UTF-8, UTF-16 or UTF-32 text"):
        json_text(bad, "thing")


def bom(components: list[Any], **extra: Any) -> dict[str, Any]:
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components, **extra}


def lib(i: int, **extra: Any) -> dict[str, Any]:
    return {"type": "library", "name": f"c{i}", "version": "1.0", **extra}


def both_orders(tmp_path: Path, doc: dict[str, Any], strict: bool = True) -> list[Any]:
    """What crafting ``doc`` gives (a Crafted's digest and warnings, or the error), streamed and whole."""
    whole = {k: v for k, v in doc.items() if k != "specVersion"} | {"specVersion": doc["specVersion"]}
    out = []
    for name, variant in (("streamed.json", doc), ("whole.json", whole)):
        path = tmp_path / name
        path.write_text(json.dumps(variant))
        warnings: list[str] = []
        try:
            crafted = CDX.craft(str(path), CraftOptions(strict=strict, warn=warnings.append))
            out.append(("ok", crafted.main_component, [w.replace(name, "F") for w in warnings]))
        except MaterialError as exc:
            out.append(("error", exc.message.replace(name, "F"), exc.hint))
    return out


def test_an_invalid_component_is_described_alike(tmp_path: Path) -> None:
    components = [lib(i) for i in range(5)]
    components[3]["type"] = "nope"
    streamed, whole = both_orders(tmp_path, bom(components))
    assert streamed == whole
    assert streamed[0] == "error" and "$.components[3].type: not one of the accepted values" in streamed[1]
    streamed, whole = both_orders(tmp_path, bom(components), strict=False)
    assert streamed == whole and "$.components[3].type" in streamed[2][0]


def test_an_invalid_top_level_key_after_streamed_components(tmp_path: Path) -> None:
    streamed, whole = both_orders(tmp_path, bom([lib(1)], serialNumber="nope"))
    assert streamed == whole and "$.serialNumber: does not match" in streamed[1]


@pytest.mark.parametrize(
    "doc",
    [
        bom([lib(1), lib(1)]),  # duplicated components: tolerated (Chainloop's rule)
        bom([lib(1)], vulnerabilities=[{"id": "CVE-1", "cwes": None}]),  # "cwes": null tolerated too
        bom(
            [lib(1, name="lone \ud800 surrogate")]
        ),  # jsonschema-rs cannot take it: python-jsonschema decides
        bom([], metadata={"component": {"type": "container", "name": "nginx", "version": "1"}}),
    ],
    ids=["duplicates", "null-cwes", "lone-surrogate", "no-components"],
)
def test_accepted_alike(tmp_path: Path, doc: dict[str, Any]) -> None:
    streamed, whole = both_orders(tmp_path, doc)
    assert streamed == whole and streamed[0] == "ok"


def test_a_syntax_error_inside_a_component_is_json_s_own(tmp_path: Path) -> None:
    text = json.dumps(bom([lib(1), lib(2)])).replace('"c2"', '"c2\x01"')
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(MaterialError) as info:
        CDX.craft(str(path), CraftOptions())
    with pytest.raises(MaterialError) as expected:
        parse_json(FileBytes(path=str(path), data=text.encode(), digest=""), "cyclonedx sbom file")
    assert info.value.message == expected.value.message
    assert "line 1, column" in info.value.message and "control character in a string" in info.value.message


@pytest.mark.parametrize("version", sbom.CYCLONEDX_SCHEMA_VERSIONS)
def test_components_of_every_version_are_checked_one_at_a_time(version: str) -> None:
    check = sbom._cyclonedx_validator(version).item_check("components")
    assert check is not None
    assert check({"type": "library", "name": "a", "version": "1"})
    assert not check({"type": "nope", "name": "a", "version": "1"})


# --- the other JSON kinds read an array at a time: SPDX 2 (packages, files, relationships), OpenVEX
# (statements), CSAF (vulnerabilities) --------------------------------------------------------------------


def outcome(kind: Any, path: Path) -> Any:
    try:
        crafted = kind.craft(str(path), CraftOptions())
        return ("ok", crafted.main_component, dict(crafted.annotations))
    except MaterialError as exc:
        return ("error", exc.message.replace(path.name, "F"), exc.hint)


def whole_reference(tmp_path: Path, kind: Any, doc: dict[str, Any], schema: str) -> Any:
    """What the kind says of ``doc`` parsed whole: its schema error as check_schema words it, else ok."""
    path = tmp_path / "reference.json"
    path.write_text(json.dumps(doc))
    try:
        check_schema(doc, schema, str(path), kind_what(kind))
    except MaterialError as exc:
        return ("error", exc.message.replace(path.name, "F"), exc.hint)
    return "ok"


def kind_what(kind: Any) -> str:
    return {"OPENVEX": "OpenVEX file", "CSAF_VEX": "CSAF file", "SARIF": "SARIF file"}[kind.kind]


SPDX_DOC = {
    "spdxVersion": "SPDX-2.3",
    "dataLicense": "CC0-1.0",
    "SPDXID": "SPDXRef-DOCUMENT",
    "name": "app",
    "documentNamespace": "https://example.com/app",
    "creationInfo": {"created": "2024-01-02T03:04:05Z", "creators": ["Tool: syft-1.0.0"]},
    "packages": [
        {"name": "lib", "SPDXID": "SPDXRef-lib", "versionInfo": "1", "downloadLocation": "NONE"},
        {"name": "app", "SPDXID": "SPDXRef-app", "versionInfo": "2.0", "primaryPackagePurpose": "CONTAINER",
         "downloadLocation": "NONE"},
    ],
    "files": [{"SPDXID": "SPDXRef-f", "fileName": "a.txt"}],
    "relationships": [
        {"spdxElementId": "SPDXRef-app", "relatedSpdxElement": "SPDXRef-lib", "relationshipType": "CONTAINS"},
        {"spdxElementId": "SPDXRef-DOCUMENT", "relatedSpdxElement": "SPDXRef-app", "relationshipType": "DESCRIBES"},
    ],
}  # fmt: skip


@pytest.mark.parametrize("broken", [None, ("packages", 1, "name", 7), ("files", 0, "fileName", None)])
def test_spdx_streamed_and_whole_alike(tmp_path: Path, broken: Any) -> None:
    doc = json.loads(json.dumps(SPDX_DOC))
    if broken:
        key, index, field, value = broken
        doc[key][index][field] = value
    spdx = sbom.SPDXKind()
    streamed, whole = tmp_path / "streamed.json", tmp_path / "whole.json"
    streamed.write_text(json.dumps(doc))
    whole.write_text(
        json.dumps({k: v for k, v in doc.items() if k != "spdxVersion"} | {"spdxVersion": "SPDX-2.3"})
    )
    assert outcome(spdx, streamed) == outcome(spdx, whole)
    result = outcome(spdx, streamed)
    if broken is None:
        assert result[0] == "ok" and result[1].name.endswith("/app") and result[1].kind == "container"
    else:
        assert result[0] == "error" and f"$.{broken[0]}[{broken[1]}].{broken[2]}" in result[1]


@pytest.mark.parametrize("status", ["not_affected", "bogus"])
def test_openvex_statements_checked_as_read(tmp_path: Path, status: str) -> None:
    doc = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        "statements": [{"vulnerability": {"name": "CVE-1"}, "status": "fixed"}] * 3
        + [{"vulnerability": {"name": "CVE-2"}, "status": status}],
    }
    path = tmp_path / "vex.json"
    path.write_text(json.dumps(doc))
    kind = OpenVEXKind()
    result = outcome(kind, path)
    assert (result if result[0] == "error" else "ok") == whole_reference(
        tmp_path, kind, doc, "openvex-0.2.0.schema.json"
    )
    assert (result[0] == "ok") is (status == "not_affected")


@pytest.mark.parametrize("publisher", ["vendor", "bogus"])
def test_csaf_vulnerabilities_not_kept(tmp_path: Path, publisher: str) -> None:
    document = {
        "category": "csaf_vex",
        "csaf_version": "2.0",
        "publisher": {"category": publisher, "name": "ACME", "namespace": "https://acme.example"},
        "title": "t",
        "tracking": {
            "current_release_date": "2024-01-02T03:04:05Z",
            "id": "X-1",
            "initial_release_date": "2024-01-02T03:04:05Z",
            "revision_history": [{"date": "2024-01-02T03:04:05Z", "number": "1", "summary": "s"}],
            "status": "final",
            "version": "1",
            "generator": {"engine": {"name": "vexer", "version": "1.0"}},
        },
    }
    # vulnerabilities before the document: its category and tool are read after them
    doc = {"vulnerabilities": [{"cve": f"CVE-{i}"} for i in range(3)], "document": document}
    path = tmp_path / "csaf.json"
    path.write_text(json.dumps(doc))
    kind = CSAFKind("CSAF_VEX", "csaf_vex")
    result = outcome(kind, path)
    assert (result if result[0] == "error" else "ok") == whole_reference(
        tmp_path, kind, doc, "csaf-2.x.schema.json"
    )
    if publisher == "vendor":
        assert result[0] == "ok", result
        assert result[2][ANN_TOOL_NAME] == "vexer"


@pytest.mark.parametrize("broken", [False, True])
def test_sarif_results_checked_as_read(tmp_path: Path, broken: bool) -> None:
    results = [
        {"ruleId": f"R{i} (sast)" if i % 2 else f"R{i} (sca)", "message": {"text": "m"}} for i in range(4)
    ]
    if broken:
        del results[2]["message"]
    run = {"tool": {"driver": {"name": "Checkmarx", "version": "9"}}, "results": results}
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run, run]}
    path = tmp_path / "scan.sarif"
    path.write_text(json.dumps(doc))
    kind = SarifKind()
    result = outcome(kind, path)
    if broken:
        assert result == whole_reference(tmp_path, kind, doc, "sarif-2.1.0.schema.json")
        assert ".results[2]: missing required key 'message'" in result[1]
    else:
        assert result[0] == "ok" and result[2][ANN_SCAN_TYPES] == "sast,sca"
