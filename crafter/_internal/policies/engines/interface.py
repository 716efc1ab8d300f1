"""The ``PolicyEngine`` plugin interface, its result and error types, and the typed engine registry.

An engine runs one policy script against one input document. The input is JSON bytes, built once by the
verifier (the same bytes for every engine); the arguments are the computed ``with`` values (strings, or lists
of strings). Engines never read files, the network or the environment on their own: everything they may use
comes through :class:`Limits`.

Third-party engines are installed as entry points in the group ``crafter.policy_engines``; each entry point
names a zero-argument callable returning a :class:`PolicyEngine`. Any exception such an engine raises that is
not a :class:`~crafter.errors.CrafterError` (starting it, or any of its methods) becomes a :class:`PolicyError`
naming the plugin and its entry point (:mod:`crafter._internal.plugins`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from crafter._internal.plugins import plugin_errors
from crafter.errors import PolicyError

ENTRY_POINT_GROUP = "crafter.policy_engines"
WASM_MAGIC = b"\x00asm"

#: Computed arguments as engines receive them: a string, or a list of strings (reference section 2.5).
Args = Mapping[str, "str | list[str]"]


@attrs.frozen
class Limits:
    """What one evaluation may use. The defaults are the documented ones (docs/policies/index.md)."""

    timeout: float = 60.0  # seconds of wall time for one evaluation
    memory_bytes: int = 1 << 30  # address space (Rego workers) / linear memory (WASM)
    allowed_hosts: tuple[str, ...] = ()  # exact names or "*.example.com" globs

    def __attrs_post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.memory_bytes < (16 << 20):
            raise ValueError(f"memory limit must be at least 16 MiB, got {self.memory_bytes}")


@attrs.frozen
class Script:
    """One policy script, ready to run: its source as loaded (Rego text or WASM bytes) and where it came from."""

    source: bytes
    policy: str  # the policy's metadata.name, used in every message
    origin: str  # where the script came from (a path, a URL, "embedded"), for messages
    engine: str  # the engine that runs it ("rego", "wasm", or a plugin's name)


@attrs.frozen
class Violation:
    """One violation: its message, and the structured object when the policy returned one."""

    message: str
    raw: Mapping[str, Any] | None = None

    @property
    def suppress(self) -> bool:
        return bool(self.raw and self.raw.get("suppress") is True)


@attrs.frozen
class EngineResult:
    """What one script returned (the reference's ``result`` object, parsed and checked)."""

    violations: tuple[Violation, ...] = ()
    skipped: bool = False
    skip_reason: str = ""
    ignore: bool = False
    prints: tuple[str, ...] = ()  # output of print() calls, shown with --debug
    findings: bool = False  # violations came from the ``findings`` key (structured form)


class PolicyEngine(ABC):
    """One policy language. Implementations must be safe to call from several threads at once."""

    #: The name used in ``engine:`` fields and reported in evaluations.
    name: ClassVar[str]

    def prepare(self, script: Script) -> Script:
        """Turn a script as written into what runs (e.g. Rego boilerplate); errors name the policy."""
        return script

    @abstractmethod
    def evaluate(self, script: Script, input_json: bytes, args: Args, limits: Limits) -> EngineResult:
        """Run ``script`` over ``input_json`` with ``args``; raise :class:`PolicyError` on any failure."""

    def matches_parameters(
        self, script: Script, evaluation_args: Args, expected_args: Args, limits: Limits
    ) -> bool:
        """Whether an evaluation made with ``evaluation_args`` answers a request for ``expected_args``.

        Default when the policy has no opinion: the arguments are equal.
        """
        return dict(evaluation_args) == dict(expected_args)

    def matches_evaluation(
        self, script: Script, violations: Sequence[str], expected_args: Args, limits: Limits
    ) -> bool:
        """Whether a finished evaluation with ``violations`` satisfies ``expected_args``.

        Default when the policy has no opinion: it does when there are no violations.
        """
        return not violations

    def close(self) -> None:  # noqa: B027 - optional hook: most engines hold nothing to release
        """Release workers, caches and native resources."""


def detect_engine(source: bytes) -> str:
    """The engine a script without an ``engine:`` field needs: WASM by magic bytes (raw or base64), else Rego."""
    if source.startswith(WASM_MAGIC):
        return "wasm"
    if decode_base64_wasm(source) is not None:
        return "wasm"
    return "rego"


def decode_base64_wasm(source: bytes) -> bytes | None:
    """The WASM bytes of a base64-encoded module (newlines allowed, as in a YAML block), else None."""
    import base64
    import binascii

    compact = b"".join(source.split())
    if not compact.startswith(b"AGFzbQ"):  # base64 of the magic "\\0asm"
        return None
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded.startswith(WASM_MAGIC) else None


class EngineRegistry:
    """Engines by name, built on first use. Built-in engines first; entry points may add, never replace."""

    def __init__(self, factories: Mapping[str, Callable[[], PolicyEngine]]) -> None:
        self._factories = dict(factories)
        self._engines: dict[str, PolicyEngine] = {}

    @classmethod
    def with_entry_points(
        cls, builtin: Mapping[str, Callable[[], PolicyEngine]], *, group: str = ENTRY_POINT_GROUP
    ) -> EngineRegistry:
        from importlib.metadata import entry_points

        factories = dict(builtin)
        for ep in entry_points(group=group):
            if ep.name not in factories:
                factories[ep.name] = _entry_point_factory(ep)
        return cls(factories)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def get(self, name: str) -> PolicyEngine:
        engine = self._engines.get(name)
        if engine is not None:
            return engine
        factory = self._factories.get(name)
        if factory is None:
            raise PolicyError(
                f"unknown policy engine {name!r}",
                hint="installed engines: " + ", ".join(self.names()),
            )
        try:
            engine = factory()
        except PolicyError:
            raise
        except Exception as exc:  # a plugin failing to start is reported, not a traceback
            raise PolicyError(f"policy engine {name!r} failed to start: {exc}") from exc
        if engine.name != name:
            raise PolicyError(f"policy engine registered as {name!r} calls itself {engine.name!r}")
        self._engines[name] = engine
        return engine

    def __iter__(self) -> Iterator[PolicyEngine]:
        return iter(list(self._engines.values()))

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()


def _entry_point_factory(ep: Any) -> Callable[[], PolicyEngine]:
    label = f"policy engine plugin {ep.name!r} (entry point {ep.name} = {ep.value} in {ENTRY_POINT_GROUP})"

    def make() -> PolicyEngine:
        with plugin_errors(PolicyError, f"{label}: starting"):
            factory = ep.load()
            engine = factory()
        if not isinstance(engine, PolicyEngine):
            raise PolicyError(f"entry point {ep.value!r} did not return a PolicyEngine")
        return _guarded(engine, label)

    return make


class _PluginEngine(PolicyEngine):
    """A third-party engine, every call of which turns a stray exception into :class:`PolicyError`."""

    name = "plugin"

    def __init__(self, inner: PolicyEngine, label: str) -> None:
        self.inner = inner
        self._label = label

    def prepare(self, script: Script) -> Script:
        with plugin_errors(PolicyError, f"{self._label}: preparing policy {script.policy!r}"):
            return self.inner.prepare(script)

    def evaluate(self, script: Script, input_json: bytes, args: Args, limits: Limits) -> EngineResult:
        with plugin_errors(PolicyError, f"{self._label}: evaluating policy {script.policy!r}"):
            result = self.inner.evaluate(script, input_json, args, limits)
        if not isinstance(result, EngineResult):
            raise PolicyError(f"{self._label} returned {type(result).__name__}, not an EngineResult")
        return result

    def matches_parameters(
        self, script: Script, evaluation_args: Args, expected_args: Args, limits: Limits
    ) -> bool:
        with plugin_errors(PolicyError, f"{self._label}: matching the arguments of {script.policy!r}"):
            return self.inner.matches_parameters(script, evaluation_args, expected_args, limits)

    def matches_evaluation(
        self, script: Script, violations: Sequence[str], expected_args: Args, limits: Limits
    ) -> bool:
        with plugin_errors(PolicyError, f"{self._label}: matching an evaluation of {script.policy!r}"):
            return self.inner.matches_evaluation(script, violations, expected_args, limits)

    def close(self) -> None:
        with plugin_errors(PolicyError, f"{self._label}: closing"):
            self.inner.close()


def _guarded(engine: PolicyEngine, label: str) -> PolicyEngine:
    # ``name`` is a class attribute of every engine: the guard is a subclass carrying the plugin's.
    cls: type[_PluginEngine] = type(f"Plugin{type(engine).__name__}", (_PluginEngine,), {"name": engine.name})
    return cls(engine, label)
