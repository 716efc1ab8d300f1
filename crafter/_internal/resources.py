"""Files shipped beside the code: JSON Schemas, examples, the policy library and policy project templates.

In a wheel they live inside the package (``crafter/_schemas``, ``crafter/_examples``); in a source checkout
(editable install, tests) they are the top-level ``schemas/`` and ``examples/`` folders.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parents[1]  # crafter/, beside which a checkout has schemas/ and examples/


def _find(packaged: str, checkout: str) -> Path:
    inside = _PACKAGE / packaged
    return inside if inside.is_dir() else _PACKAGE.parent / checkout


def schemas_dir() -> Path:
    return _find("_schemas", "schemas")


def policies_dir() -> Path:
    """The library of ready policies (``builtin://NAME``)."""
    return _find("_policies", "policies")


def policy_templates_dir() -> Path:
    """Templates of new policy projects (``crafter policy init``), one folder per engine; inside the package."""
    return Path(__file__).resolve().parent / "policies" / "templates"


def examples_dir() -> Path:
    return _find("_examples", "examples")


@cache
def load_schema(name: str) -> Any:
    """A published JSON Schema by its file name relative to ``schemas/``, parsed once per process."""
    with (schemas_dir() / name).open("rb") as fh:
        return json.load(fh)
