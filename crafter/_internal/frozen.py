"""Immutable JSON-like values for the frozen models, and the lenient mode models are read back in.

A frozen ``attrs`` class is only as frozen as its fields: a ``dict`` field can still be changed and makes the
object unhashable. The models therefore hold :class:`FrozenDict` and :class:`FrozenList` (still ``dict`` and
``list`` for ``json`` and ``isinstance``). Models validate what crafter makes; what another producer wrote (a
Chainloop bundle, a part from another runner) is read inside :func:`lenient`, and checked where it is used.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NoReturn, TypeVar

_V = TypeVar("_V")

#: Set while models are read back from what another producer wrote (a bundle, a part): no validation.
_LENIENT: ContextVar[bool] = ContextVar("crafter_models_lenient", default=False)


def is_lenient() -> bool:
    """Whether models are being read back (see :func:`lenient`), so their validators stand aside."""
    return _LENIENT.get()


@contextmanager
def lenient() -> Iterator[None]:
    """Within it, models are built without validation: for what another producer wrote (a Chainloop bundle,
    a part from another runner), which is checked where it is used, not refused for lacking crafter's rules."""
    token = _LENIENT.set(True)
    try:
        yield
    finally:
        _LENIENT.reset(token)


def _refuse(self: object, *_args: object, **_kwargs: object) -> NoReturn:
    raise TypeError(f"{type(self).__name__} is immutable")


class FrozenDict(dict[str, _V]):
    """A ``dict`` that refuses every change and can be hashed (when its values can): the mappings inside
    the frozen models. It is still a ``dict`` for ``json`` and ``isinstance``, so serialisation is unchanged."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict[_V]:
        return self

    def __deepcopy__(self, _memo: object) -> FrozenDict[_V]:
        return self


class FrozenList(list[_V]):
    """A ``list`` that refuses every change and can be hashed: the arrays inside frozen JSON-like values."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (list(self),))

    def __copy__(self) -> FrozenList[_V]:
        return self

    def __deepcopy__(self, _memo: object) -> FrozenList[_V]:
        return self


EMPTY: FrozenDict[Any] = FrozenDict()


def freeze(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, scalars) with every dict a :class:`FrozenDict` and every list or
    tuple a :class:`FrozenList`, copied once; already frozen values are returned as they are."""
    if isinstance(value, (FrozenDict, FrozenList)):
        return value
    if isinstance(value, Mapping):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return FrozenList(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A plain copy of a :func:`freeze`-d value (dicts and lists), for a caller that edits what it gets."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


def frozen_strings(m: Mapping[str, str]) -> FrozenDict[str]:
    """A string mapping as a :class:`FrozenDict` (the shared empty one when empty)."""
    if isinstance(m, FrozenDict):
        return m
    return FrozenDict(m) if m else EMPTY
