"""Plugin families: built-in factories by name, third-party ones by entry point, and the rule on their errors.

A family (signers by key reference scheme, bundle stores and content stores by reference scheme; policy
engines have their own registry in :mod:`crafter._internal.policies.engines.interface`; material kinds by kind name,
:mod:`crafter._internal.materials.registry`) maps a name to a factory.
Built-ins are registered in code and win; an installed distribution adds names through its entry point group,
never replaces one. An entry point is loaded only when its name is asked for, so importing crafter never
imports a plugin (nor a heavy backend).

Any exception a plugin raises (loading it, calling its factory, or calling what the factory returned) that is
not a :class:`~crafter.errors.CrafterError` becomes the family's error, naming the plugin and its entry point:
a plugin's ``ValueError`` is reported as a signing, store or policy error with its exit code, not as a crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import attrs

from crafter.errors import CrafterError

__all__ = ["Family", "Plugin", "plugin_errors", "scheme_of"]

F = TypeVar("F")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def scheme_of(reference: str) -> str | None:
    """The lower-cased ``SCHEME`` of ``SCHEME://...``; None for anything else (a path)."""
    match = _SCHEME.match(reference)
    return match.group(1).lower() if match else None


@attrs.frozen
class Plugin(Generic[F]):
    """One member of a family: its name, its factory, and where it came from (None for a built-in, else the
    entry point as ``NAME = MODULE:ATTR`` and its distribution)."""

    name: str
    factory: F
    origin: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name!r}" + (f" ({self.origin})" if self.origin else "")


@contextmanager
def plugin_errors(error: type[CrafterError], what: str) -> Iterator[None]:
    """Turn any exception but a :class:`CrafterError` into ``error``, its message starting with ``what``."""
    try:
        yield
    except CrafterError:
        raise
    except Exception as exc:
        raise error(
            f"{what} failed: {type(exc).__name__}: {exc}",
            hint="the error comes from an installed plugin: report it to its authors",
        ) from exc


class Family(Generic[F]):
    """Factories by name: ``builtin`` first, then the entry points of ``group``.

    ``what`` names the family in messages ("signer", "bundle store"...); ``error`` is its error class.
    """

    def __init__(self, what: str, group: str, error: type[CrafterError], builtin: Mapping[str, F]) -> None:
        self.what = what
        self.group = group
        self.error = error
        self._builtin = dict(builtin)

    def builtin_names(self) -> list[str]:
        return sorted(self._builtin)

    def plugin_names(self) -> list[str]:
        """The names installed distributions add (without loading them)."""
        return sorted({ep.name for ep in _entry_points(self.group)} - set(self._builtin))

    def find(self, name: str) -> Plugin[F] | None:
        """The member named ``name``; None when neither a built-in nor an installed plugin has it."""
        factory = self._builtin.get(name)
        if factory is not None:
            return Plugin(name, factory)
        for ep in _entry_points(self.group):
            if ep.name == name:
                dist = getattr(getattr(ep, "dist", None), "name", None)
                origin = f"entry point {ep.name} = {ep.value} in {self.group}" + (
                    f", distribution {dist}" if dist else ""
                )
                plugin: Plugin[Any] = Plugin(name, None, origin)
                with plugin_errors(self.error, f"loading {self.what} plugin {plugin.label}"):
                    loaded = ep.load()
                if not callable(loaded):
                    raise self.error(f"{self.what} plugin {plugin.label} is not callable")
                return Plugin(name, loaded, origin)
        return None

    def call(self, plugin: Plugin[Callable[..., Any]], *args: Any, **kwargs: Any) -> Any:
        """Call the plugin's factory; a third-party plugin's exceptions become :attr:`error`."""
        if plugin.origin is None:
            return plugin.factory(*args, **kwargs)
        with plugin_errors(self.error, f"{self.what} plugin {plugin.label}"):
            return plugin.factory(*args, **kwargs)


def _entry_points(group: str) -> Any:
    from importlib.metadata import entry_points

    return entry_points(group=group)
