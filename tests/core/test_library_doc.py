"""The examples in docs/library.md run as written: the release produces a verifiable bundle, a failed policy
gate raises with the written bundle attached, and the bypass lets the push return."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import runpy
import sys
import textwrap
from pathlib import Path

import pytest

from crafter import Crafter
from crafter.errors import ExitCode
from crafter.signing.keys import generate_key_pair

ROOT = Path(__file__).resolve().parents[2]


def test_library_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "docs" / "library.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    script = tmp_path / "release.py"
    script.write_text(code.group(1))
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    first = runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "complete: True missing: ()" in out
    # the policy evaluations example, on the first one's PushResult
    evaluations = re.findall(r"\n### Policy evaluations\n.*?```python\n(.*?)```", text, re.S)
    assert len(evaluations) == 1
    runpy.run_path(str(_write(tmp_path / "evaluations.py", evaluations[0])), init_globals=first)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:1] == ["sbom-min-components on sbom passed"], lines
    assert "junit-all-passed on tests passed" in lines
    bundle = json.loads((tmp_path / "hello-1.0.0.sigstore.json").read_text())
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert not (tmp_path / ".crafter" / "attestations").exists() or not list(
        (tmp_path / ".crafter" / "attestations").glob("*.json")
    )
    # then the verifying example, on the bundle just written
    blocks = re.findall(r"\n```python\n(.*?)```", text, re.S)
    assert len(blocks) == 3 and "verify_bundle" in blocks[2]
    (tmp_path / "verify.py").write_text(blocks[2])
    runpy.run_path(str(tmp_path / "verify.py"), run_name="__main__")
    assert capsys.readouterr().out.splitlines() == [
        "verified: chainloop.dev/attestation/v0.2 ['chainloop.workflow.hello-release', 'hello-1.0.0.py']",
        "refused with exit code 12 verified: False",
        "checks: {'signature': 'passed', 'statement': 'passed', 'materials': 'failed'}",
    ]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _push_snippets() -> list[str]:
    """The indented examples in the push item of docs/library.md: the gate caught, then the bypass."""
    text = (ROOT / "docs" / "library.md").read_text()
    blocks = [textwrap.dedent(b) for b in re.findall(r"\n  ```python\n(.*?)  ```", text, re.S)]
    assert len(blocks) == 2 and "except PolicyGateError" in blocks[0] and "bypass_policy_check" in blocks[1]
    return blocks


def test_library_push_gate_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    caught, bypass = _push_snippets()
    demo = ROOT / "examples" / "demo"
    contract = (demo / "contract.yaml").read_text()
    assert '{licenses: "GPL-3.0-only, AGPL-3.0-only"}' in contract
    (tmp_path / "contract.yaml").write_text(  # the demo SBOM has an Apache-2.0 component: the gate fails
        contract.replace('{licenses: "GPL-3.0-only, AGPL-3.0-only"}', '{licenses: "Apache-2.0"}')
    )
    monkeypatch.chdir(tmp_path)
    key, _ = generate_key_pair(tmp_path / "release", b"s3cret")
    c = Crafter(state_dir=tmp_path / ".crafter")

    def start() -> None:
        c.init(contract=tmp_path / "contract.yaml", project="hello", version="1.0.0")
        c.add([str(demo / "sbom.cdx.json")], name="sbom")
        c.add([str(demo / "junit.xml")], name="tests")
        c.add([str(demo / "hello-1.0.0.py")], name="release-file")

    scope = {"c": c, "key": key, "Path": Path, "sys": sys}
    start()
    with pytest.raises(SystemExit) as exit_:
        exec(compile(caught, "library.md", "exec"), dict(scope))
    assert exit_.value.code == ExitCode.POLICY_GATE
    bundle = tmp_path / "hello-1.0.0.sigstore.json"
    payload = base64.b64decode(json.loads(bundle.read_text())["dsseEnvelope"]["payload"])
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "blocked by cyclonedx-banned-licenses",
        f"bundle kept: hello-1.0.0.sigstore.json sha256:{hashlib.sha256(payload).hexdigest()}",
    ]
    assert c.list() == []  # the blocked push discarded the attestation

    bundle.unlink()
    start()
    exec(compile(bypass, "library.md", "exec"), dict(scope))
    assert capsys.readouterr().out.splitlines() == ["bypassed: cyclonedx-banned-licenses", "recorded: True"]
    predicate = json.loads(base64.b64decode(json.loads(bundle.read_text())["dsseEnvelope"]["payload"]))
    assert predicate["predicate"]["policyBlockBypassEnabled"] is True
