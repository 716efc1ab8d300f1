"""The README's commands and example work as written: the Python example signs and verifies the demo release,
the test command goes on without npm, and ``.ci/run`` runs exactly the README's test command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from crafter.signing.keys import public_key_from_pem
from crafter.verify import verify_bundle
from tests.conftest import ROOT, RUNNER_MARKERS

README = ROOT / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", README.read_text(), re.S | re.M)


def _test_command() -> str:
    commands = [b.strip() for b in _blocks("sh") if "pytest" in b]
    assert len(commands) == 1, commands
    assert "\n" not in commands[0], "the test command is one line"
    return commands[0]


def test_from_python_example_signs_and_verifies(tmp_path: Path) -> None:
    (code,) = [b for b in _blocks("python") if "Crafter(" in b]
    script = tmp_path / "example.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items() if k not in RUNNER_MARKERS and not k.startswith("CRAFTER_")}
    env["TMPDIR"] = str(tmp_path)  # where the example's tempfile.mkdtemp() writes
    proc = subprocess.run(  # from the repository root, as the README says
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (out,) = [p for p in tmp_path.iterdir() if p.name.startswith("crafter-")]
    bundle = out / "hello-1.0.0.sigstore.json"
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"signed: {bundle} sha256:")
    assert lines[1] == "verified: True {'signature': 'passed', 'statement': 'passed', 'materials': 'passed'}"

    # checked again here: signed by the generated key, over the demo's released file, every material recorded
    demo = ROOT / "examples" / "demo"
    result = verify_bundle(
        bundle,
        public_key=public_key_from_pem(out / "release.pub"),
        materials=[demo / "hello-1.0.0.py"],
        contract=demo / "contract.yaml",
    )
    assert result.verified
    assert lines[0].endswith(result.payload_digest)
    recorded = {
        m["annotations"]["chainloop.material.name"] for m in result.statement["predicate"]["materials"]
    }
    assert recorded == {"sbom", "tests", "release-file"}


def test_ci_runs_the_readme_test_command() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    header = lines.index('echo "== tests (the README\'s test command)"')
    assert lines[header + 1] == _test_command()


def test_test_command_goes_on_without_npm(tmp_path: Path) -> None:
    """The npm step of the test command, run where no npm is on PATH, reports it and lets the command go on."""
    command = _test_command()
    match = re.search(r"\{ \(cd tests/interop && npm ci [^)]*\) \|\| echo (\"[^\"]*\"); \}", command)
    assert match is not None, command
    bash = shutil.which("bash")
    assert bash is not None
    proc = subprocess.run(
        [bash, "-c", match.group(0) + " && echo next-step"],
        cwd=ROOT,
        env={"PATH": str(tmp_path)},  # an empty directory: no npm, no node
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "npm: command not found" in proc.stderr
    assert proc.stdout.splitlines() == [match.group(1).strip('"'), "next-step"]
    assert "Node.js 20+" in match.group(1)
