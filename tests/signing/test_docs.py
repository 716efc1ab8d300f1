"""docs/signing.md: its example bundle verifies, and its verification snippets run as printed."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from crafter._internal.signing import envelope_from_bundle, keyid_of, read_bundle, verify_envelope
from crafter.signing.keys import public_key_from_pem
from tests.signing._helpers import INTEROP, require_node

DOC = Path(__file__).resolve().parents[2] / "docs" / "signing.md"


def _block_after(marker: str) -> str:
    """The fenced code block that follows ``marker`` (an HTML comment or a heading) in the page."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(marker)
    match = re.compile(r"```[a-z]*\n(.*?)```", re.S).search(text, start)
    assert match is not None, marker
    return match.group(1)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The page's example bundle and key, written where the snippets expect them."""
    (tmp_path / "attestation.sigstore.json").write_text(_block_after("<!-- example-bundle -->"))
    (tmp_path / "release.pub").write_text(_block_after("<!-- example-public-key -->"))
    return tmp_path


def test_example_bundle_verifies(example: Path) -> None:
    bundle = read_bundle(example / "attestation.sigstore.json")
    public_key = public_key_from_pem(example / "release.pub")
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == keyid_of(public_key)
    payload = verify_envelope(envelope_from_bundle(bundle), public_key)
    assert json.loads(payload)["_type"] == "https://in-toto.io/Statement/v1"
    # The page says the PAE of its example starts like this.
    assert b"DSSEv1 28 application/vnd.in-toto+json %d {" % len(payload) in DOC.read_bytes()


def test_python_snippet_runs_as_printed(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(example)
    exec(compile(_block_after("### Python, with securesystemslib"), "docs/signing.md", "exec"), {})
    assert capsys.readouterr().out == "VERIFIED https://example.com/hello/v1\n"


@pytest.mark.interop
def test_js_snippet_runs_as_printed(example: Path) -> None:
    node = require_node()
    # ESM resolves packages from the script's own directory upwards, so give it one.
    (example / "node_modules").symlink_to(INTEROP / "node_modules")
    script = example / "verify.mjs"
    script.write_text(_block_after("### JavaScript, with npm @sigstore/verify"))
    args = [node, str(script), "attestation.sigstore.json", "release.pub"]
    result = subprocess.run(args, cwd=example, capture_output=True, text=True, timeout=10, check=False)
    assert (result.returncode, result.stdout) == (0, "VERIFIED\n"), result.stderr
