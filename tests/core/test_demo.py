"""The README's demo (examples/demo/run.sh) runs to the end with its output piped, as in a CI log: it signs the
demo release, verifies what it pushed, and prints no terminal escapes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from crafter.signing.keys import public_key_from_pem
from crafter.verify import verify_bundle
from tests.conftest import ROOT, RUNNER_MARKERS

DEMO = ROOT / "examples" / "demo"


def test_demo_signs_and_verifies_with_plain_output(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in RUNNER_MARKERS and not k.startswith("CRAFTER_")}
    # the `crafter` this interpreter runs, first on PATH, as the README's demo command puts it
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["CRAFTER_DEMO_DIR"] = str(tmp_path)
    env["GIT_CEILING_DIRECTORIES"] = str(tmp_path.parent)
    proc = subprocess.run(
        ["bash", str(DEMO / "run.sh")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=300,
        check=False,
    )
    out = proc.stdout.decode()
    assert proc.returncode == 0, out
    assert "\x1b" not in out, "terminal escapes in piped output"

    steps = [line[2:] for line in out.splitlines() if line.startswith("$ ")]
    assert [s.split()[1] for s in steps] == [
        "keys",
        "init",
        "add",
        "add",
        "add",
        "add",
        "status",
        "push",
        "verify",
    ]
    verify = steps[-1].split()
    assert verify[:5] == ["crafter", "verify", "hello-1.0.0.sigstore.json", "--key", "release.pub"]
    assert verify[5:7] == ["--material", str(DEMO / "hello-1.0.0.py")]
    verify_output = out[out.index("$ crafter verify") :]
    assert "valid (public key)" in verify_output
    assert "matches material 'release-file'" in verify_output
    assert out.rstrip().endswith(
        f"Signed and verified in {tmp_path}: hello-1.0.0.sigstore.json (bundle), release.pub (public key)"
    )

    # what the demo pushed and verified is what its key signed, over the shipped release file
    result = verify_bundle(
        tmp_path / "hello-1.0.0.sigstore.json",
        public_key=public_key_from_pem(tmp_path / "release.pub"),
        materials=[DEMO / "hello-1.0.0.py"],
        contract=DEMO / "contract.yaml",
    )
    assert result.verified
    assert [s["name"] for s in result.subjects] == ["chainloop.workflow.hello-release", "hello-1.0.0.py"]
