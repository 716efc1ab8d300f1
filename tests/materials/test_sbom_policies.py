"""One policy serves an SBOM in JSON and in the crafter extension kinds: the same Rego reads the JSON form of
CycloneDX XML and SPDX tag-value materials (a policy names the kinds it applies to, so it lists both)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crafter._internal.materials.cyclonedx_xml import CycloneDXXMLKind
from tests.conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "sboms"
CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: release}
spec:
  materials:
    - {name: cdx-json, type: SBOM_CYCLONEDX_JSON}
    - {name: cdx-xml, type: SBOM_CYCLONEDX_XML}
    - {name: spdx-tv, type: SBOM_SPDX_TAG_VALUE}
  policies:
    materials:
      - ref: ./cdx-policy.yaml
      - ref: ./spdx-policy.yaml
"""
POLICY = """\
apiVersion: chainloop.dev/v1
kind: Policy
metadata: {{name: {name}}}
spec:
  policies:
    - {{kind: {json_kind}, ref: {rego}}}
    - {{kind: {other_kind}, ref: {rego}}}
"""
CDX_REGO = """\
package main

import rego.v1

result := {"skipped": false, "violations": violations, "skip_reason": ""}

violations contains msg if {
    some c in input.components
    msg := sprintf("%s %s uses %s", [input.bomFormat, input.metadata.component.name, c.purl])
}
"""
SPDX_REGO = """\
package main

import rego.v1

result := {"skipped": false, "violations": violations, "skip_reason": ""}

violations contains msg if {
    some p in input.packages
    p.name == "requests"
    msg := sprintf("%s lists %s %s", [input.spdxVersion, p.name, p.versionInfo])
}
"""


def test_one_rego_reads_json_and_xml_alike(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_env / "contract.yaml").write_text(CONTRACT)
    for name, json_kind, other_kind, rego, text in [
        ("cdx", "SBOM_CYCLONEDX_JSON", "SBOM_CYCLONEDX_XML", "cdx.rego", CDX_REGO),
        ("spdx", "SBOM_SPDX_JSON", "SBOM_SPDX_TAG_VALUE", "spdx.rego", SPDX_REGO),
    ]:
        policy = POLICY.format(name=name, json_kind=json_kind, other_kind=other_kind, rego=rego)
        (cli_env / f"{name}-policy.yaml").write_text(policy)
        (cli_env / rego).write_text(text)
    xml = FIXTURES / "cyclonedx-1.6.xml"
    as_json = cli_env / "bom.json"
    as_json.write_text(json.dumps(CycloneDXXMLKind().policy_input(str(xml), "sbom")))
    code, _, err = run_cli(capsys, "init", "--contract", str(cli_env / "contract.yaml"), "--project", "p")
    assert code == 0, err
    expected = "CycloneDX acme-app uses pkg:pypi/requests@2.31.0"
    for name, path in [("cdx-json", as_json), ("cdx-xml", xml)]:
        code, out, err = run_cli(capsys, "add", "--name", name, "--value", str(path))
        assert code == 0, err
        assert f"policy cdx on {name}: 1 violation(s)" in out and expected in out
    code, out, err = run_cli(capsys, "add", "--name", "spdx-tv", "--value", str(FIXTURES / "spdx-2.3.spdx"))
    assert code == 0, err
    assert "policy spdx on spdx-tv: 1 violation(s)" in out and "SPDX-2.3 lists requests 2.31.0" in out
