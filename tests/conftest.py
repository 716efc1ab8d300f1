"""Shared fixtures: where the reference project's test data lives, a clean environment, and running the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crafter._internal.cli.main import main
from crafter.signing.keys import generate_key_pair

ROOT = Path(__file__).resolve().parents[1]
#: Reference data read in place, not shipped in the repository: ``../shared/testdata`` beside the clone, or the
#: directory named by CRAFTER_SHARED_TESTDATA. It holds ``chainloop/`` (fixtures of the Chainloop project) and
#: ``sigstore-conformance/`` (the sigstore-conformance suite's bundle-verify cases). Tests that read it skip
#: where it is absent, and fail in CI (``CI`` set), where it must be provided.
SHARED = Path(os.environ.get("CRAFTER_SHARED_TESTDATA", ROOT.parent / "shared" / "testdata"))
CHAINLOOP = SHARED / "chainloop"
# Variables by which crafter recognises a CI runner; cli_env removes them all.
RUNNER_MARKERS = (
    "GITHUB_ACTIONS",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITLAB_CI",
    "CI_JOB_URL",
    "TF_BUILD",
    "BUILD_BUILDURI",
    "JENKINS_HOME",
    "BUILD_URL",
    "CIRCLECI",
    "CHAINLOOP_DAGGER_CLIENT",
    "TEAMCITY_PROJECT_NAME",
    "CHAINLOOP_SANDBOX",
)


def chainloop_path(*parts: str) -> Path:
    """A file of the reference project's test data; skips the test where that data is absent."""
    path = CHAINLOOP.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"reference test data missing in CI: {path}")
        pytest.skip(
            f"Chainloop reference test data not found at {path}"
            " (set CRAFTER_SHARED_TESTDATA to the directory holding chainloop/; see README.md)"
        )
    return path


@pytest.fixture
def materials_dir() -> Path:
    return chainloop_path("materials")


@pytest.fixture
def contracts_dir() -> Path:
    return chainloop_path("contracts")


@pytest.fixture
def renderer_dir() -> Path:
    return chainloop_path("renderer")


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A generic (non-CI) environment for running the CLI; returns ``tmp_path``.

    - every variable in RUNNER_MARKERS is removed, so no CI runner is detected;
    - the working directory is ``tmp_path/work`` (created empty), outside any git repository:
      GIT_CEILING_DIRECTORIES is ``tmp_path``;
    - CRAFTER_STATE_DIR is ``tmp_path/state``;
    - CRAFTER_KEY_PASSWORD is ``pw``, the password of the key pair ``tmp_path/k.key``, ``tmp_path/k.pub``.
    """
    for var in RUNNER_MARKERS:
        monkeypatch.delenv(var, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("CRAFTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CRAFTER_KEY_PASSWORD", "pw")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    generate_key_pair(tmp_path / "k", b"pw")
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``crafter *args`` in-process: the exit code, stdout and stderr; fails the test on a traceback in stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err
