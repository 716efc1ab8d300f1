"""``Crafter``: the library API behind every command (init, add, status, push, reset).

Release scripts use it directly; the CLI is a thin layer over it. It never prints, never changes the
working directory or the process environment: the environment it reads is passed in (default: a copy of
``os.environ`` taken at construction).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from crafter._internal.contract import Contract, load_contract
from crafter._internal.crafting_state import (
    Attestation,
    CraftingState,
    Material,
    WorkflowMetadata,
    is_valid_name,
    now_rfc3339,
)
from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.material_record import name_from_value, record_material
from crafter._internal.materials.interface import Crafted, CraftOptions, MaterialRegistry, ProgressCallback
from crafter._internal.policies.hooks import NoPolicies, PolicyHook
from crafter._internal.policy_record import PolicyEvaluation, as_evaluation
from crafter._internal.push_rules import (
    PushRequest,
    PushResult,
    SigningRequest,
    check_complete,
    gate_failures,
    merge_statement_evaluations,
    push_annotations,
)
from crafter._internal.state_store import Sealed, StateBackend, StateEntry, StateStore, default_state_dir
from crafter._internal.storage import ContentStore, Store, bundle_target, publish, upload_materials
from crafter.errors import MaterialError, PolicyError, UsageError

if TYPE_CHECKING:
    from crafter._internal.parts import MergeResult, Part
    from crafter._internal.policies.options import VerifierOptions
    from crafter._internal.status import Status

log = logging.getLogger("crafter")

#: ``password_provider()`` returns the signing key's password, or None when there is none to give.
PasswordProvider = Callable[[], bytes | None]


@attrs.frozen
class AddResult:
    """What one :meth:`Crafter.record` recorded: the materials, and their policy evaluations."""

    materials: tuple[Material, ...]
    evaluations: tuple[PolicyEvaluation, ...] = ()


def parse_key_values(items: Sequence[str], what: str = "annotation") -> dict[str, str]:
    """``KEY=VALUE`` strings to a dict; a malformed item is a usage error naming it."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"invalid {what} {item!r}", hint=f"use --{what} KEY=VALUE")
        out[key.strip()] = value
    return out


def is_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8: command-line arguments and file names that are not carry lone
    surrogates (Python's surrogateescape), which no JSON statement can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def escape_name(text: str) -> str:
    """A file name as the text a statement records, keeping every byte: each backslash is doubled and each
    byte that is not UTF-8 becomes ``\\xHH``, so the form reads back to exactly one name. Names with neither
    (nearly all) are recorded as they are."""
    if "\\" not in text and is_utf8(text):
        return text
    out = []
    for char in text:
        if "\udc80" <= char <= "\udcff":  # an undecodable byte, as os and sys.argv carry it
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif "\ud800" <= char <= "\udfff":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append("\\\\" if char == "\\" else char)
    return "".join(out)


def expand_values(values: Sequence[str]) -> list[str]:
    """Values as given, with globs expanded (sorted). A glob that matches nothing is an error."""
    out: list[str] = []
    for value in values:
        if any(c in value for c in "*?[") and not os.path.exists(value):
            import glob

            matches = sorted(p for p in glob.glob(value, recursive=True) if os.path.isfile(p))
            if not matches:
                raise MaterialError(f"{value}: no file matches this pattern")
            out.extend(matches)
        else:
            out.append(value)
    return out


class Crafter:
    """Make attestations: ``init``, ``add``, ``status``, ``push``, ``reset``.

    Example::

        c = Crafter(state_dir=Path(".crafter"))
        state = c.init(contract=Path("contract.yaml"), workflow="build", project="shop")
        c.add(["sbom.cdx.json"], name="sbom")
        result = c.push(key="release.key", password=b"...")
    """

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        registry: MaterialRegistry | None = None,
        policies: PolicyHook | None = None,
        policy_options: VerifierOptions | None = None,
        http_timeout: float = DEFAULT_TIMEOUT,
        state: str | None = None,
        insecure: bool = False,
    ) -> None:
        """``http_timeout``: the deadline, in seconds, of each request to a timestamp server, a registry and,
        unless ``policy_options`` sets its own, of each remote policy download; KMS calls get it as their
        client allows (``--http-timeout``, docs/security.md).

        ``state``: where attestations in progress are kept (default: ``CRAFTER_STATE`` from ``environ``): a
        directory, as ``state_dir``, or ``oci://REGISTRY/REPO`` for remote state shared by many machines
        (docs/state.md), reached over plain HTTP when ``insecure``; ``state_dir`` then keeps this machine's
        pointer to the current attestation and a cache."""
        self.environ: dict[str, str] = dict(os.environ if environ is None else environ)
        self.cwd = cwd or Path.cwd()
        self.store: StateBackend = self._open_state(
            state or self.environ.get("CRAFTER_STATE") or None, state_dir, insecure, http_timeout
        )
        self._registry = registry
        self._policies = policies  # an explicit hook wins; else one is made per contract
        self.policy_options = policy_options
        self.http_timeout = http_timeout

    def _open_state(
        self, state: str | None, state_dir: Path | None, insecure: bool, timeout: float
    ) -> StateBackend:
        local = state_dir or default_state_dir(self.environ, self.cwd)
        if state is None:
            return StateStore(local)
        from crafter._internal.storage.remote_state import RemoteStateStore, is_remote

        if not is_remote(state):
            if state_dir is not None and Path(state) != state_dir:
                raise UsageError("give --state or --state-dir, not both")
            return StateStore(Path(state))
        return RemoteStateStore(
            state, local_dir=local, insecure=insecure, environ=self.environ, cwd=self.cwd, timeout=timeout
        )

    def _hook(self, contract: Contract, contract_path: str, sealed: Sealed | None = None) -> PolicyHook:
        """The policy hook for an attestation: a verifier when its contract attaches policies; with
        ``sealed``, one that evaluates only the policy sources init resolved."""
        if self._policies is not None:
            return self._policies
        if not contract.policies and not contract.policy_groups:
            return NoPolicies()  # no policy machinery imported for contracts without policies
        from crafter._internal.policies.verifier import PolicyVerifier, VerifierOptions

        options = self.policy_options or VerifierOptions(http_timeout=self.http_timeout)
        if sealed is not None:
            return PolicyVerifier(
                contract, cwd=sealed.cwd, contract_path=contract_path, options=options, sealed=sealed.sources
            )
        return PolicyVerifier(contract, cwd=self.cwd, contract_path=contract_path, options=options)

    @property
    def registry(self) -> MaterialRegistry:
        if self._registry is None:
            from crafter._internal.materials.registry import default_registry

            self._registry = default_registry()
        return self._registry

    # -- init ------------------------------------------------------------------------------------------
    def init(
        self,
        *,
        contract: Path | None = None,
        workflow: str | None = None,
        project: str | None = None,
        version: str = "",
        prerelease: bool = False,
        team: str = "",
        organization: str = "",
        dry_run: bool = False,
    ) -> CraftingState:
        """Start an attestation and make it the current one."""
        import uuid

        from crafter._internal import runners
        from crafter._internal.runners.git import read_head

        if contract is not None:
            loaded, raw = load_contract(contract)
            revision = "sha256:" + hashlib.sha256(raw).hexdigest()
        else:
            loaded, revision = Contract.empty(), ""
        runner = runners.discover_runner(self.environ)
        runners.enforce_runner(runners.RunnerType(loaded.runner), runner, dry_run)
        context = runners.resolve_context(runner, self.environ, loaded.env_allow_list)
        default_name = name_from_value(str(self.cwd))
        workflow_name = workflow or loaded.name or default_name
        project_name = project or default_name
        attestation_id = str(uuid.uuid4())
        meta = WorkflowMetadata(
            name=workflow_name,
            project=project_name,
            version=version,
            prerelease=prerelease,
            team=team,
            # Stable per project and workflow, as a server-assigned id would be.
            workflow_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"crafter:{project_name}/{workflow_name}")),
            workflow_run_id=attestation_id,
            schema_revision=revision,
            contract_name=loaded.name,
            organization=organization,
        )
        state = CraftingState(
            contract=loaded.document,
            attestation=Attestation(
                initialized_at=now_rfc3339(),
                workflow=meta,
                env_vars=dict(context.env),
                runner_type=context.type.value,
                runner_url=context.job_url,
                runner_environment=context.environment
                if context.type.value != "RUNNER_TYPE_UNSPECIFIED"
                else "",
                head=read_head(str(self.cwd), self.environ),
            ),
            dry_run=dry_run,
        )
        contract_path = str(contract.resolve()) if contract is not None else ""
        state = attrs.evolve(state, contract_path=contract_path)
        state, sources = self._init_policies(state, loaded, contract_path)
        self.store.create(state, sources=sources, cwd=self.cwd)
        self.store.set_current(attestation_id)
        return state

    def _init_policies(
        self, state: CraftingState, contract: Contract, contract_path: str
    ) -> tuple[CraftingState, dict[str, bytes]]:
        """Check every policy reference now, add the materials policy groups declare, run INIT policies.
        Also returns the policy sources read (what remote state gives the other runners)."""
        hook = self._hook(contract, contract_path)
        try:
            check = getattr(hook, "check_references", None)
            if check is not None:
                check()
            group_materials = getattr(hook, "group_materials", None)
            extra: list[dict[str, Any]] = group_materials() if group_materials is not None else []
            if extra:
                state = attrs.evolve(state, contract=_with_group_materials(state.contract, extra))
            enforce = bool(self.policy_options and self.policy_options.enforce)
            state = attrs.evolve(
                state, attestation=attrs.evolve(state.attestation, block_on_policy_violation=enforce)
            )
            from crafter._internal.statement import render, without_policy_fields

            evaluations = _from_hook(
                hook, hook.verify_statement(state, without_policy_fields(render(state)), phase="INIT")
            )
            read_sources = getattr(getattr(hook, "loader", None), "sources", None)
            sources: dict[str, bytes] = read_sources() if callable(read_sources) else {}
        finally:
            hook.close()
        state = attrs.evolve(
            state, attestation=attrs.evolve(state.attestation, policy_evaluations=evaluations)
        )
        return state, sources

    # -- add -------------------------------------------------------------------------------------------
    def add(
        self,
        values: Sequence[str],
        *,
        name: str | None = None,
        kind: str | None = None,
        annotations: Mapping[str, str] | None = None,
        strict: bool = True,
        attestation_id: str | None = None,
        progress: Callable[[str], ProgressCallback | None] | None = None,
        warn: Callable[[str], None] | None = None,
        cas: ContentStore | None = None,
    ) -> list[Material]:
        """The materials :meth:`record` records (same arguments), without their evaluations."""
        return list(
            self.record(
                values,
                name=name,
                kind=kind,
                annotations=annotations,
                strict=strict,
                attestation_id=attestation_id,
                progress=progress,
                warn=warn,
                cas=cas,
            ).materials
        )

    def record(
        self,
        values: Sequence[str],
        *,
        name: str | None = None,
        kind: str | None = None,
        annotations: Mapping[str, str] | None = None,
        strict: bool = True,
        attestation_id: str | None = None,
        progress: Callable[[str], ProgressCallback | None] | None = None,
        warn: Callable[[str], None] | None = None,
        cas: ContentStore | None = None,
    ) -> AddResult:
        """Record one or more materials as one all-or-nothing change, with their policy evaluations; return
        both (the evaluations as stored, in the order of the materials).

        Each value is a file path (globs expanded), an image reference or a string. Files are named after
        their base name unless ``name`` is given (only with a single value). ``cas`` gets file bytes first.
        """
        aid = self.store.resolve(attestation_id)
        base = self.store.load_base(aid)
        state = base.state
        contract = Contract.from_state(state.contract)
        expanded = expand_values(values)
        if not expanded:
            raise UsageError(
                "nothing to add", hint="give a file, an image reference or a string with --value"
            )
        if name is not None and len(expanded) > 1:
            raise UsageError(
                f"--name names one material, but {len(expanded)} values were given",
                hint="drop --name: each file is named after its base name",
            )
        if name is not None and not is_valid_name(name):
            raise MaterialError(
                f"invalid material name {name!r}: must contain only lowercase letters, numbers, and hyphens."
            )
        user_annotations = dict(annotations or {})
        for key, text in user_annotations.items():
            for what, part in (("name", key), ("value", text)):
                if not is_utf8(part):
                    raise UsageError(
                        f"annotation {escape_name(key)!r}: its {what} is not UTF-8 text ({escape_name(part)!r})",
                        hint="annotations are recorded as text in the statement",
                    )
        crafted: list[Material] = []
        for value in expanded:
            if not is_utf8(value) and not os.path.lexists(value):
                raise MaterialError(
                    f"{escape_name(value)!r} is not UTF-8 text and names no file",
                    hint="a string material is recorded as text in the statement",
                )
            opts = CraftOptions(strict=strict, progress=progress(value) if progress else None, warn=warn)
            try:
                crafted.append(self._craft_one(value, name, kind, contract, user_annotations, opts))
            except MemoryError:  # a material too large for this machine: a clean error, the state untouched
                raise MaterialError(
                    f"{escape_name(value)}: too large to process in the memory available",
                    hint="record it as an ARTIFACT (--kind ARTIFACT), which is hashed as a stream",
                ) from None
        counts: dict[str, int] = {}
        for m in crafted:
            counts[m.name] = counts.get(m.name, 0) + 1
        duplicates = sorted(n for n, c in counts.items() if c > 1)
        if duplicates:
            raise MaterialError(
                f"several values would be recorded as material {duplicates[0]!r}",
                hint="add them in separate calls with --name",
            )
        crafted = upload_materials(cas, crafted, expanded, contract)  # before anything is recorded
        hook = self._hook(contract, state.contract_path, self.store.sealed(aid))
        try:
            evaluations = _evaluate_materials(hook, state, crafted, expanded)
        finally:
            hook.close()

        for m in crafted:
            if m.name in base.recorded:
                log.info("material %s already set, overriding it", m.name)
        # One journal record under the state lock: its cost does not grow with the attestation.
        self.store.append(aid, crafted, evaluations)
        return AddResult(
            materials=tuple(crafted),
            evaluations=tuple(e for m in crafted for e in evaluations.get(m.name, ())),
        )

    def _craft_one(
        self,
        value: str,
        name: str | None,
        kind: str | None,
        contract: Contract,
        user_annotations: Mapping[str, str],
        opts: CraftOptions,
    ) -> Material:
        declared = contract.material(name) if name else None
        if declared is not None:
            if kind is not None and kind != declared.kind:
                raise MaterialError(
                    f"material {name!r} is declared as {declared.kind} in the contract, not {kind}",
                    hint="drop --kind, or add it under another name",
                )
            result = self._craft_as_declared(value, name or "", declared.kind, opts)
        elif kind is not None:
            result = self.registry.get(kind).craft(value, opts)
        else:
            from crafter._internal.materials.detect import detect_kind

            result = detect_kind(value, self.registry, opts)
        mat_name = name or (
            name_from_value(value)
            if result.filename is not None or os.path.exists(value)
            else f"material-{result.digest.split(':')[1][:12]}"
        )
        if result.filename is not None:
            result = attrs.evolve(result, filename=escape_name(result.filename))
        return self._record(mat_name, result, declared, user_annotations)

    def _craft_as_declared(self, value: str, name: str, kind: str, opts: CraftOptions) -> Crafted:
        from crafter._internal.materials.detect import looks_like_missing_file, missing_file_error

        material_kind = self.registry.get(kind)
        if material_kind.file_based and looks_like_missing_file(value):
            missing = missing_file_error(value)
            raise MaterialError(
                f"material {name!r} must be {kind} (declared in the contract), but {missing.message}",
                hint=f"pass a {kind} file for {name!r}",
            )
        try:
            return material_kind.craft(value, opts)
        except MaterialError as exc:
            actual = self._guess_kind(value)
            found = f"{value} looks like {actual}" if actual and actual != kind else str(exc)
            raise MaterialError(
                f"material {name!r} must be {kind} (declared in the contract), but {found}",
                hint=exc.hint if actual == kind or actual is None else f"pass a {kind} file for {name!r}",
            ) from exc

    def _guess_kind(self, value: str) -> str | None:
        from crafter._internal.materials.detect import detect_kind

        try:
            return detect_kind(value, self.registry, CraftOptions()).kind
        except MaterialError:
            return None

    _record = staticmethod(record_material)

    # -- status ----------------------------------------------------------------------------------------
    def status(self, attestation_id: str | None = None) -> Status:
        from crafter._internal.status import build_status

        aid = self.store.resolve(attestation_id)
        return build_status(self.store.load(aid))

    def list(self) -> list[StateEntry]:
        """Every attestation in progress in the state directory."""
        return self.store.entries()

    # -- push ------------------------------------------------------------------------------------------
    def push(
        self,
        request: PushRequest | None = None,
        *,
        key: str | None = None,
        bundle: Path | None = None,
        annotations: Mapping[str, str] | None = None,
        attestation_id: str | None = None,
        password: bytes | PasswordProvider | None = None,
        bypass_policy_check: bool = False,
        stores: Sequence[Store] = (),
        timestamp_server: str | None = None,
    ) -> PushResult:
        """Check completeness, render, evaluate, sign and write the bundle; then discard the state.

        Either one :class:`~crafter.PushRequest` (how to sign, key or keyless; stores by reference,
        opened here by their scheme), or the keyword arguments (``key`` a key reference, ``stores`` opened
        stores), not both.

        ``timestamp_server``: an RFC 3161 timestamp authority's URL; its timestamp over the signature goes
        into the bundle. If it fails (:class:`SigningError`), nothing is written and the state stays.

        The bundle is copied to ``stores``; if one fails, the local bundle and the state stay.

        Raises :class:`~crafter.errors.PolicyGateError` (exit code 4) when a gated policy has violations, after
        the signed bundle is written and stored and the state discarded (as Chainloop does): the exception's
        ``result`` is the full :class:`PushResult` (``bundle_path``, ``payload_digest``, ``evaluations``,
        ``gate_failures``). With ``bypass_policy_check=True`` it does not raise; the bypass is recorded in the
        predicate and the violations are still listed in ``gate_failures``.
        """
        if request is None:
            if key is None:
                raise UsageError("give exactly one of --key and --keyless")
            request = PushRequest(
                signing=SigningRequest(key=key, password=password),
                bundle=bundle,
                annotations=annotations or {},
                attestation_id=attestation_id,
                bypass_policy_check=bypass_policy_check,
                timestamp_server=timestamp_server,
            )
        elif (
            stores
            or bypass_policy_check
            or any(
                v is not None for v in (key, bundle, annotations, attestation_id, password, timestamp_server)
            )
        ):
            raise UsageError("Crafter.push: give a PushRequest or keyword arguments, not both")
        return self._push(request, stores)

    def open_stores(self, request: PushRequest) -> tuple[Store, ...]:
        """The bundle stores a push request names, each opened by its reference's scheme."""
        from crafter._internal.storage import bundle_store

        return tuple(
            bundle_store(ref, insecure=request.insecure, environ=self.environ, timeout=self.http_timeout)
            for ref in request.stores
        )

    def _push(self, request: PushRequest, extra_stores: Sequence[Store]) -> PushResult:
        from crafter._internal.signing.bundle import sign_statement, write_bundle
        from crafter._internal.signing.keys import load_signer
        from crafter._internal.statement import SignedStatement, render, without_policy_fields

        stores = [*self.open_stores(request), *extra_stores]  # a bad reference fails before anything
        key = request.signing.reference()
        annotations = request.annotations
        bypass_policy_check = request.bypass_policy_check
        timestamp_server = request.timestamp_server
        bundle = request.bundle
        aid = self.store.resolve(request.attestation_id)
        state = self.store.load(aid)
        contract = Contract.from_state(state.contract)
        enforce = bool(self.policy_options and self.policy_options.enforce)
        state = attrs.evolve(
            state,
            attestation=attrs.evolve(
                state.attestation,
                annotations=push_annotations(state, contract, annotations or {}),
                finished_at=now_rfc3339(),
                bypass_policy_check=bypass_policy_check,
                block_on_policy_violation=state.attestation.block_on_policy_violation or enforce,
            ),
        )
        check_complete(state, contract)
        signer = load_signer(
            key, request.signing.password_provider(), environ=self.environ, timeout=self.http_timeout
        )
        hook = self._hook(contract, state.contract_path, self.store.sealed(aid))
        try:
            pushed = _from_hook(
                hook, hook.verify_statement(state, without_policy_fields(render(state)), phase="PUSH")
            )
        finally:
            hook.close()
        evaluations = merge_statement_evaluations(state.attestation.policy_evaluations, pushed)
        if enforce:
            evaluations = tuple(e.enforced() for e in evaluations)
        state = attrs.evolve(
            state, attestation=attrs.evolve(state.attestation, policy_evaluations=evaluations)
        )
        rendered = SignedStatement.of(render(state))
        signed = sign_statement(
            rendered.payload, signer, timestamp_server=timestamp_server, http_timeout=self.http_timeout
        )
        digest = rendered.digest
        target = bundle_target(bundle or self.cwd / f"attestation-{aid}.sigstore.json", digest)
        write_bundle(target, signed)
        stored = publish(stores, target, digest)
        self.store.delete(aid)  # only once the bundle is safely written and stored
        result = PushResult(
            attestation_id=aid,
            bundle_path=target,
            statement=rendered.statement,
            payload_digest=digest,
            payload=rendered.payload,
            stored=stored,
            evaluations=evaluations,
            gate_failures=tuple(
                gate_failures(evaluations, block_on_violation=state.attestation.block_on_policy_violation)
            ),
            bypassed=bypass_policy_check,
        )
        result.check_gates()  # fail closed: a caller that ignores gate_failures cannot ship a blocked release
        return result

    # -- export and merge (crafting across many machines) ----------------------------------------------
    def export_part(self, path: Path | None = None, attestation_id: str | None = None) -> Part:
        """The attestation's recorded materials (with their evaluations and this job's CI context) as a part,
        written to ``path`` when given; the attestation stays in progress. See docs/state.md."""
        from crafter._internal.parts import export_part, write_part

        part = export_part(self.store.load(self.store.resolve(attestation_id)))
        if path is not None:
            write_part(part, path)
        return part

    def merge(
        self, parts: Sequence[Path | str], *, force: bool = False, attestation_id: str | None = None
    ) -> MergeResult:
        """Merge part files (globs expanded) into the attestation, as one change under the state lock.

        Raises ``MergeConflictError`` (a :class:`~crafter.CrafterError`, exit code 14) when one material name has
        different digests, :class:`~crafter.errors.ContractError` for a part of another contract and ``PartError``
        (a :class:`~crafter.CrafterError`) for an unreadable part or one of another workflow, project or version
        (those two unless ``force``); nothing is written then. Merging a part again changes nothing.
        """
        from crafter._internal.parts import PartError, merge_parts, read_part

        aid = self.store.resolve(attestation_id)
        try:
            paths = expand_values([str(p) for p in parts])
        except MaterialError as exc:  # a glob that matches nothing
            raise PartError(exc.message) from None
        if not paths:
            raise UsageError("nothing to merge", hint="crafter merge PART.json ...")
        loaded = [read_part(Path(p)) for p in paths]
        outcome: list[MergeResult] = []

        def change(state: CraftingState) -> CraftingState:
            new, result = merge_parts(state, loaded, force)
            outcome.append(result)
            return new

        self.store.update(aid, change)
        return outcome[-1]

    # -- reset -----------------------------------------------------------------------------------------
    def reset(self, attestation_id: str | None = None, *, part: str | None = None) -> str:
        """Discard an attestation in progress (a corrupted one too); returns its id. With ``part`` (remote
        state only), discard only that part, the way to resolve a conflict; returns where it was."""
        aid = self.store.resolve(attestation_id)
        if part is not None:
            drop = getattr(self.store, "drop_part", None)
            if drop is None:
                raise UsageError("--part works with remote state (--state oci://...)")
            return str(drop(aid, part))
        self.store.delete(aid)
        return aid


def _with_group_materials(document: Mapping[str, Any], extra: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The contract document with materials required by policy groups added (the contract wins on names)."""
    doc = dict(document)
    body = doc if "schemaVersion" in doc else dict(doc.get("spec", {}))
    materials = list(body.get("materials", []))
    names = {m["name"] for m in materials}
    for m in extra:
        if m["name"] not in names:
            materials.append(dict(m))
        else:
            log.info(
                "material %s is declared by the contract and by a policy group; the contract wins", m["name"]
            )
    body["materials"] = materials
    if "schemaVersion" not in doc:
        doc["spec"] = body
    return doc


def _from_hook(
    hook: PolicyHook, evaluations: Iterable[PolicyEvaluation | Mapping[str, Any]]
) -> tuple[PolicyEvaluation, ...]:
    """A hook's evaluations as models. Dicts (what hooks returned in crafter 0.1) are read with a
    DeprecationWarning; anything else, or a dict that is no evaluation, is the hook's error, named."""
    source = f"policy hook {type(hook).__name__}"
    try:
        return tuple(as_evaluation(e, source=source) for e in evaluations)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise PolicyError(f"{source} returned an invalid evaluation: {exc}") from None


def _evaluate_materials(
    hook: PolicyHook, state: CraftingState, materials: Sequence[Material], values: Sequence[str]
) -> dict[str, tuple[PolicyEvaluation, ...]]:
    """Each material's policy evaluations; several materials are evaluated in parallel threads (engines are
    thread-safe, and Rego runs in worker processes), the results kept by material name."""

    def one(pair: tuple[Material, str]) -> tuple[PolicyEvaluation, ...]:
        material, value = pair
        return _from_hook(
            hook, hook.verify_material(state, material, value if os.path.isfile(value) else None)
        )

    pairs = list(zip(materials, values, strict=True))
    if isinstance(hook, NoPolicies) or len(pairs) < 2:
        return {m.name: one((m, v)) for m, v in pairs}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(pairs), os.cpu_count() or 1)) as pool:
        results = list(pool.map(one, pairs))
    return {m.name: r for (m, _), r in zip(pairs, results, strict=True)}
