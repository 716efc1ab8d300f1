"""Whatever bytes reach crafter's parsers, the command ends with a documented exit code and one line, never
an internal error: contracts, policy documents, material kinds (each kind forced on arbitrary bytes and on
mutated valid documents), state files and bare DSSE envelopes. (Bundles and trust roots:
test_bundle_properties.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crafter._internal.cli.main import main
from crafter._internal.state_store import decode_state
from crafter.errors import CrafterError, ExitCode
from tests.hostile.mutations import JSON, paths, replaced

DOCUMENTED = {int(code) for code in ExitCode}
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# YAML-looking text: indentation, keys, flow collections, anchors, tags, quotes.
YAML_ATOMS = st.sampled_from(
    [
        "\n",
        "  ",
        "- ",
        ": ",
        "name",
        "type",
        "materials",
        "spec",
        "kind: Policy",
        "apiVersion: v1",
        "{",
        "}",
        "[",
        "]",
        ", ",
        "&a ",
        "*a",
        "!!str ",
        "!tag ",
        '"',
        "'",
        "#",
        "---",
        "...",
        "|",
        ">",
        "? ",
        "0x1",
        "~",
        "schemaVersion: v1",
        "policies:",
        "ref: x",
        "with:",
        "\t",
        "\\",
        "%YAML 1.2",
        "<<: *a",
    ]
)
YAML_TEXT = st.lists(YAML_ATOMS | st.text(max_size=6), max_size=40).map("".join)
KINDS = [
    "SBOM_CYCLONEDX_JSON",
    "SBOM_SPDX_JSON",
    "JUNIT_XML",
    "OPENVEX",
    "CSAF_VEX",
    "SARIF",
    "HELM_CHART",
    "ATTESTATION",
    "JACOCO_XML",
    "COBERTURA_XML",
    "GITLEAKS_JSON",
    "SLSA_PROVENANCE",
    "CONTAINER_IMAGE",
    "EVIDENCE",
    "ZAP_DAST_ZIP",
    "GITLAB_SECURITY_REPORT",
    "BLACKDUCK_SCA_JSON",
    "TWISTCLI_SCAN_JSON",
]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    _, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    assert code in DOCUMENTED
    if code:
        assert len([line for line in err.splitlines() if line.startswith("Error: ")]) == 1, err
    return code, err


@pytest.fixture
def env(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _ = _run(capsys, "init", "--workflow", "release", "--project", "hello")
    assert code == 0
    return cli_env


@SETTINGS
@given(text=YAML_TEXT | JSON.map(json.dumps))
def test_contract_documents(cli_env: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    contract = cli_env / "c.yaml"
    contract.write_text(text)
    _run(capsys, "init", "--contract", str(contract))


@SETTINGS
@given(text=YAML_TEXT | JSON.map(json.dumps), data=st.binary(max_size=64))
def test_policy_documents(cli_env: Path, capsys: pytest.CaptureFixture[str], text: str, data: bytes) -> None:
    policy = cli_env / "p.yaml"
    policy.write_text(text)
    material = cli_env / "m.bin"
    material.write_bytes(data or b"x")
    _run(capsys, "policy", "eval", "--policy", str(policy), "--material", str(material))


@SETTINGS
@given(kind=st.sampled_from(KINDS), data=st.binary(max_size=400))
def test_material_kinds_on_any_bytes(
    env: Path, capsys: pytest.CaptureFixture[str], kind: str, data: bytes
) -> None:
    path = env / "material.bin"
    path.write_bytes(data)
    code, _ = _run(capsys, "add", "--kind", kind, str(path))
    assert code in (0, ExitCode.MATERIAL)


CYCLONEDX = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "version": 1,
    "metadata": {"component": {"type": "application", "name": "hello"}},
    "components": [
        {"type": "library", "name": "attrs", "version": "23.2.0", "purl": "pkg:pypi/attrs@23.2.0"}
    ],
}


@SETTINGS
@given(data=st.data())
def test_mutated_cyclonedx(env: Path, capsys: pytest.CaptureFixture[str], data: st.DataObject) -> None:
    where = data.draw(st.sampled_from(paths(CYCLONEDX)))
    path = env / "sbom.cdx.json"
    path.write_text(json.dumps(replaced(CYCLONEDX, where, data.draw(JSON))))
    for args in (["--kind", "SBOM_CYCLONEDX_JSON"], []):
        code, _ = _run(capsys, "add", *args, str(path))
        assert code in (0, ExitCode.MATERIAL)


@SETTINGS
@given(data=st.data())
def test_state_files(env: Path, data: st.DataObject) -> None:
    (state_file,) = (env / "state" / "attestations").glob("*.json")
    document = json.loads(state_file.read_bytes())
    where = data.draw(st.sampled_from(paths(document)))
    mutated = json.dumps(replaced(document, where, data.draw(JSON))).encode()
    for raw in (mutated, data.draw(st.binary(max_size=200))):
        error: CrafterError | None = None
        try:
            decode_state(raw, state_file)
        except CrafterError as exc:
            error = exc
        if error is not None:
            assert int(error.exit_code) == ExitCode.STATE and "\n" not in error.message


@SETTINGS
@given(document=JSON)
def test_bare_envelopes(cli_env: Path, capsys: pytest.CaptureFixture[str], document: Any) -> None:
    envelope = cli_env / "e.json"
    if isinstance(document, dict):
        document = {"payloadType": "application/vnd.in-toto+json", **document}
    envelope.write_text(json.dumps(document))
    _run(capsys, "verify", str(envelope), "--key", str(cli_env / "k.pub"))
