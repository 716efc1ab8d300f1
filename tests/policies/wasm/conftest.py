"""WASM test modules, compiled from our own WAT sources (modules/*.wat) once per session.

Each module's header comment says what it does. They import Extism's kernel functions from
``extism:host/env`` directly, so no PDK or toolchain is needed: ``wasmtime.wat2wasm`` (the dev extra) builds them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from crafter._internal.policies.engines.interface import Limits, Script
from crafter._internal.policies.engines.wasm import ModuleCache, WasmEngine

MODULES = Path(__file__).parent / "modules"

#: Short limits so that hostile modules fail fast; the memory limit is the engine's default cap.
LIMITS = Limits(timeout=2.0, memory_bytes=256 << 20)


@pytest.fixture(scope="session")
def modules() -> dict[str, bytes]:
    wasmtime = pytest.importorskip("wasmtime", reason="the dev extra (wasmtime) builds the test modules")
    return {wat.stem: bytes(wasmtime.wat2wasm(wat.read_text())) for wat in sorted(MODULES.glob("*.wat"))}


@pytest.fixture
def script(modules: dict[str, bytes]) -> Callable[[str], Script]:
    """The Script of a test module, named after it."""

    def make(name: str) -> Script:
        return Script(modules[name], name, f"{name}.wasm", "wasm")

    return make


@pytest.fixture
def engine() -> WasmEngine:
    """An engine with a cache of its own, so that compile counts start at zero."""
    return WasmEngine(cache=ModuleCache())
