"""Valid documents are checked without python-jsonschema: jsonschema-rs decides, and python-jsonschema (whose
import can cost a second: it builds the rfc3987-syntax grammar where that package is installed) is loaded
only to describe an invalid document."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crafter._internal.schema_check import validate
from crafter.errors import ContractError

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"


def _loaded_after(code: str) -> list[str]:
    probe = (
        code
        + "\nimport sys\nprint(json.dumps(sorted(m for m in ('jsonschema', 'referencing') if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_valid_contract_policy_and_statement_need_no_python_jsonschema(tmp_path: Path) -> None:
    code = (
        "from pathlib import Path\n"
        "from crafter._internal.contract import load_contract\n"
        f"load_contract(Path({str(DEMO / 'contract.yaml')!r}))\n"
        "from crafter._internal.policies.loader import PolicyLoader\n"
        "from crafter._internal.resources import policies_dir\n"
        f"PolicyLoader(cwd=Path({str(tmp_path)!r}), builtin_dir=policies_dir(), cache_dir=None)"
        ".load_policy('builtin://sbom-min-components')\n"
    )
    assert _loaded_after(code) == []


def test_an_invalid_document_is_described_as_before() -> None:
    with pytest.raises(ContractError, match=r"c.yaml: .*materials"):
        validate(
            {"schemaVersion": "v1", "materials": "not a list"},
            {"schemaVersion": "v1", "materials": "not a list"},
            "c.yaml",
            "contract.schema.json",
            ContractError,
        )
