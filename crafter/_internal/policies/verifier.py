"""``PolicyVerifier``: which policies apply, the input document, dispatch to engines, merging, gating data.

Implements the crafter's :class:`~crafter._internal.policies.hooks.PolicyHook` for contracts that attach policies.
Attachments of one call run in parallel threads (each engine is thread-safe; Rego evaluations run in worker
processes), and results keep attachment order. The scripts of one attachment run in order and are merged into
one evaluation, as in Chainloop (reference sections 2.2, 5.1, 6).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs

from crafter._internal.contract import Contract
from crafter._internal.crafting_state import CraftingState, Material, now_rfc3339
from crafter._internal.policies.engines.interface import (
    EngineRegistry,
    EngineResult,
    Limits,
    PolicyEngine,
    Script,
)
from crafter._internal.policies.inputs import material_input, statement_input
from crafter._internal.policies.options import VerifierOptions
from crafter._internal.policies.spec import (
    ATTESTATION,
    Attachment,
    GroupAttachment,
    Policy,
    PolicyGroup,
    Selector,
)
from crafter._internal.policy_record import EvaluatedViolation, PolicyEvaluation
from crafter.errors import PolicyError

__all__ = ["PolicyVerifier", "VerifierOptions", "default_engines", "default_loader", "evaluate_policy"]

log = logging.getLogger("crafter.policies")


@attrs.frozen
class _Task:
    """One attachment to evaluate: the policy loaded, and everything its evaluation record needs."""

    attachment: Attachment
    policy: Policy
    group: PolicyGroup | None = None
    group_args: Mapping[str, str] = attrs.field(factory=dict)
    group_gate: bool | None = None
    runtime_inputs: bool = True


def default_engines(options: VerifierOptions) -> EngineRegistry:
    def rego() -> PolicyEngine:
        from crafter._internal.policies.engines.rego import RegoEngine

        return RegoEngine(backend=options.rego_backend, workers=options.max_workers or None)

    def wasm() -> PolicyEngine:
        from crafter._internal.policies.engines.wasm import WasmEngine

        return WasmEngine(memory_cap=options.wasm_memory_bytes)

    return EngineRegistry.with_entry_points({"rego": rego, "wasm": wasm})


def default_loader(
    cwd: Path, options: VerifierOptions, engines: EngineRegistry, sealed: Mapping[str, bytes] | None = None
) -> Any:
    """``sealed``: load only these sources (another loader's :meth:`~crafter._internal.policies.loader.PolicyLoader.sources`)
    and built-in policies."""
    from crafter._internal.policies.loader import PolicyLoader
    from crafter._internal.resources import policies_dir

    return PolicyLoader(
        cwd=cwd,
        builtin_dir=policies_dir(),
        cache_dir=options.cache_dir,
        engines=engines.names(),
        timeout=options.http_timeout,
        sealed=sealed,
    )


class PolicyVerifier:
    """Evaluates a contract's policy attachments for materials and statements."""

    def __init__(
        self,
        contract: Contract,
        *,
        cwd: Path,
        contract_path: str = "",
        options: VerifierOptions | None = None,
        engines: EngineRegistry | None = None,
        loader: Any = None,
        sealed: Mapping[str, bytes] | None = None,
    ) -> None:
        """``sealed``: the policy sources resolved when the attestation was initialised (remote state); only
        those (and built-in policies) are loaded."""
        self.contract = contract
        self.options = options or VerifierOptions()
        self.engines = engines or default_engines(self.options)
        self.loader = loader or default_loader(cwd, self.options, self.engines, sealed)
        self.base = contract_path or None  # relative references resolve against the contract file
        self._cache: dict[str, EngineResult] = {}
        self._cache_lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------------------
    def _load(self, attachment: Attachment, base: str | None) -> Policy:
        if attachment.embedded is not None:
            policy: Policy = self.loader.load_embedded(attachment.embedded, base=base)
        else:
            policy = self.loader.load_policy(attachment.ref, base=base)
        return policy

    def _attachments(self, key: str) -> list[Attachment]:
        from crafter._internal.policies.documents import parse_attachment

        return [parse_attachment(a) for a in self.contract.policies.get(key, []) if not a.get("disabled")]

    def _groups(self) -> list[tuple[GroupAttachment, PolicyGroup, dict[str, str]]]:
        from crafter._internal.policies.args import compute_arguments
        from crafter._internal.policies.documents import parse_group_attachment

        out = []
        for raw in self.contract.policy_groups:
            ga = parse_group_attachment(raw)
            group: PolicyGroup = self.loader.load_group(ga.ref, base=self.base)
            out.append((ga, group, compute_arguments(group.name, group.inputs, ga.with_, None)))
        return out

    def check_references(self) -> None:
        """Load every attached policy and group now, so a broken reference fails ``init``, not ``push``."""
        for key in ("materials", "attestation"):
            for attachment in self._attachments(key):
                self._load(attachment, self.base)
        for _ga, group, _args in self._groups():
            base = group.reference.uri if group.reference else self.base
            for gm in group.materials:
                for attachment in gm.policies:
                    self._load(attachment, base)
            for attachment in group.attestation:
                self._load(attachment, base)

    def group_materials(self) -> list[dict[str, Any]]:
        """Named materials that policy groups add to the contract (reference section 6.5)."""
        from crafter._internal.policies.args import interpolate_group_material_name

        out = []
        for _ga, group, args in self._groups():
            for gm in group.materials:
                name = interpolate_group_material_name(gm.name, args) if gm.name else ""
                if name and gm.kind:
                    out.append({"name": name, "type": gm.kind, "optional": gm.optional})
        return out

    # -- which attachments apply -------------------------------------------------------------------------
    def _material_tasks(self, material: Material) -> list[_Task]:
        from crafter._internal.policies.args import interpolate_group_material_name

        tasks = []
        for attachment in self._attachments("materials"):
            policy = self._load(attachment, self.base)
            kinds = policy.kinds
            if kinds and material.kind not in kinds:
                continue
            if attachment.selector.name and not attachment.selector.matches(material.name):
                continue
            if not kinds and not attachment.selector.name:
                continue
            tasks.append(_Task(attachment, policy))
        for ga, group, args in self._groups():
            base = group.reference.uri if group.reference else self.base
            for gm in group.materials:
                name = interpolate_group_material_name(gm.name, args) if gm.name else ""
                if name and not Selector(name, gm.match_mode).matches(material.name):
                    continue
                for attachment in gm.policies:
                    policy = self._load(attachment, base)
                    if policy.name in ga.skip or (policy.kinds and material.kind not in policy.kinds):
                        continue
                    tasks.append(_Task(attachment, policy, group, args, ga.gate, runtime_inputs=False))
        return tasks

    def _statement_tasks(self) -> list[_Task]:
        tasks = [_Task(a, self._load(a, self.base)) for a in self._attachments("attestation")]
        for ga, group, args in self._groups():
            base = group.reference.uri if group.reference else self.base
            for attachment in group.attestation:
                policy = self._load(attachment, base)
                if policy.name not in ga.skip:
                    tasks.append(_Task(attachment, policy, group, args, ga.gate, runtime_inputs=False))
        return tasks

    # -- PolicyHook --------------------------------------------------------------------------------------
    def verify_material(
        self, state: CraftingState, material: Material, path: str | None
    ) -> tuple[PolicyEvaluation, ...]:
        tasks = self._material_tasks(material)
        if not tasks:
            return ()  # the material is not even read
        # The attestation's start time is the clock policies see: stable across the adds of one attestation
        # (so identical evaluations are served from the cache) and recorded for replay.
        when = state.attestation.initialized_at or now_rfc3339()
        w = state.attestation.workflow
        input_json = material_input(
            material, path, project=w.project, version=w.version, evaluation_time=when
        )
        gate = self.options.enforce or state.attestation.block_on_policy_violation
        return self._run(tasks, material.kind, input_json, material.name, when, phase="", default_gate=gate)

    def verify_statement(
        self, state: CraftingState, statement: Mapping[str, Any], phase: str = "PUSH"
    ) -> tuple[PolicyEvaluation, ...]:
        tasks = self._statement_tasks()
        if not tasks:
            return ()
        when = state.attestation.finished_at or state.attestation.initialized_at or now_rfc3339()
        gate = self.options.enforce or state.attestation.block_on_policy_violation
        return self._run(
            tasks, ATTESTATION, statement_input(statement), "", when, phase=phase, default_gate=gate
        )

    def _run(
        self,
        tasks: Sequence[_Task],
        kind: str,
        input_json: bytes,
        material_name: str,
        when: str,
        phase: str,
        default_gate: bool,
    ) -> tuple[PolicyEvaluation, ...]:
        def one(task: _Task) -> PolicyEvaluation | None:
            return self.evaluate(task, kind, input_json, material_name, when, phase, default_gate)

        workers = min(len(tasks), self.options.max_workers or os.cpu_count() or 1)
        if workers <= 1:
            results = [one(t) for t in tasks]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="policy") as pool:
                results = list(pool.map(one, tasks))  # map keeps attachment order; the first error is raised
        for ev in results:
            if ev is not None:
                for line in ev.prints:
                    log.debug("policy %s printed: %s", ev.name, line)
        return tuple(ev for ev in results if ev is not None)

    # -- one attachment ----------------------------------------------------------------------------------
    def evaluate(
        self,
        task: _Task,
        kind: str,
        input_json: bytes,
        material_name: str,
        when: str,
        phase: str = "",
        default_gate: bool | None = None,
    ) -> PolicyEvaluation | None:
        """Evaluate one attachment; None when no script applies, the phase excludes it, or all were ignored."""
        from crafter._internal.policies.args import apply_runtime_inputs, compute_arguments, engine_args

        policy, attachment = task.policy, task.attachment
        scripts = policy.scripts_for(kind)
        phases = policy.phases_for(kind)
        if not scripts or (phase and phases and phase not in phases):
            return None
        given: Mapping[str, str] = attachment.with_
        runtime = self.options.runtime_inputs if task.runtime_inputs else {}
        if runtime:
            # Chainloop merges --policy-input into `with` first, so a runtime value satisfies a required input.
            declared = {spec.name for spec in policy.inputs}
            given = {**given, **{k: v for k, v in runtime.items() if not declared or k in declared}}
        computed = compute_arguments(policy.name, policy.inputs, given, task.group_args or None)
        overrides: tuple[str, ...] = ()
        if runtime:
            computed, overrides = apply_runtime_inputs(
                computed, self.options.runtime_inputs, inputs=policy.inputs
            )
        args = engine_args(computed)
        limits = self.options.limits(attachment)
        start = time.perf_counter()
        results: list[EngineResult] = []
        prepared_sources: list[bytes] = []
        engine_names: list[str] = []
        for script in scripts:
            engine = self.engines.get(script.engine)
            prepared = engine.prepare(Script(script.source, policy.name, script.origin, script.engine))
            results.append(self._cached_evaluate(engine, prepared, input_json, args, limits))
            prepared_sources.append(prepared.source)
            engine_names.append(script.engine)
        duration_ms = round((time.perf_counter() - start) * 1000)
        return self._merge(
            task,
            kind,
            material_name,
            results,
            prepared_sources,
            engine_names,
            computed,
            overrides,
            input_json,
            when,
            duration_ms,
            default_gate if default_gate is not None else self.options.enforce,
        )

    def _cached_evaluate(
        self, engine: PolicyEngine, script: Script, input_json: bytes, args: Mapping[str, Any], limits: Limits
    ) -> EngineResult:
        key_doc = [
            engine.name,
            self.options.rego_backend,
            hashlib.sha256(script.source).hexdigest(),
            hashlib.sha256(input_json).hexdigest(),
            args,
        ]
        key = hashlib.sha256(json.dumps(key_doc, sort_keys=True).encode()).hexdigest()
        with self._cache_lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        result = engine.evaluate(script, input_json, args, limits)
        with self._cache_lock:
            self._cache[key] = result
        return result

    def _merge(
        self,
        task: _Task,
        kind: str,
        material_name: str,
        results: Sequence[EngineResult],
        sources: Sequence[bytes],
        engines: Sequence[str],
        computed: Mapping[str, str],
        overrides: tuple[str, ...],
        input_json: bytes,
        when: str,
        duration_ms: int,
        default_gate: bool,
    ) -> PolicyEvaluation | None:
        kept = [(r, s, e) for r, s, e in zip(results, sources, engines, strict=True) if not r.ignore]
        if not kept:
            return None
        policy = task.policy
        skipped = all(r.skipped for r, _, _ in kept)
        reasons = tuple(r.skip_reason for r, _, _ in kept if r.skip_reason) if skipped else ()
        violations = tuple(
            EvaluatedViolation(policy.name, v.message, v.suppress) for r, _, _ in kept for v in r.violations
        )
        reference = policy.reference
        assert reference is not None  # set by the loader for every policy it returns
        explicit = task.group_gate if task.group_gate is not None else task.attachment.gate
        gate = explicit if explicit is not None else default_gate
        keep_sources = not (reference.digest and any(e == "wasm" for _, _, e in kept))
        return PolicyEvaluation(
            name=policy.name,
            type=kind,
            reference=reference,
            material_name=material_name,
            description=policy.description,
            annotations=policy.annotations,
            violations=violations,
            with_=dict(computed),
            skipped=skipped,
            skip_reasons=reasons,
            group_reference=task.group.reference if task.group else None,
            requirements=task.attachment.requirements,
            gate=gate,
            gate_explicit=explicit is not None,
            runtime_input_overrides=overrides,
            engine=",".join(dict.fromkeys(e for _, _, e in kept)),
            evaluated_at=when,
            input_digest="sha256:" + hashlib.sha256(input_json).hexdigest(),
            source_digests=tuple("sha256:" + hashlib.sha256(s).hexdigest() for _, s, _ in kept),
            sources=tuple(s for _, s, _ in kept) if keep_sources else (),
            duration_ms=duration_ms,
            input_json=input_json,
            prints=tuple(p for r, _, _ in kept for p in r.prints),
        )

    def close(self) -> None:
        self.engines.close()


def evaluate_policy(
    ref: str,
    *,
    material: str | None = None,
    kind: str | None = None,
    statement: Mapping[str, Any] | None = None,
    args: Mapping[str, str] | None = None,
    options: VerifierOptions | None = None,
    cwd: Path | None = None,
    evaluation_time: str | None = None,
    strict: bool = True,
) -> PolicyEvaluation | None:
    """Evaluate one policy against one material file (or a statement), as ``crafter policy eval`` does;
    ``strict=False`` accepts a material that fails its format's schema, as ``add --no-strict-validation``."""
    from crafter._internal.materials.detect import detect_kind
    from crafter._internal.materials.interface import CraftOptions
    from crafter._internal.materials.registry import default_registry

    work = cwd or Path.cwd()
    verifier = PolicyVerifier(Contract.empty(), cwd=work, options=options)
    try:
        attachment = Attachment(ref=ref, with_=dict(args or {}))
        policy = verifier._load(attachment, None)
        when = evaluation_time or now_rfc3339()
        if statement is not None or (kind or "").upper() == ATTESTATION:
            if statement is None and material is not None:
                from crafter._internal.files import read_small_file
                from crafter._internal.materials.fileio import MAX_PARSED_BYTES

                raw = read_small_file(
                    Path(material), what="attestation file", limit=MAX_PARSED_BYTES, error=PolicyError
                )
                try:
                    statement = json.loads(raw)
                except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                    raise PolicyError(f"{material}: not a JSON statement ({exc})") from exc
            return verifier.evaluate(
                _Task(attachment, policy), ATTESTATION, statement_input(statement or {}), "", when
            )
        if material is None:
            raise PolicyError("nothing to evaluate: give a material file or a statement")
        registry = default_registry()
        craft_options = CraftOptions(strict=strict)
        crafted = (
            registry.get(kind.upper()).craft(material, craft_options)
            if kind
            else detect_kind(material, registry, craft_options)
        )
        from crafter._internal.material_record import name_from_value, record_material

        mat = record_material(name_from_value(material), crafted, None, {})
        input_json = material_input(mat, material, evaluation_time=when)
        return verifier.evaluate(_Task(attachment, policy), mat.kind, input_json, mat.name, when)
    finally:
        verifier.close()
