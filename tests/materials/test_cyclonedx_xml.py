"""SBOM_CYCLONEDX_XML: CycloneDX 1.1-1.7 XML written by cyclonedx-python-lib (tests/materials/fixtures/sboms),
validated against CycloneDX's XSDs, recorded with the JSON kind's annotations, read by policies as JSON."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from crafter._internal.crafting_state import Material
from crafter._internal.materials.cyclonedx_xml import CycloneDXXMLKind
from crafter._internal.materials.detect import detect_kind
from crafter._internal.materials.interface import (
    ANN_SBOM_VULNS,
    ANN_SIZE,
    CraftOptions,
    MainComponent,
    Sample,
)
from crafter._internal.materials.registry import default_registry
from crafter._internal.materials.sbom import CycloneDXKind
from crafter._internal.policies.inputs import material_input
from crafter.errors import ExitCode, MaterialError, PolicyError
from tests.conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "sboms"
KIND = CycloneDXXMLKind()
VERSIONS = ("1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
APP = MainComponent(name="acme-app", version="1.2.3", kind="application")


def fixture(version: str) -> Path:
    return FIXTURES / f"cyclonedx-{version}.xml"


def write(tmp_path: Path, text: str, name: str = "bom.xml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


STRICT = CraftOptions()


def refused(path: str, options: CraftOptions = STRICT) -> str:
    with pytest.raises(MaterialError) as info:
        KIND.craft(path, options)
    message = info.value.message
    assert message.startswith(f"{path}: invalid cyclonedx xml sbom file: ")
    assert "\n" not in message
    return message


@pytest.mark.parametrize("version", VERSIONS)
def test_each_version_is_recorded_with_its_main_component_and_tools(version: str) -> None:
    path = fixture(version)
    crafted = KIND.craft(str(path), CraftOptions())
    assert crafted.kind == "SBOM_CYCLONEDX_XML"
    assert crafted.digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert crafted.filename == path.name
    assert crafted.annotations[ANN_SIZE] == str(path.stat().st_size)
    if version == "1.1":  # no metadata before 1.2: nothing names a main component or a tool
        assert crafted.main_component is None
        assert set(crafted.annotations) == {ANN_SIZE}
    else:
        assert crafted.main_component == APP
        assert crafted.annotations["chainloop.material.tools"] == '["syft@1.0.0"]'
    assert KIND.sniff(Sample.of(str(path)))


@pytest.mark.parametrize("version", ["1.4", "1.5", "1.6"])
def test_annotations_are_the_json_kinds_for_the_same_document(version: str, tmp_path: Path) -> None:
    as_json = tmp_path / "bom.json"
    as_json.write_text(json.dumps(KIND.policy_input(str(fixture(version)), "sbom")))
    from_xml = KIND.craft(str(fixture(version)), CraftOptions())
    from_json = CycloneDXKind().craft(str(as_json), CraftOptions())
    assert from_xml.main_component == from_json.main_component
    drop_size = lambda a: {k: v for k, v in a.items() if k != ANN_SIZE}  # noqa: E731
    assert drop_size(from_xml.annotations) == drop_size(from_json.annotations)


def test_container_main_component_is_normalised_and_vulnerabilities_flagged() -> None:
    crafted = KIND.craft(str(FIXTURES / "cyclonedx-1.6-container.xml"), CraftOptions())
    assert crafted.main_component == MainComponent(
        name="index.docker.io/library/nginx", version="sha256:" + "a" * 64, kind="container"
    )
    assert crafted.annotations[ANN_SBOM_VULNS] == "true"


@pytest.mark.parametrize("version", VERSIONS)
def test_policies_read_the_json_form_and_it_depends_only_on_the_file(version: str) -> None:
    doc = KIND.policy_input(str(fixture(version)), "sbom")
    assert doc["bomFormat"] == "CycloneDX"
    assert doc["specVersion"] == ("1.2" if version == "1.1" else version)  # JSON starts at 1.2
    assert doc["serialNumber"] == "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    assert [c["name"] for c in doc["components"]] == ["requests"]
    assert doc["components"][0]["purl"] == "pkg:pypi/requests@2.31.0"
    assert KIND.policy_input(str(fixture(version)), "sbom") == doc
    if version == "1.1":  # the library's invented timestamp is not passed on
        assert "metadata" not in doc
    else:
        assert doc["metadata"]["timestamp"].startswith("2026-01-02T03:04:05")
        assert doc["metadata"]["component"]["name"] == "acme-app"


def test_the_policy_input_document_through_the_policy_layer() -> None:
    path = fixture("1.6")
    material = Material(name="sbom", kind="SBOM_CYCLONEDX_XML", added_at="t", digest="sha256:" + "a" * 64)
    doc = json.loads(material_input(material, str(path)))
    assert doc["bomFormat"] == "CycloneDX" and doc["metadata"]["component"]["name"] == "acme-app"


def test_a_file_that_is_no_longer_cyclonedx_is_a_policy_or_material_error(tmp_path: Path) -> None:
    path = write(tmp_path, "<bom><unclosed></bom>")
    with pytest.raises((MaterialError, PolicyError)):
        KIND.policy_input(path, "sbom")


# --- invalid documents -----------------------------------------------------------------------------------


def test_schema_violation_is_an_error_when_strict_a_warning_otherwise(tmp_path: Path) -> None:
    text = (
        fixture("1.6")
        .read_text()
        .replace("<name>requests</name>", "<name>requests</name><bogus>secret</bogus>")
    )
    path = write(tmp_path, text)
    message = refused(path)
    assert "line 20" in message and "not expected" in message
    assert "bogus" not in message and "secret" not in message  # never quotes the document
    warnings: list[str] = []
    crafted = KIND.craft(path, CraftOptions(strict=False, warn=warnings.append))
    assert crafted.main_component == APP
    assert len(warnings) == 1 and "accepted without strict validation" in warnings[0]


def test_enumeration_violation_does_not_quote_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, fixture("1.5").read_text().replace('type="library"', 'type="gizmo"'))
    message = refused(path)
    assert "not one of those the schema allows" in message and "gizmo" not in message


def test_a_version_without_a_schema_is_refused_when_strict(tmp_path: Path) -> None:
    path = write(tmp_path, fixture("1.6").read_text().replace("schema/bom/1.6", "schema/bom/1.8"))
    assert "1.8 is not a version supported" in refused(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<bom xmlns='http://cyclonedx.org/schema/bom/1.6' version='1'><components>", "not well-formed XML"),
        ("<testsuites><testsuite/></testsuites>", "root element is not <bom>"),
        ("<bom xmlns='http://example.com/other' version='1'/>", "root element is not <bom>"),
        (
            "<?xml version='1.0'?><!DOCTYPE bom [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>"
            "<bom xmlns='http://cyclonedx.org/schema/bom/1.6' version='1'><components>&xxe;</components></bom>",
            "entity declarations are not allowed",
        ),
        (
            "<?xml version='1.0'?><!DOCTYPE bom [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;'>"
            "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;'>]>"
            "<bom xmlns='http://cyclonedx.org/schema/bom/1.6' version='1'><metadata>&c;</metadata></bom>",
            "entity declarations are not allowed",
        ),
    ],
    ids=["malformed", "junit", "other-namespace", "xxe", "billion-laughs"],
)
def test_unsafe_or_foreign_xml_is_refused_cleanly(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    assert problem in refused(path)
    assert problem in refused(path, CraftOptions(strict=False))  # fatal either way


def test_detection_picks_cyclonedx_xml_and_leaves_invalid_ones_to_artifact(tmp_path: Path) -> None:
    registry = default_registry()
    for version in VERSIONS:
        assert detect_kind(str(fixture(version)), registry, CraftOptions()).kind == "SBOM_CYCLONEDX_XML"
    invalid = write(tmp_path, fixture("1.5").read_text().replace('type="library"', 'type="gizmo"'))
    assert detect_kind(invalid, registry, CraftOptions(strict=False)).kind == "ARTIFACT"
    junit = write(tmp_path, "<testsuite name='s' tests='1'><testcase name='t'/></testsuite>", "junit.xml")
    assert not KIND.sniff(Sample.of(junit))


def test_cli_bad_input_is_one_line_exit_code_6(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(cli_env, fixture("1.5").read_text().replace('type="library"', 'type="gizmo"'))
    assert run_cli(capsys, "init", "--project", "p")[0] == 0
    code, _, err = run_cli(capsys, "add", "--kind", "SBOM_CYCLONEDX_XML", "--value", bad)
    assert code == ExitCode.MATERIAL == 6
    assert f"{bad}: invalid cyclonedx xml sbom file: line " in err
    code, out, err = run_cli(capsys, "add", "--value", str(fixture("1.6")))
    assert code == 0, err
    assert "SBOM_CYCLONEDX_XML" in out + err


def test_the_json_form_keeps_what_the_file_says_and_adds_nothing(tmp_path: Path) -> None:
    # A dependency on a component the BOM does not list is valid XML; the library's outputter would refuse
    # it, and would add a dependency entry for every component: the JSON form does neither.
    text = fixture("1.6").read_text().replace('<dependency ref="req"/>\n  </dependencies>', "</dependencies>")
    text = text.replace('<dependency ref="req"/>', '<dependency ref="elsewhere"/>')
    path = write(tmp_path, text)
    KIND.craft(path, STRICT)
    doc = KIND.policy_input(path, "sbom")
    assert doc["dependencies"] == [{"ref": "acme", "dependsOn": ["elsewhere"]}]
    assert "dependencies" not in KIND.policy_input(str(fixture("1.1")), "sbom")


def test_extension_elements_are_valid_and_left_out_of_the_json_form(tmp_path: Path) -> None:
    extension = '<ext:build xmlns:ext="https://example.com/ext">ci-42</ext:build>'
    purl = "<purl>pkg:pypi/requests@2.31.0</purl>"
    path = write(tmp_path, fixture("1.6").read_text().replace(purl, purl + extension))
    assert KIND.craft(path, STRICT).main_component == APP
    (component,) = KIND.policy_input(path, "sbom")["components"]
    assert "ci-42" not in json.dumps(component)


def test_policies_do_not_read_a_file_beyond_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    from crafter._internal.materials import fileio

    monkeypatch.setattr(fileio, "MAX_PARSED_BYTES", 100)
    with pytest.raises(PolicyError, match="larger than 100 bytes, too large for policies to read"):
        KIND.policy_input(str(fixture("1.6")), "sbom")


def test_only_what_is_recorded_is_converted_at_add(tmp_path: Path) -> None:
    """add converts the metadata (what it records); the whole JSON form is made when a policy reads it, so a
    non-strict document whose components cyclonedx-python-lib cannot convert is recorded, and a policy on it
    fails with one line."""
    path = write(tmp_path, fixture("1.5").read_text().replace('type="library"', 'type="gizmo"'))
    crafted = KIND.craft(path, CraftOptions(strict=False, warn=lambda _: None))
    assert crafted.main_component == APP
    material = Material(name="sbom", kind=KIND.kind, added_at="t", digest=crafted.digest)
    with pytest.raises(MaterialError, match=r"cannot be converted to CycloneDX JSON \(") as caught:
        material_input(material, path)
    assert "gizmo" not in caught.value.message
    # A valid document: the policy input is the whole JSON form, components included.
    doc = json.loads(material_input(material, str(fixture("1.5"))))
    assert [c["name"] for c in doc["components"]] == ["requests"]
