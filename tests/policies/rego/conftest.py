"""Shared fixtures for the Rego engine tests: one warm engine per backend for the whole session, fixtures."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.policies.engines.interface import Limits, Script
from crafter._internal.policies.engines.rego import RegoEngine
from crafter._internal.policies.engines.sandbox import Job, Sandbox

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
OPA_MISSING = (
    "OPA's Python bindings are not installed: "
    "pip install --ignore-requires-python -r tests/requirements-opa.txt"
)


def opa_bindings() -> Any:
    """The OPA bindings module; skips the test without them, and fails it in CI (env CI set)."""
    try:
        return importlib.import_module("opa_bindings")
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(OPA_MISSING + " (required in CI)")
        pytest.skip(OPA_MISSING)


def fixture(name: str, policy: str | None = None) -> Script:
    """A script from tests/policies/rego/fixtures/, named after its file unless ``policy`` is given."""
    path = FIXTURES / f"{name}.rego"
    return Script(path.read_bytes(), policy or name.replace("_", "-"), str(path), "rego")


def script(text: str, policy: str = "inline") -> Script:
    return Script(text.encode(), policy, "inline", "rego")


@pytest.fixture(scope="session")
def regopy_engine() -> Iterator[RegoEngine]:
    engine = RegoEngine(workers=2)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def opa_engine() -> Iterator[RegoEngine]:
    opa_bindings()
    engine = RegoEngine(backend="opa", workers=1)
    yield engine
    engine.close()


@pytest.fixture(params=["regopy", "opa"])
def engine(request: pytest.FixtureRequest) -> RegoEngine:
    """Each behaviour test runs on both backends: the contract does not depend on the evaluator."""
    engine: RegoEngine = request.getfixturevalue(f"{request.param}_engine")
    return engine


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """A pool for queries below the engine (whole documents, or what the engine would refuse)."""
    with Sandbox(workers=2) as pool:
        yield pool


def query(pool: Sandbox, source: str, rule: str, document: Any = None, *, backend: str = "regopy") -> Any:
    """The value of ``rule`` (e.g. ``data.main``) with ``document`` as input; None when undefined."""
    data = json.dumps({} if document is None else document).encode()
    outcome = pool.run(Job("query", source, rule, data, None, 30.0, 512 << 20, backend))
    return outcome.value if outcome.defined else None


@pytest.fixture
def limits() -> Limits:
    return Limits(timeout=30.0, memory_bytes=512 << 20)
