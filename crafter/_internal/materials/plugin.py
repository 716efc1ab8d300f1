"""Kinds from installed plugins: loaded by name from the ``crafter.material_kinds`` entry points, and wrapped.

A plugin kind is a :class:`MaterialKind` subclass (or any zero-argument callable returning an instance) whose
``kind`` is its entry point's name. Whatever it raises that is not a :class:`~crafter.errors.CrafterError`,
when it is loaded, made, or asked to sniff, craft or give its policy input, becomes a :class:`MaterialError`
(exit code 6) naming the plugin and its entry point (:func:`crafter._internal.plugins.plugin_errors`): a bug in a
plugin is reported as the plugin's, while a built-in kind is never wrapped (a bug in crafter stays a bug).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crafter._internal.materials.interface import Crafted, CraftOptions, MaterialKind, Sample
from crafter._internal.plugins import Family, plugin_errors
from crafter.errors import MaterialError

__all__ = ["PluginKind", "plugin_kind"]

KindFactory = Callable[[], MaterialKind]


def plugin_kind(family: Family[KindFactory], name: str) -> MaterialKind | None:
    """The kind an installed plugin adds under ``name``, wrapped; None when no plugin has that name."""
    plugin = family.find(name)
    if plugin is None:
        return None
    label = f"material kind plugin {plugin.label}"
    made = family.call(plugin)
    if not isinstance(made, MaterialKind):
        raise MaterialError(
            f"{label} made {type(made).__name__}, not a crafter._internal.materials.interface.MaterialKind"
        )
    with plugin_errors(MaterialError, label):
        attributes = {
            "kind": made.kind,
            "file_based": bool(made.file_based),
            "can_be_subject": bool(made.can_be_subject),
            "policy_reads_content": bool(made.policy_reads_content),
        }
    if attributes["kind"] != name:
        raise MaterialError(f"{label} made a kind named {attributes['kind']!r}, not {name!r}")
    wrapper = type(f"PluginKind_{name}", (PluginKind,), attributes)
    kind: MaterialKind = wrapper(made, label)
    return kind


class PluginKind(MaterialKind):
    """A third-party kind, every call of which turns a stray exception into :class:`MaterialError`."""

    def __init__(self, inner: MaterialKind, label: str) -> None:
        self.inner = inner
        self.label = label

    def sniff(self, sample: Sample) -> bool:
        with plugin_errors(MaterialError, f"{self.label}: detecting {sample.value}"):
            return bool(self.inner.sniff(sample))

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        with plugin_errors(MaterialError, f"{self.label}: recording {value}"):
            crafted = self.inner.craft(value, options)
        if not isinstance(crafted, Crafted) or crafted.kind != self.kind:
            what = f"a {crafted.kind} record" if isinstance(crafted, Crafted) else type(crafted).__name__
            raise MaterialError(f"{self.label}: recording {value} returned {what}, not a {self.kind} Crafted")
        return crafted

    def policy_input(self, path: str, name: str) -> Any:
        with plugin_errors(MaterialError, f"{self.label}: the policy input of material {name!r}"):
            return self.inner.policy_input(path, name)

    def __repr__(self) -> str:
        return f"PluginKind({self.inner!r})"
