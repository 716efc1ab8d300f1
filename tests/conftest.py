"""Shared fixtures: where the reference project's test data lives, and a clean environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CRAFTER_SHARED_TESTDATA", ROOT.parent / "shared" / "testdata"))
CHAINLOOP = SHARED / "chainloop"


def chainloop_path(*parts: str) -> Path:
    """A file of the reference project's test data; skips the test where that data is absent."""
    path = CHAINLOOP.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"reference test data missing in CI: {path}")
        pytest.skip(f"reference test data not found at {path} (set CRAFTER_SHARED_TESTDATA)")
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
