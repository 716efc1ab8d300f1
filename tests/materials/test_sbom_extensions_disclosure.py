"""The SBOM kinds Chainloop lacks, and SPDX 3, on hostile files: whatever the file holds, ``crafter add --kind``
fails with one line naming the file and the kind of problem, exit code 6, quoting nothing of the file
(the rules and helpers of tests/hostile/test_disclosure.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crafter.errors import ExitCode
from tests.conftest import run_cli
from tests.hostile.test_disclosure import MARKER, MATERIAL_SECRETS, assert_discloses_nothing, one_line

CDX_NS = "http://cyclonedx.org/schema/bom/1.6"
SHAPED = {
    # Element names, attribute values and text where the kinds look for their own.
    "shaped.cdx.xml": (
        f'<bom xmlns="{CDX_NS}" version="1"><metadata><component type="{MARKER}"><name>{MARKER}</name>'
        f"</component></metadata><components><{MARKER}>{MARKER}</{MARKER}></components></bom>\n"
    ).encode(),
    "entity.cdx.xml": (
        f'<?xml version="1.0"?>\n<!DOCTYPE bom [<!ENTITY {MARKER} SYSTEM "file:///etc/shadow">]>\n'
        f'<bom xmlns="{CDX_NS}" version="1"><components>&{MARKER};</components></bom>\n'
    ).encode(),
    "shaped.spdx": (
        f"SPDXVersion: SPDX-2.3\nDataLicense: {MARKER}\nSPDXID: SPDXRef-{MARKER}_x\nDocumentName: {MARKER}\n"
        f"{MARKER}: {MARKER}\n"
    ).encode(),
    "shaped.spdx3.json": json.dumps(
        {
            "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
            "@graph": [
                {"type": f"software_{MARKER}", "spdxId": f"https://example.com/{MARKER}", "name": MARKER}
            ],
        }
    ).encode(),
}
FILES = {**MATERIAL_SECRETS, **SHAPED}


@pytest.mark.parametrize("kind", ["SBOM_CYCLONEDX_XML", "SBOM_SPDX_TAG_VALUE", "SBOM_SPDX_JSON"])
@pytest.mark.parametrize("name", sorted(FILES))
def test_hostile_files_are_one_line_errors_quoting_nothing(
    name: str, kind: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "init")[0] == ExitCode.OK
    (cli_env / "work" / name).write_bytes(FILES[name])
    code, out, err = run_cli(capsys, "add", "--kind", kind, name)
    assert code == ExitCode.MATERIAL
    one_line(err, naming=name, says=r"invalid|not well-formed|refused")
    assert_discloses_nothing(FILES[name], out, err)
