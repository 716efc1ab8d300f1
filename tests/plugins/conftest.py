"""The test distribution of tests/plugins/site, installed for one test: its directory first on ``sys.path``,
where ``importlib.metadata`` finds its ``.dist-info`` and the entry points it lists (as pip would install it)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

SITE = Path(__file__).parent / "site"


@pytest.fixture
def test_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """Installs the distribution; returns its module (imported for the test to look at its stores)."""
    monkeypatch.syspath_prepend(str(SITE))
    import crafter_test_plugins

    yield crafter_test_plugins
    for table in (crafter_test_plugins.KEYS, crafter_test_plugins.BUNDLES, crafter_test_plugins.CONTENTS):
        table.clear()
    sys.modules.pop("crafter_test_plugins", None)
