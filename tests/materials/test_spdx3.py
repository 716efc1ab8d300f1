"""SPDX 3.0 JSON-LD recorded as SBOM_SPDX_JSON: a fixture written by spdx-python-model
(tests/materials/fixtures/sboms), validated by loading it with the same model."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.materials.detect import detect_kind
from crafter._internal.materials.interface import CraftOptions, MainComponent, Sample
from crafter._internal.materials.registry import default_registry
from crafter._internal.materials.sbom import SPDXKind
from crafter._internal.materials.spdx3 import ANN_SBOM_SPEC_VERSION
from crafter.errors import ExitCode, MaterialError
from tests.conftest import run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "sboms" / "spdx-3.0.1.spdx3.json"
KIND = SPDXKind()
STRICT = CraftOptions()


def document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(FIXTURE.read_text())
    return doc


def element(doc: dict[str, Any], suffix: str) -> dict[str, Any]:
    return next(e for e in doc["@graph"] if str(e.get("spdxId", "")).endswith(suffix))


def write(tmp_path: Path, doc: dict[str, Any]) -> str:
    path = tmp_path / "sbom.spdx3.json"
    path.write_text(json.dumps(doc))
    return str(path)


def refused(path: str, options: CraftOptions = STRICT) -> str:
    with pytest.raises(MaterialError) as info:
        KIND.craft(path, options)
    message = info.value.message
    assert message.startswith(f"{path}: invalid spdx 3 sbom file: ")
    assert "\n" not in message
    return message


def test_recorded_as_spdx_json_with_version_main_element_and_tools() -> None:
    crafted = KIND.craft(str(FIXTURE), STRICT)
    assert crafted.kind == "SBOM_SPDX_JSON"
    assert crafted.digest == "sha256:" + hashlib.sha256(FIXTURE.read_bytes()).hexdigest()
    assert crafted.main_component == MainComponent(name="acme-app", version="1.2.3", kind="application")
    assert crafted.annotations[ANN_SBOM_SPEC_VERSION] == "3.0.1"
    assert crafted.annotations["chainloop.material.tools"] == '["syft"]'
    assert KIND.sniff(Sample.of(str(FIXTURE)))


def test_policies_read_the_json_ld_document_as_it_is() -> None:
    assert KIND.policy_input(str(FIXTURE), "sbom") == document()


def test_a_package_as_the_documents_own_root_is_the_main_element(tmp_path: Path) -> None:
    doc = document()
    element(doc, "/document")["rootElement"] = [element(doc, "/requests")["spdxId"]]
    crafted = KIND.craft(write(tmp_path, doc), STRICT)
    assert crafted.main_component == MainComponent(name="requests", version="2.31.0", kind="")


def test_missing_required_property_is_an_error_when_strict_a_warning_otherwise(tmp_path: Path) -> None:
    doc = document()
    del element(doc, "/requests")["creationInfo"]
    path = write(tmp_path, doc)
    assert "property creationInfo of a software_Package is required" in refused(path)
    warnings: list[str] = []
    crafted = KIND.craft(path, CraftOptions(strict=False, warn=warnings.append))
    assert crafted.main_component is not None
    assert len(warnings) == 1 and "accepted without strict validation" in warnings[0]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: element(d, "/app").update(software_primaryPurpose="secret-purpose"),
            "does not load as SPDX 3",
        ),
        (lambda d: element(d, "/app").update(type="software_SecretType"), "does not load as SPDX 3"),
        (
            lambda d: d.update({"@context": "https://spdx.org/rdf/3.0.0/spdx-context.jsonld"}),
            "SPDX 3.0.0 is not supported (supported: 3.0.1)",
        ),
    ],
    ids=["bad-enum", "unknown-type", "wrong-version"],
)
def test_documents_the_model_cannot_load_are_refused_either_way(
    tmp_path: Path, change: Any, problem: str
) -> None:
    doc = copy.deepcopy(document())
    change(doc)
    path = write(tmp_path, doc)
    message = refused(path)
    assert problem in message and "secret" not in message.lower()
    assert problem in refused(path, CraftOptions(strict=False))


def test_spdx2_json_is_unchanged_by_the_dispatch(tmp_path: Path) -> None:
    doc = {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "@context": "not spdx 3"}
    with pytest.raises(MaterialError, match="spdx sbom file"):
        KIND.craft(write(tmp_path, doc), STRICT)


def test_detected_as_spdx_json_even_without_spdx2_markers(tmp_path: Path) -> None:
    assert detect_kind(str(FIXTURE), default_registry(), STRICT).kind == "SBOM_SPDX_JSON"
    doc = document()
    del element(doc, "/requests")["creationInfo"]
    assert detect_kind(write(tmp_path, doc), default_registry(), STRICT).kind == "ARTIFACT"


def test_cli_bad_input_is_one_line_exit_code_6(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = document()
    element(doc, "/app")["type"] = "software_SecretType"
    bad = write(cli_env, doc)
    assert run_cli(capsys, "init", "--project", "p")[0] == 0
    code, _, err = run_cli(capsys, "add", "--kind", "SBOM_SPDX_JSON", "--value", bad)
    assert code == ExitCode.MATERIAL == 6
    assert f"{bad}: invalid spdx 3 sbom file: does not load as SPDX 3" in err
