"""What the property tests share: any JSON value, every path into a document, and a document with the value
at one path replaced."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``document`` (the empty path, the whole document, first)."""
    out = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            out += paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            out += paths(value, (*prefix, index))
    return out


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``document`` with ``value`` at ``path``."""
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy
