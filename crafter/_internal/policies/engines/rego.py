"""The Rego engine: Chainloop's Rego policy contract (reference chainloop-policies.md, section 3) on regopy.

What a script goes through:

1. :meth:`RegoEngine.prepare` (the verifier, once per script): Rego v0 forms rewritten to v1
   (:func:`~crafter._internal.policies.engines.rego_syntax.to_v1`), restricted built-ins refused, then the boilerplate
   for simplified policies injected (reference 3.4).
2. :meth:`RegoEngine.evaluate`: the same checks (cached, so a prepared script costs nothing more), then the
   query ``data.<package>.result`` in a worker process of the :class:`~crafter._internal.policies.engines.sandbox.Sandbox`,
   and the ``result`` object parsed and checked as the reference does (3.3, 3.7).

Restrictive mode is always on. ``opa.runtime`` (the process environment), ``trace``, ``rego.parse_module``,
``http.send``, ``net.lookup_ip_addr`` and ``net.cidr_*`` are refused before evaluation wherever the module
names them: called, as the target *or the value* of a ``with`` (``time.now_ns() with time.now_ns as
opa.runtime`` calls ``opa.runtime``), as a value, behind ``opa["runtime"]`` or ``(opa).runtime``, or as a rule
or import alias name. The names come from a parse of the module as it is evaluated (its v1 form), not from a
text pattern (:func:`~crafter._internal.policies.engines.rego_syntax.references`). regopy has no capabilities switch,
and the network ones do not exist in regopy anyway; with the ``opa`` backend the worker checks again on
OPA's own parse of the module before loading it. A script calling a ``chainloop.*`` built-in (only the
commercial Chainloop CLI has them) is skipped with the reference's reason instead (3.6).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs

from crafter._internal.policies.engines.interface import (
    Args,
    EngineResult,
    Limits,
    PolicyEngine,
    Script,
    Violation,
)
from crafter._internal.policies.engines.rego_bugs import explain
from crafter._internal.policies.engines.rego_syntax import (
    CALLED,
    WITH_TARGET,
    WITH_VALUE,
    Module,
    Reference,
    RegoParseError,
    RegoSyntaxError,
    inject_boilerplate,
    read_module,
    to_v1,
)
from crafter._internal.policies.engines.sandbox import Job, Outcome, Sandbox
from crafter.errors import PolicyError

BACKENDS = ("regopy", "opa")
FORBIDDEN = frozenset({"opa.runtime", "trace", "rego.parse_module", "http.send", "net.lookup_ip_addr"})
FORBIDDEN_PREFIXES = ("net.cidr_",)
#: The restricted built-ins that reach the network (``crafter verify --replay`` reports policies naming them
#: as not replayed: a replay never uses the network).
NETWORK = frozenset({"http.send", "net.lookup_ip_addr"})
UPGRADE = "please upgrade to the latest version"
OPA_HINT = (
    "install them with `pip install --ignore-requires-python opa-golib-python-bindings` (the package declares "
    "Python >= 3.14 but works on 3.11), or use --rego-backend regopy"
)
_GO_TYPES = {str: "string", bool: "bool", int: "json.Number", float: "json.Number", type(None): "<nil>"}


@attrs.frozen
class _Checked:
    """A script after the checks: its v1 text and outline, and the ``chainloop.*`` built-ins it calls."""

    text: str
    module: Module
    chainloop: tuple[str, ...]

    def rule(self, name: str) -> str:
        return f"data.{self.module.package}.{name}"


class RegoEngine(PolicyEngine):
    """Rego policies, evaluated in sandboxed worker processes by regopy (default) or OPA's own bindings."""

    name: ClassVar[str] = "rego"

    def __init__(self, *, backend: str = "regopy", workers: int | None = None) -> None:
        if backend not in BACKENDS:
            raise PolicyError(f"unknown Rego backend {backend!r}", hint="use regopy or opa")
        if backend == "opa" and importlib.util.find_spec("opa_bindings") is None:
            raise PolicyError(
                "the opa Rego backend needs OPA's Python bindings, which are not installed", hint=OPA_HINT
            )
        self.backend = backend
        self._workers = workers
        self._sandbox: Sandbox | None = None
        self._lock = threading.Lock()

    # -- PolicyEngine --------------------------------------------------------------------------------------
    def prepare(self, script: Script) -> Script:
        checked = _check(script)
        return attrs.evolve(script, source=inject_boilerplate(checked.text, checked.module).encode())

    def evaluate(self, script: Script, input_json: bytes, args: Args, limits: Limits) -> EngineResult:
        checked = _check(script)
        if checked.chainloop:
            names = ", ".join(checked.chainloop)
            reason = (
                f"policy requires builtin functions not available in this CLI version: {names} — {UPGRADE}"
            )
            return EngineResult(skipped=True, skip_reason=reason)
        outcome = self._run(script, checked, "result", input_json, _plain_args(args), limits)
        if not outcome.defined:
            raise PolicyError(
                f"policy \"{script.policy}\": failed to evaluate policy: 'result' rule not found"
            )
        return parse_result(script.policy, outcome.value, outcome.prints)

    def matches_parameters(
        self, script: Script, evaluation_args: Args, expected_args: Args, limits: Limits
    ) -> bool:
        """The policy's ``matches_parameters`` rule; when it has none, the default (the arguments are equal)."""
        document = {"args": _plain_args(evaluation_args), "expected_args": _plain_args(expected_args)}
        answer = self._matcher(script, "matches_parameters", document, limits)
        if answer is None:
            return super().matches_parameters(script, evaluation_args, expected_args, limits)
        return answer

    def matches_evaluation(
        self, script: Script, violations: Sequence[str], expected_args: Args, limits: Limits
    ) -> bool:
        """The policy's ``matches_evaluation`` rule; when it has none, the default (no violations)."""
        document = {"expected_args": _plain_args(expected_args), "violations": list(violations)}
        answer = self._matcher(script, "matches_evaluation", document, limits)
        if answer is None:
            return super().matches_evaluation(script, violations, expected_args, limits)
        return answer

    def close(self) -> None:
        with self._lock:
            sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            sandbox.close()

    # -- internals -----------------------------------------------------------------------------------------
    def _matcher(self, script: Script, rule: str, document: Mapping[str, Any], limits: Limits) -> bool | None:
        checked = _check(script)
        if checked.chainloop:  # the rule cannot run here: the policy has no opinion we can ask for
            return None
        outcome = self._run(script, checked, rule, json.dumps(document).encode(), None, limits)
        if not outcome.defined:
            return None
        if not isinstance(outcome.value, bool):
            raise PolicyError(
                f'policy "{script.policy}": {rule} must be a boolean, got {_go_type(outcome.value)}'
            )
        return outcome.value

    def _run(
        self, script: Script, checked: _Checked, rule: str, input_json: bytes, args: Any, limits: Limits
    ) -> Outcome:
        job = Job(
            policy=script.policy,
            source=checked.text,
            query=checked.rule(rule),
            input_json=input_json,
            args=args,
            timeout=limits.timeout,
            memory_bytes=limits.memory_bytes,
            backend=self.backend,
            denied_names=tuple(sorted(FORBIDDEN)),
            denied_prefixes=FORBIDDEN_PREFIXES,
        )
        try:
            return self._pool().run(job)
        except PolicyError as exc:
            located = _located(exc, checked)
            if self.backend == "regopy":
                located = _explained(located, checked)
            raise located from exc

    def _pool(self) -> Sandbox:
        with self._lock:
            if self._sandbox is None:
                self._sandbox = Sandbox(self._workers, preload=self.backend)
            return self._sandbox


def parse_result(policy: str, result: Any, prints: Sequence[str] = ()) -> EngineResult:
    """The ``result`` object checked and read as the reference does (``rego.go`` ``parseResultRule``)."""
    if not isinstance(result, dict):
        raise PolicyError(f'policy "{policy}": Policy result format error: result not found or wrong format')
    findings = result.get("findings")
    violations = result.get("violations")
    parsed: list[Violation] = []
    if isinstance(findings, list) and findings:  # non-empty findings win; violations are then ignored
        for item in findings:
            if not isinstance(item, dict):
                raise PolicyError(f'policy "{policy}": finding must be an object, got {_go_type(item)}')
            parsed.append(_structured(policy, item, "finding"))
    elif isinstance(violations, list):
        for item in violations:
            if isinstance(item, str):
                parsed.append(Violation(item))
            elif isinstance(item, dict):
                parsed.append(_structured(policy, item, "violation"))
            else:
                raise PolicyError(
                    f'policy "{policy}": violation must be a string or object, got {_go_type(item)}'
                )
    elif violations is not None:
        # Chainloop ignores such a value and reports no violation; here it is an error, because it is
        # always a mistake, e.g. the Rego v1 object rule ``violations[msg] if {...}`` meant as a set
        raise PolicyError(
            f'policy "{policy}": Policy result format error: violations must be an array, got {_go_type(violations)}',
            hint="build violations as a set: `violations contains msg if { ... }`",
        )
    return EngineResult(
        violations=tuple(parsed),
        skipped=result.get("skipped") is True,
        skip_reason=_str(result.get("skip_reason")),
        ignore=result.get("ignore") is True,
        prints=tuple(prints),
        findings=isinstance(findings, list) and bool(findings),
    )


def _structured(policy: str, obj: dict[str, Any], what: str) -> Violation:
    message = obj.get("message")
    if "message" not in obj:
        problem = 'missing required "message" field in structured violation'
    elif not isinstance(message, str):
        problem = f'"message" field must be a string, got {_go_type(message)}'
    else:
        return Violation(message, raw=obj)
    raise PolicyError(f'structured {what} in policy "{policy}": {problem}')


def _check(script: Script) -> _Checked:
    """The script's checked form, or :class:`PolicyError` naming the policy."""
    try:
        checked = _analyse(script.source)
    except UnicodeDecodeError as exc:
        raise PolicyError(f'policy "{script.policy}": the Rego source is not UTF-8 ({exc.reason})') from exc
    except RegoParseError as exc:  # worded as the engines word theirs
        raise PolicyError(
            f'policy "{script.policy}": failed to parse policy: {script.policy}.rego:{exc.line}: {exc.reason}',
            hint=f"in {script.origin}",
        ) from exc
    except RegoSyntaxError as exc:
        raise PolicyError(f'policy "{script.policy}": {exc}', hint=f"in {script.origin}") from exc
    except _Forbidden as exc:
        raise PolicyError(
            f'policy "{script.policy}": line {exc.line}: undefined function {exc.builtin} '
            f"(not allowed in policies; {exc.usage})",
            hint="crafter refuses opa.runtime, trace, rego.parse_module, http.send, net.lookup_ip_addr and "
            "net.cidr_* in policies wherever they are named: calls, with targets and values, references "
            "(restrictive mode)",
        ) from exc
    return checked


class _Forbidden(Exception):
    def __init__(self, builtin: str, line: int, usage: str) -> None:
        super().__init__(builtin)
        self.builtin = builtin
        self.line = line
        self.usage = usage


def restricted(ref: Reference) -> str | None:
    """The restricted built-in ``ref`` names, or None.

    Any leading part of a reference counts (``opa.runtime.env`` names ``opa.runtime``), and so does a
    reference that picks a member of a restricted namespace by a computed key when it is called or used in
    a ``with`` (``opa[k]()``: both engines refuse it today, crafter does not depend on that).
    """
    segments = ref.segments
    for n in range(1, len(segments) + 1):
        name = ".".join(segments[:n])
        if name in FORBIDDEN or name.startswith(FORBIDDEN_PREFIXES):
            return name
    if ref.dynamic and ref.usage in (CALLED, WITH_TARGET, WITH_VALUE):
        namespace = ref.name + "."
        if any(f.startswith(namespace) for f in (*FORBIDDEN, *FORBIDDEN_PREFIXES)):
            return ref.name + "[...]"
    return None


def network_use(source: bytes) -> tuple[str, int] | None:
    """The first network built-in (:data:`NETWORK`) a Rego source names, with its line; None when it names
    none or cannot be read (the engine then reports why)."""
    try:
        module = read_module(to_v1(source.decode("utf-8")))
        refs = module.references()
    except (UnicodeDecodeError, RegoSyntaxError):
        return None
    for ref in refs:
        name = restricted(ref)
        if name is not None and (name in NETWORK or name in ("http[...]", "net[...]")):
            return name, ref.line
    return None


@functools.lru_cache(maxsize=256)
def _analyse(source: bytes) -> _Checked:
    """Convert, outline and scan one source (cached by its bytes: the verifier prepares, then evaluates)."""
    text = source.decode("utf-8")
    if not text.strip():
        raise RegoSyntaxError("empty policy source", 1)
    text = to_v1(text)
    module = read_module(text)
    for ref in module.references():
        # refused whatever the module binds (a local variable, a rule or an import alias named like a
        # restricted built-in): a false alarm on such a name is the price of never missing the built-in
        builtin = restricted(ref)
        if builtin is not None:
            raise _Forbidden(builtin, ref.line, ref.usage)
    bound = module.bound_names()
    chainloop: list[str] = []
    for name, _line in module.calls():
        if name in bound or name.split(".")[0] in bound:
            continue  # a function of this module or of an import, not a built-in
        if name.startswith("chainloop.") and name not in chainloop:
            chainloop.append(name)
    return _Checked(text, module, tuple(chainloop))


def _located(exc: PolicyError, checked: _Checked) -> PolicyError:
    """regopy reports an unknown function without a line: add the line of its first call."""
    marker = "Function not found: "
    if marker not in exc.message:
        return exc
    name = exc.message.split(marker, 1)[1].strip()
    line = next((line for called, line in checked.module.calls() if called == name), None)
    if line is None:
        return exc
    return PolicyError(f"{exc.message} (line {line})", hint=exc.hint)


def _explained(exc: PolicyError, checked: _Checked) -> PolicyError:
    """An error a known regopy built-in bug causes, in a policy that calls that built-in: say so, with the
    rewrite (:mod:`~crafter._internal.policies.engines.rego_bugs`); otherwise the error as it is."""
    explanation = explain(exc.message, (name for name, _line in checked.module.calls()))
    if explanation is None:
        return exc
    addition, hint = explanation
    return PolicyError(f"{exc.message} ({addition})", hint=hint)


def _plain_args(args: Args) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list | tuple) else v for k, v in args.items()}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _go_type(value: Any) -> str:
    """The type name Chainloop's messages print (Go's %T of a decoded JSON value)."""
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return _GO_TYPES.get(type(value), type(value).__name__)
