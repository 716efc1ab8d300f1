"""The JSON material kinds (SBOMs, security reports) against the reference fixtures.

Digests are sha256sum of the fixture files; where Chainloop's Go tests assert a digest, main component or
annotation (cyclonedxjson_test.go, spdxjson_test.go, csaf_test.go, sarif_test.go), the same value is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.materials import sbom
from crafter._internal.materials.interface import (
    ANN_SBOM_VULNS,
    ANN_SCAN_TYPES,
    ANN_SIZE,
    ANN_TOOL_NAME,
    ANN_TOOL_VERSION,
    ANN_TOOLS,
    SNIFF_BYTES,
    Crafted,
    CraftOptions,
    MainComponent,
    Sample,
)
from crafter._internal.materials.sbom import CycloneDXKind, SPDXKind
from crafter._internal.materials.security import CSAFKind, GitleaksKind, OpenVEXKind, SarifKind
from crafter.errors import MaterialError

OPTS = CraftOptions()
CDX = CycloneDXKind()
SPDX = SPDXKind()
CSAF_KINDS = {
    "CSAF_VEX": CSAFKind("CSAF_VEX", "csaf_vex"),
    "CSAF_INFORMATIONAL_ADVISORY": CSAFKind("CSAF_INFORMATIONAL_ADVISORY", "csaf_informational_advisory"),
    "CSAF_SECURITY_ADVISORY": CSAFKind("CSAF_SECURITY_ADVISORY", "csaf_security_advisory"),
    "CSAF_SECURITY_INCIDENT_RESPONSE": CSAFKind(
        "CSAF_SECURITY_INCIDENT_RESPONSE", "csaf_security_incident_response"
    ),
}


def craft(kind: Any, path: Path, options: CraftOptions = OPTS) -> Crafted:
    crafted: Crafted = kind.craft(str(path), options)
    assert crafted.kind == kind.kind
    assert crafted.filename == path.name
    assert crafted.size == path.stat().st_size
    assert crafted.annotations[ANN_SIZE] == str(path.stat().st_size)
    assert all(isinstance(v, str) for v in crafted.annotations.values())
    return crafted


def others(annotations: Any) -> dict[str, str]:
    return {k: v for k, v in annotations.items() if k != ANN_SIZE}


def write_json(tmp_path: Path, doc: object, name: str = "doc.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def error_of(kind: Any, path: Path, options: CraftOptions = OPTS) -> MaterialError:
    with pytest.raises(MaterialError) as info:
        kind.craft(str(path), options)
    message = info.value.message
    assert message.startswith(str(path))
    assert "\n" not in message
    return info.value


# --- CycloneDX -------------------------------------------------------------------------------------------

SYFT_0101 = {ANN_TOOL_NAME: "syft", ANN_TOOL_VERSION: "0.101.1", ANN_TOOLS: '["syft@0.101.1"]'}
CONTROL_PLANE = MainComponent("ghcr.io/chainloop-dev/chainloop/control-plane", "v0.55.0", "container")
TEST_APP = MainComponent("test-app", "1.0.0", "application")


@pytest.mark.parametrize(
    ("name", "digest", "main", "annotations"),
    [
        (
            "sbom.cyclonedx.json",
            "16159bb881eb4ab7eb5d8afc5350b0feeed1e31c0a268e355e74f9ccbe885e0c",
            MainComponent(".", "", "file"),
            {ANN_TOOL_NAME: "syft", ANN_TOOL_VERSION: "0.73.0", ANN_TOOLS: '["syft@0.73.0"]'},
        ),
        (
            "sbom.cyclonedx-1.5.json",
            "5ca3508f02893b0419b266927f66c7b9dd8b11dbea7faf7cdb9169df8f69d8e3",
            CONTROL_PLANE,
            SYFT_0101,
        ),
        (
            "sbom.cyclonedx-1.5-vulnerabilities.json",
            "16248b84917cee938826bd4de98b84b243715891524bf5e6ebfc33f2c499e60b",
            CONTROL_PLANE,
            {**SYFT_0101, ANN_SBOM_VULNS: "true"},
        ),
        (  # "cwes": null is tolerated, as Chainloop does
            "sbom.cyclonedx-1.5-null-cwes.json",
            "0b3aef5f26a3c28da82cbc510cee7633cd5b2cb264d3fa25eebbc10795546ffb",
            CONTROL_PLANE,
            {**SYFT_0101, ANN_SBOM_VULNS: "true"},
        ),
        (
            "sbom.cyclonedx-1.5-multiple-tools.json",
            "56f82c99fb4740f952296705ceb2ee0c5c3c6a3309b35373d542d58878d65cd3",
            TEST_APP,
            {
                ANN_TOOL_NAME: "Hub",
                ANN_TOOL_VERSION: "2025.4.2",
                ANN_TOOLS: '["Hub@2025.4.2","cyclonedx-core-java@5.0.5"]',
            },
        ),
        (
            "sbom.cyclonedx-1.4-empty-tool-version.json",
            "f0b15f1ae6cadb9f14e0071f14888bcbae03686580f8fc8dc0c838e6e96aaf0e",
            TEST_APP,
            {ANN_TOOL_NAME: "Hub", ANN_TOOLS: '["Hub"]'},
        ),
        (
            "sbom.cyclonedx-1.5-empty-tool-version.json",
            "4091c3b42ec5d368365f5b6fba80dd30cc3ddf84f795096e738b02f8e2716ce1",
            TEST_APP,
            {ANN_TOOL_NAME: "Hub", ANN_TOOLS: '["Hub"]'},
        ),
    ],
)
def test_cyclonedx_fixtures(
    materials_dir: Path, name: str, digest: str, main: MainComponent, annotations: dict[str, str]
) -> None:
    crafted = craft(CDX, materials_dir / name)
    assert crafted.digest == f"sha256:{digest}"
    assert crafted.main_component == main
    assert others(crafted.annotations) == annotations


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("random.json", 'bomFormat is not "CycloneDX"'),
        ("sbom-spdx-container.json", 'bomFormat is not "CycloneDX"'),
        ("simple.txt", "not valid JSON"),
        ("empty_array.json", "not a JSON object"),
        ("empty.txt", "file is empty"),
    ],
)
def test_cyclonedx_rejects_other_files(materials_dir: Path, name: str, reason: str) -> None:
    err = error_of(CDX, materials_dir / name)
    assert reason in err.message


def test_cyclonedx_identity_is_required_even_without_strict(materials_dir: Path) -> None:
    err = error_of(CDX, materials_dir / "random.json", CraftOptions(strict=False))
    assert "invalid cyclonedx sbom file" in err.message


def test_cyclonedx_invalid_schema_strict(materials_dir: Path) -> None:
    err = error_of(CDX, materials_dir / "sbom.cyclonedx-invalid-schema.json")
    # The unknown key is not quoted: a material may be any file (docs/security.md, "Error messages").
    assert (
        err.message
        == f"{materials_dir / 'sbom.cyclonedx-invalid-schema.json'}: invalid cyclonedx sbom file: "
        "unknown key at the top level"
    )
    assert "invalidField" not in err.message
    assert err.hint == "use --no-strict-validation to accept a parseable but invalid SBOM"


def test_cyclonedx_invalid_schema_not_strict_warns(materials_dir: Path) -> None:
    warnings: list[str] = []
    path = materials_dir / "sbom.cyclonedx-invalid-schema.json"
    crafted = craft(CDX, path, CraftOptions(strict=False, warn=warnings.append))
    assert crafted.digest == "sha256:35496789c312ce41c18d26a0aa20f0a9c30b5cd346edfe6f3ecf2e67b478d5e8"
    assert crafted.main_component is None
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{path}: accepted without strict validation")
    assert warnings[0].endswith("invalid CycloneDX SBOM: unknown key at the top level")


def minimal_bom(spec: str = "1.5", **extra: Any) -> dict[str, Any]:
    return {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1, **extra}


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"bomFormat": "CycloneDX", "version": 1}, "specVersion is missing or empty"),
        (minimal_bom(version=0), "version must be an integer >= 1"),
        (minimal_bom(version="1"), "version must be an integer >= 1"),
        (minimal_bom(version=True), "version must be an integer >= 1"),
        ({**minimal_bom(), "bomFormat": "cyclonedx"}, 'bomFormat is not "CycloneDX"'),
    ],
)
def test_cyclonedx_required_fields(tmp_path: Path, doc: dict[str, Any], reason: str) -> None:
    err = error_of(CDX, write_json(tmp_path, doc), CraftOptions(strict=False))
    assert reason in err.message


def test_cyclonedx_unsupported_spec_version(tmp_path: Path) -> None:
    # 1.1 was never defined in JSON: there is no schema to validate it with.
    path = write_json(tmp_path, minimal_bom("1.1"))
    err = error_of(CDX, path)
    assert "specVersion is not one supported for schema validation" in err.message
    assert "'1.1'" not in err.message
    assert "1.2, 1.3, 1.4, 1.5, 1.6" in err.message
    warnings: list[str] = []
    crafted = CDX.craft(str(path), CraftOptions(strict=False, warn=warnings.append))
    assert crafted.kind == "SBOM_CYCLONEDX_JSON"
    assert "1.2, 1.3, 1.4, 1.5, 1.6" in warnings[0]


@pytest.mark.parametrize("spec", ["1.4", "1.5", "1.6"])
def test_cyclonedx_validates_against_its_own_version(tmp_path: Path, spec: str) -> None:
    # "manufacturer" appeared in metadata with 1.6: valid there, an unknown property before.
    path = write_json(tmp_path, minimal_bom(spec, metadata={"manufacturer": {"name": "ACME"}}))
    if spec == "1.6":
        assert CDX.craft(str(path), OPTS).digest.startswith("sha256:")
    else:
        assert "$.metadata" in error_of(CDX, path).message


def test_cyclonedx_references_resolve_offline(tmp_path: Path) -> None:
    # The license id enum lives in spdx.schema.json and signatures in jsf-0.82.schema.json: both must resolve
    # from the schemas shipped with cyclonedx-python-lib (a bad value proves the referenced schema was used).
    licensed = minimal_bom(
        components=[{"type": "library", "name": "x", "licenses": [{"license": {"id": "MIT"}}]}]
    )
    assert CDX.craft(str(write_json(tmp_path, licensed)), OPTS).kind == "SBOM_CYCLONEDX_JSON"
    bad_license = minimal_bom(
        components=[{"type": "library", "name": "x", "licenses": [{"license": {"id": "NOPE"}}]}]
    )
    assert "$.components[0].licenses[0]" in error_of(CDX, write_json(tmp_path, bad_license, "l.json")).message
    bad_signature = minimal_bom(signature={"algorithm": "ES256"})  # no "value"
    assert "$.signature" in error_of(CDX, write_json(tmp_path, bad_signature, "s.json")).message


def test_cyclonedx_duplicate_components_are_tolerated(tmp_path: Path) -> None:
    component = {"type": "library", "name": "dup", "version": "1"}
    path = write_json(tmp_path, minimal_bom(components=[component, dict(component)]))
    assert CDX.craft(str(path), OPTS).kind == "SBOM_CYCLONEDX_JSON"


def test_cyclonedx_other_duplicates_are_not(tmp_path: Path) -> None:
    # uniqueItems outside the top-level components is enforced; object key order does not make items differ.
    doc = minimal_bom(dependencies=[{"ref": "a", "dependsOn": ["b"]}, {"dependsOn": ["b"], "ref": "a"}])
    err = error_of(CDX, write_json(tmp_path, doc))
    assert "$.dependencies: " in err.message
    assert err.message.endswith("$.dependencies: items are not unique")


@pytest.mark.parametrize(
    ("items", "unique"),
    [
        ([1, 1.0], False),  # JSON numbers compare by value
        ([1, True], True),  # a boolean is not a number
        ([0, False], True),
        ([{"a": [1, 2]}, {"a": [2, 1]}], True),  # arrays are ordered
        ([{"a": 1, "b": None}, {"b": None, "a": 1}], False),
        (["1", 1], True),
        ([None, "null"], True),
    ],
)
def test_unique_items_follows_json_equality(items: list[Any], unique: bool) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"uniqueItems": sbom._unique_items})
    assert validator({"uniqueItems": True}).is_valid(items) is unique
    assert (
        jsonschema.Draft7Validator({"uniqueItems": True}).is_valid(items) is unique
    )  # same as the reference


def test_cyclonedx_null_is_only_tolerated_for_cwes(tmp_path: Path) -> None:
    vuln = {"id": "CVE-1", "ratings": None}
    err = error_of(CDX, write_json(tmp_path, minimal_bom(vulnerabilities=[vuln])))
    assert "$.vulnerabilities[0].ratings" in err.message
    ok = write_json(tmp_path, minimal_bom(vulnerabilities=[{"id": "CVE-1", "cwes": None}]), "ok.json")
    assert CDX.craft(str(ok), OPTS).annotations[ANN_SBOM_VULNS] == "true"


def test_cyclonedx_container_name_and_trivy_digest(tmp_path: Path) -> None:
    component = {
        "type": "container",
        "name": "alpine:3.19",
        "properties": [
            {"name": "aquasecurity:trivy:ImageID", "value": "sha256:feed"},
            {"name": "aquasecurity:trivy:RepoDigest", "value": "alpine@sha256:" + "b" * 64},
        ],
    }
    crafted = CDX.craft(str(write_json(tmp_path, minimal_bom(metadata={"component": component}))), OPTS)
    assert crafted.main_component == MainComponent(
        "index.docker.io/library/alpine", "sha256:" + "b" * 64, "container"
    )


def test_cyclonedx_legacy_tools_and_go_escaping(tmp_path: Path) -> None:
    tools = [{"name": "a<b>&c", "version": "1"}, {"name": "", "version": "2"}, {"name": "z"}]
    crafted = CDX.craft(str(write_json(tmp_path, minimal_bom("1.4", metadata={"tools": tools}))), OPTS)
    # Go's json.Marshal escapes <, > and &; nameless tools are skipped.
    assert crafted.annotations[ANN_TOOLS] == '["a\\u003cb\\u003e\\u0026c@1","z"]'
    assert json.loads(crafted.annotations[ANN_TOOLS]) == ["a<b>&c@1", "z"]
    assert crafted.annotations[ANN_TOOL_NAME] == "a<b>&c"
    assert crafted.annotations[ANN_TOOL_VERSION] == "1"
    assert crafted.main_component is None


def test_cyclonedx_empty_vulnerabilities_still_flagged(tmp_path: Path) -> None:
    crafted = CDX.craft(str(write_json(tmp_path, minimal_bom(vulnerabilities=[]))), OPTS)
    assert crafted.annotations == {
        ANN_SBOM_VULNS: "true",
        ANN_SIZE: str((tmp_path / "doc.json").stat().st_size),
    }


def test_cyclonedx_validators_compiled_once() -> None:
    assert sbom._cyclonedx_validator("1.5") is sbom._cyclonedx_validator("1.5")
    assert sbom._cyclonedx_validator("1.5") is not sbom._cyclonedx_validator("1.6")


def test_import_does_not_load_jsonschema() -> None:
    code = (
        "import sys\n"
        "import crafter._internal.materials.basic, crafter._internal.materials.sbom, crafter._internal.materials.security\n"
        "print(sorted(m for m in ('jsonschema', 'referencing') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- SPDX ------------------------------------------------------------------------------------------------

SYFT_0100 = {ANN_TOOL_NAME: "syft", ANN_TOOL_VERSION: "0.100.0", ANN_TOOLS: '["syft@0.100.0"]'}
EXAMPLE_PACKAGE = MainComponent("example-package", "1.0.0", "")


@pytest.mark.parametrize(
    ("name", "digest", "main", "annotations"),
    [
        (
            "sbom-spdx-with-described-package.json",
            "c6aaa874345f9d309f1b7a3e1cdb00817c91326fcc8ede9507dce882b0efdf16",
            MainComponent("my-app", "1.2.3", "application"),
            SYFT_0100,
        ),
        (
            "sbom-spdx-container.json",
            "47df762774170904a7ab6bf0c565a2c525b60c3f92f9484744f9aafc631ce307",
            MainComponent(
                "ghcr.io/chainloop-dev/chainloop/control-plane", "sha256:abcdef1234567890", "container"
            ),
            {ANN_TOOL_NAME: "trivy", ANN_TOOL_VERSION: "0.50.0", ANN_TOOLS: '["trivy@0.50.0"]'},
        ),
        (
            "sbom-spdx-no-purpose.json",
            "140b55bcbdd447fee1c86d50d8459b05159bebcd80a8a8da4ea6475eeab2f487",
            MainComponent("my-lib", "2.0.0", ""),
            SYFT_0100,
        ),
        (  # a single package is the described one (spdx/tools-golang's rule)
            "sbom-spdx-multiple-tools.json",
            "c1a61566c7c0224ac02ad9cd21d90234e5a71de26971e33df2205c1a2eb319fc",
            EXAMPLE_PACKAGE,
            {
                ANN_TOOL_NAME: "spdxgen",
                ANN_TOOL_VERSION: "1.0.0",
                ANN_TOOLS: '["spdxgen@1.0.0","scanner@2.1.5"]',
            },
        ),
        (
            "sbom-spdx-no-tool-version.json",
            "c502fcd2944cc7aadf718af910a242cca0702387c27e740229d6e35cd1ccd52e",
            EXAMPLE_PACKAGE,
            {ANN_TOOL_NAME: "spdxgen", ANN_TOOLS: '["spdxgen"]'},
        ),
        (
            "sbom-spdx-empty-tool-name.json",
            "bbc5c2f78c7b05f2e80295e1bf827f24623394dafcd56a4a14f0591b835d28fa",
            EXAMPLE_PACKAGE,
            {},
        ),
    ],
)
def test_spdx_fixtures(
    materials_dir: Path, name: str, digest: str, main: MainComponent, annotations: dict[str, str]
) -> None:
    crafted = craft(SPDX, materials_dir / name)
    assert crafted.digest == f"sha256:{digest}"
    assert crafted.main_component == main
    assert others(crafted.annotations) == annotations


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("sbom.cyclonedx-1.5.json", 'spdxVersion is missing or does not start with "SPDX-"'),
        ("random.json", "spdxVersion is missing"),
        ("simple.txt", "invalid spdx sbom file: not valid JSON"),
        ("empty_array.json", "not a JSON object"),
    ],
)
def test_spdx_rejects_other_files(materials_dir: Path, name: str, reason: str) -> None:
    assert reason in error_of(SPDX, materials_dir / name).message


def spdx_doc(**extra: Any) -> dict[str, Any]:
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "doc",
        "documentNamespace": "https://example.com/doc",
        "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: my-tool-1.2-beta"]},
        **extra,
    }


def package(spdx_id: str, name: str, purpose: str | None = None) -> dict[str, Any]:
    pkg = {"SPDXID": spdx_id, "name": name, "versionInfo": "9", "downloadLocation": "NOASSERTION"}
    if purpose:
        pkg["primaryPackagePurpose"] = purpose
    return pkg


@pytest.mark.parametrize(
    ("drop", "where"),
    [
        ("creationInfo", "$: missing required key 'creationInfo'"),
        ("documentNamespace", "documentNamespace"),
    ],
)
def test_spdx_required_document_fields(tmp_path: Path, drop: str, where: str) -> None:
    doc = spdx_doc()
    del doc[drop]
    assert where in error_of(SPDX, write_json(tmp_path, doc)).message


def test_spdx_required_package_fields(tmp_path: Path) -> None:
    pkg = package("SPDXRef-a", "a")
    del pkg["downloadLocation"]
    err = error_of(SPDX, write_json(tmp_path, spdx_doc(packages=[pkg])))
    assert "$.packages[0]: missing required key 'downloadLocation'" in err.message


def test_spdx_spdx3_is_refused(tmp_path: Path) -> None:
    assert "$.spdxVersion" in error_of(SPDX, write_json(tmp_path, spdx_doc(spdxVersion="SPDX-3.0"))).message


def test_spdx_described_by_relationship_and_tool_split(tmp_path: Path) -> None:
    doc = spdx_doc(
        packages=[package("SPDXRef-lib", "lib"), package("SPDXRef-img", "nginx:1.25", "CONTAINER")],
        relationships=[
            {
                "spdxElementId": "SPDXRef-lib",
                "relatedSpdxElement": "SPDXRef-img",
                "relationshipType": "CONTAINS",
            },
            {
                "spdxElementId": "SPDXRef-img",
                "relatedSpdxElement": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBED_BY",
            },
        ],
    )
    crafted = SPDX.craft(str(write_json(tmp_path, doc)), OPTS)
    assert crafted.main_component == MainComponent("index.docker.io/library/nginx", "9", "container")
    # split at the first '-', as Chainloop does
    assert others(crafted.annotations) == {
        ANN_TOOL_NAME: "my",
        ANN_TOOL_VERSION: "tool-1.2-beta",
        ANN_TOOLS: '["my@tool-1.2-beta"]',
    }


def test_spdx_document_describes_skips_non_packages(tmp_path: Path) -> None:
    doc = spdx_doc(
        documentDescribes=["SPDXRef-file", "SPDXRef-b"],
        packages=[package("SPDXRef-a", "a"), package("SPDXRef-b", "b", "LIBRARY")],
    )
    assert SPDX.craft(str(write_json(tmp_path, doc)), OPTS).main_component == MainComponent(
        "b", "9", "library"
    )


def test_spdx_no_described_package(tmp_path: Path) -> None:
    doc = spdx_doc(packages=[package("SPDXRef-a", "a"), package("SPDXRef-b", "b")])
    assert SPDX.craft(str(write_json(tmp_path, doc)), OPTS).main_component is None


# --- SBOM auto-detection -----------------------------------------------------------------------------------


def test_sbom_sniff_on_fixtures(materials_dir: Path) -> None:
    cdx = Sample.of(str(materials_dir / "sbom.cyclonedx.json"))
    spdx = Sample.of(str(materials_dir / "sbom-spdx-container.json"))
    assert CDX.sniff(cdx)
    assert not CDX.sniff(spdx)
    assert SPDX.sniff(spdx)
    assert not SPDX.sniff(cdx)
    for other in ("random.json", "simple.txt", "report.sarif", "empty_array.json"):
        sample = Sample.of(str(materials_dir / other))
        assert not CDX.sniff(sample)
        assert not SPDX.sniff(sample)


def test_sniff_finds_spdx_with_sorted_keys(tmp_path: Path) -> None:
    # Sorted keys put spdxVersion last, far beyond the sniffed prefix.
    packages = [package(f"SPDXRef-p{i}", f"p{i}") for i in range(300)]
    path = tmp_path / "sorted.spdx.json"
    path.write_text(json.dumps(spdx_doc(packages=packages), sort_keys=True, indent=1))
    sample = Sample.of(str(path))
    assert sample.size > SNIFF_BYTES
    assert '"spdxVersion"' not in sample.text_prefix
    assert SPDX.sniff(sample)
    assert SPDX.craft(str(path), OPTS).kind == "SBOM_SPDX_JSON"


def test_sniff_finds_cyclonedx_with_components_first(tmp_path: Path) -> None:
    components = [{"bom-ref": f"c{i}", "type": "library", "name": f"c{i}"} for i in range(300)]
    doc = {"components": components, **minimal_bom()}
    path = write_json(tmp_path, doc)
    sample = Sample.of(str(path))
    assert '"bomFormat"' not in sample.text_prefix
    assert CDX.sniff(sample)
    assert CDX.craft(str(path), OPTS).kind == "SBOM_CYCLONEDX_JSON"


# --- SARIF -----------------------------------------------------------------------------------------------

SARIF = SarifKind()


def sarif_doc(**extra: Any) -> dict[str, Any]:
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "scanner", "version": "3.1"}}, "results": []}],
        **extra,
    }


def test_sarif_fixture(materials_dir: Path) -> None:
    crafted = craft(SARIF, materials_dir / "report.sarif")
    assert crafted.digest == "sha256:c4a63494f9289dd9fd44f841efb4f5b52765c2de6332f2d86e5f6c0340b40a95"
    assert others(crafted.annotations) == {ANN_TOOL_NAME: "tfsec"}
    assert SARIF.sniff(Sample.of(str(materials_dir / "report.sarif")))


def test_sarif_control_characters_are_invalid_json(materials_dir: Path) -> None:
    err = error_of(SARIF, materials_dir / "report-control-chars.sarif")
    assert "invalid SARIF file: not valid JSON" in err.message


def test_sarif_tool_version(tmp_path: Path) -> None:
    crafted = SARIF.craft(str(write_json(tmp_path, sarif_doc())), OPTS)
    assert others(crafted.annotations) == {ANN_TOOL_NAME: "scanner", ANN_TOOL_VERSION: "3.1"}


def test_sarif_empty_runs_have_no_tool(tmp_path: Path) -> None:
    crafted = SARIF.craft(str(write_json(tmp_path, sarif_doc(runs=[]))), OPTS)
    assert others(crafted.annotations) == {}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"$schema": ""}, "$.$schema: must not be empty"),
        ({"version": "2.0.0"}, '$.version: expected "2.1.0"'),
        ({"runs": {}}, "$.runs: expected array, got object"),
        ({"runs": [{"tool": {}}]}, "$.runs[0].tool: missing required key 'driver'"),
        (
            {"runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "r"}]}]},
            "$.runs[0].results[0]",
        ),
    ],
)
def test_sarif_structure(tmp_path: Path, change: dict[str, Any], where: str) -> None:
    assert where in error_of(SARIF, write_json(tmp_path, sarif_doc(**change))).message


def test_sarif_schema_key_is_required(tmp_path: Path) -> None:
    doc = sarif_doc()
    del doc["$schema"]
    assert "$: missing required key '$schema'" in error_of(SARIF, write_json(tmp_path, doc)).message


def test_sarif_checkmarx_scan_types(tmp_path: Path) -> None:
    results = [
        {"ruleId": rule, "message": {"text": "m"}}
        for rule in ("XSS (sast)", "Log4Shell (SCA)", "Open SG (kics)", "weird (unknown)", "no-engine")
    ]
    doc = sarif_doc(
        runs=[
            {"tool": {"driver": {"name": "Checkmarx One", "version": "1"}}, "results": results},
            {
                "tool": {"driver": {"name": "other"}},
                "results": [{"ruleId": "x (containers)", "message": {"id": "i"}}],
            },
        ]
    )
    crafted = SARIF.craft(str(write_json(tmp_path, doc)), OPTS)
    assert crafted.annotations[ANN_SCAN_TYPES] == "iac,sast,sca"
    assert crafted.annotations[ANN_TOOL_NAME] == "Checkmarx One"


def test_sarif_checkmarx_by_rule_tag(tmp_path: Path) -> None:
    driver = {"name": "cx", "rules": [{"id": "r", "properties": {"tags": ["Checkmarx"]}}]}
    doc = sarif_doc(
        runs=[{"tool": {"driver": driver}, "results": [{"ruleId": "r (sscs)", "message": {"text": "m"}}]}]
    )
    assert SARIF.craft(str(write_json(tmp_path, doc)), OPTS).annotations[ANN_SCAN_TYPES] == "supply-chain"


# --- OpenVEX ---------------------------------------------------------------------------------------------

OPENVEX = OpenVEXKind()


def test_openvex_fixture(materials_dir: Path) -> None:
    path = materials_dir / "openvex_v0.2.0.json"
    crafted = craft(OPENVEX, path)
    assert crafted.digest == "sha256:b4bd86d5855f94bcac0a92d3100ae7b85d050bd2e5fb9037a200e5f5f0b073a2"
    assert others(crafted.annotations) == {}
    assert OPENVEX.sniff(Sample.of(str(path)))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"@id": ""}, "$.@id"),
        ({"@context": "https://example.com/ns"}, "$.@context"),
        ({"statements": {}}, "$.statements"),
        ({"statements": [{"vulnerability": {"name": "CVE-1"}, "status": "maybe"}]}, "$.statements[0].status"),
    ],
)
def test_openvex_structure(materials_dir: Path, tmp_path: Path, change: dict[str, Any], where: str) -> None:
    doc = json.loads((materials_dir / "openvex_v0.2.0.json").read_text())
    doc.update(change)
    assert where in error_of(OPENVEX, write_json(tmp_path, doc)).message


@pytest.mark.parametrize("name", ["random.json", "sbom.cyclonedx-1.5.json", "simple.txt", "empty_array.json"])
def test_openvex_rejects_other_files(materials_dir: Path, name: str) -> None:
    assert "invalid OpenVEX file" in error_of(OPENVEX, materials_dir / name).message


# --- CSAF ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "digest", "tool"),
    [
        (
            "csaf_vex_v0.2.0.json",
            "CSAF_VEX",
            "d38f293e130fbb01d72b1df0b53a9eb1f0b50dd2053665db881d56ed9f4107c2",
            ("Secvisogram", "1.11.0"),
        ),
        (
            "csaf_security_advisory.json",
            "CSAF_SECURITY_ADVISORY",
            "f1b3429e94e2e3b470402fa436b89f432d5209c6c8a12164cfccc90ec2637324",
            ("Red Hat SDEngine", "3.4.3"),
        ),
        (
            "csaf_informational_advisory.json",
            "CSAF_INFORMATIONAL_ADVISORY",
            "015fc9b32648fec3f5b719ef52161aef130eba164b187289ea65d3fa4d7e2f2a",
            ("Red Hat SDEngine", "3.5.0"),
        ),
        (
            "csaf_security_incident_response.json",
            "CSAF_SECURITY_INCIDENT_RESPONSE",
            "0d43f36bf36f8c80c3c85df6c6903764ebea2464abd6e01b353c945d2c46e986",
            ("Red Hat SDEngine", "3.5.0"),
        ),
    ],
)
def test_csaf_fixtures(materials_dir: Path, name: str, kind: str, digest: str, tool: tuple[str, str]) -> None:
    path = materials_dir / name
    crafted = craft(CSAF_KINDS[kind], path)
    assert crafted.digest == f"sha256:{digest}"
    assert others(crafted.annotations) == {ANN_TOOL_NAME: tool[0], ANN_TOOL_VERSION: tool[1]}
    sample = Sample.of(str(path))
    # Only the kind of the file's category sniffs it (the category is visible in the prefix).
    assert [k for k, csaf in CSAF_KINDS.items() if csaf.sniff(sample)] == [kind]
    for other_kind, other in CSAF_KINDS.items():
        if other_kind != kind:
            assert (
                f"invalid CSAF category field in file, expected: {other.category}"
                in error_of(other, path).message
            )


def test_csaf_wrong_category(materials_dir: Path) -> None:
    path = materials_dir / "csaf_security_incident_response_wrong_category.json"
    for kind in CSAF_KINDS.values():
        err = error_of(kind, path)
        assert err.message == f"{path}: invalid CSAF category field in file, expected: {kind.category}"
        # "random" is no category crafter knows: it is not quoted (a material may be any file).
        assert err.hint == "document.category is not a category crafter has a kind for"


def csaf_doc(materials_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((materials_dir / "csaf_vex_v0.2.0.json").read_text())
    return doc


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (("category",), "$.document: missing required key 'category'"),
        (("publisher", "namespace"), "$.document.publisher: missing required key 'namespace'"),
        (("tracking", "revision_history"), "$.document.tracking: missing required key 'revision_history'"),
        (("csaf_version",), "missing required key 'csaf_version'"),
    ],
)
def test_csaf_required_fields(materials_dir: Path, tmp_path: Path, path: tuple[str, ...], where: str) -> None:
    doc = csaf_doc(materials_dir)
    parent = doc["document"]
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    assert where in error_of(CSAF_KINDS["CSAF_VEX"], write_json(tmp_path, doc)).message


def test_csaf_version_must_be_2x(materials_dir: Path, tmp_path: Path) -> None:
    doc = csaf_doc(materials_dir)
    doc["document"]["csaf_version"] = "1.2"
    assert "$.document.csaf_version" in error_of(CSAF_KINDS["CSAF_VEX"], write_json(tmp_path, doc)).message


def test_csaf_without_generator_has_no_tool(materials_dir: Path, tmp_path: Path) -> None:
    doc = csaf_doc(materials_dir)
    del doc["document"]["tracking"]["generator"]
    crafted = CSAF_KINDS["CSAF_VEX"].craft(str(write_json(tmp_path, doc)), OPTS)
    assert others(crafted.annotations) == {}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("random.json", "invalid CSAF file: no document object"),
        ("empty_array.json", "invalid CSAF file: not a JSON object"),
        ("sbom.cyclonedx-1.5.json", "no document object"),
        ("simple.txt", "not valid JSON"),
        ("empty.txt", "file is empty"),
    ],
)
def test_csaf_rejects_other_files(materials_dir: Path, name: str, reason: str) -> None:
    assert reason in error_of(CSAF_KINDS["CSAF_VEX"], materials_dir / name).message


# --- Gitleaks --------------------------------------------------------------------------------------------

GITLEAKS = GitleaksKind()


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        ("gitleaks-report-clean.json", "37517e5f3dc66819f61f5a7bb8ace1921282415f10551d2defa5c3eb0985b570"),
        ("empty_array.json", "37517e5f3dc66819f61f5a7bb8ace1921282415f10551d2defa5c3eb0985b570"),
        (
            "gitleaks-report-violations.json",
            "2f8c1997a9f86d01d3a921665ec6d53553b4d4793259d8f1e1d6dae01f930448",
        ),
    ],
)
def test_gitleaks_fixtures(materials_dir: Path, name: str, digest: str) -> None:
    path = materials_dir / name
    crafted = craft(GITLEAKS, path)
    assert crafted.digest == f"sha256:{digest}"
    assert others(crafted.annotations) == {ANN_TOOL_NAME: "gitleaks"}
    assert GITLEAKS.sniff(Sample.of(str(path)))


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"Fingerprint": "x"}, "not a JSON array of findings"),
        ([{"RuleID": "r"}], "'Fingerprint' field not found in the first finding"),
        ([{"Fingerprint": ""}], "'Fingerprint' field not found"),
        ([{"Fingerprint": "f"}, 3], "every finding must be a JSON object"),
    ],
)
def test_gitleaks_invalid(tmp_path: Path, doc: object, reason: str) -> None:
    assert reason in error_of(GITLEAKS, write_json(tmp_path, doc)).message


def test_gitleaks_sniff(materials_dir: Path, tmp_path: Path) -> None:
    assert not GITLEAKS.sniff(Sample.of(str(write_json(tmp_path, [1, 2]))))
    assert not GITLEAKS.sniff(Sample.of(str(materials_dir / "random.json")))
    assert GITLEAKS.sniff(Sample.of(str(write_json(tmp_path, [], "spaced.json"))))
