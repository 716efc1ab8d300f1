"""The kit every docs page starts from, and a registry for the pages that need one.

The kit (built once per session, copied into each page's scratch directory): the demo release's files
(``contract.yaml``, ``sbom.cdx.json``, ``junit.xml``, ``hello-1.0.0.py`` from examples/demo), a key pair
``release.key``/``release.pub`` (password ``demo-password``, in ``CRAFTER_KEY_PASSWORD``), and
``hello-1.0.0.sigstore.json``, the signed bundle of the demo attestation as examples/demo/run.sh makes it.
No attestation is in progress: the push discarded it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, RUNNER_MARKERS

DEMO = ROOT / "examples" / "demo"
KIT_FILES = ("contract.yaml", "sbom.cdx.json", "junit.xml", "hello-1.0.0.py")
PASSWORD = "demo-password"
BIN = Path(sys.executable).parent


#: "PAGE:LINE: not run: REASON" of every block the docs test skipped, listed at the end of the session.
NOT_RUN: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if NOT_RUN:
        terminalreporter.section("docs blocks not run")
        for line in NOT_RUN:
            terminalreporter.write_line(line)


def page_env(work: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a docs block runs in: the venv first on PATH, HOME inside the scratch directory, the
    kit key's password, no CI runner, no registry credentials or crafter settings from the caller."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in RUNNER_MARKERS
        and not k.startswith(("CRAFTER_", "COSIGN_", "DOCKER_", "AWS_", "GOOGLE_", "AZURE_", "VAULT_"))
        and k not in {"CI", "VIRTUAL_ENV", "PYTHONPATH", "GIT_DIR", "GIT_WORK_TREE"}
    }
    home = work / ".home"
    home.mkdir(exist_ok=True)
    env.update(
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        HOME=str(home),
        CRAFTER_KEY_PASSWORD=PASSWORD,
        GIT_CEILING_DIRECTORIES=str(work.parent),
        LC_ALL="C.UTF-8",
        TERM="dumb",
        COLUMNS="100",
    )
    env.update(extra or {})
    return env


def _run(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, env=page_env(cwd), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"building the docs kit: {' '.join(args)} exited {done.returncode}:\n{done.stderr}")


@pytest.fixture(scope="session")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the kit (see the module docstring); copy it, do not change it."""
    root = tmp_path_factory.mktemp("docs-kit") / "kit"
    root.mkdir()
    for name in KIT_FILES:
        shutil.copy2(DEMO / name, root / name)
    crafter = str(BIN / "crafter")
    _run([crafter, "keys", "generate", "--output-prefix", "release"], root)
    _run([crafter, "init", "--contract", "contract.yaml", "--project", "hello", "--version", "1.0.0"], root)
    _run([crafter, "add", "--name", "sbom", "--value", "sbom.cdx.json"], root)
    _run([crafter, "add", "--name", "tests", "--value", "junit.xml"], root)
    _run([crafter, "add", "--name", "release-file", "--value", "hello-1.0.0.py"], root)
    _run([crafter, "add", "--name", "build-ref", "--value", "demo-build-42"], root)
    _run([crafter, "push", "--key", "release.key", "--bundle", "hello-1.0.0.sigstore.json"], root)
    shutil.rmtree(root / ".home", ignore_errors=True)
    in_progress = list(root.glob(".crafter/attestations/*.json"))
    assert not in_progress, f"the push left an attestation in progress: {in_progress}"
    assert (root / "hello-1.0.0.sigstore.json").is_file()
    return root


@pytest.fixture(scope="session")
def docs_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``127.0.0.1:PORT`` of a real, anonymous, plain-HTTP OCI registry (Debian's docker-registry)."""
    from tests.storage.conftest import _start

    for registry in _start(tmp_path_factory.mktemp("docs-registry")):
        yield registry.host
