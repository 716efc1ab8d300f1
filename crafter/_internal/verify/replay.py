"""``--replay``: every policy evaluation embedded in the statement evaluated again, offline (policies from the
cache or the recorded sources, inputs rebuilt from the statement and the material files), and compared with
the recorded result.

A replay never uses the network, whatever the policy, the bundle or the verifier's options say: the
policies in a bundle are the producer's, and replaying them must not make the verifier's machine send
requests for them. WASM policies run with no allowed host at all, and Rego policies naming ``http.send`` or
``net.lookup_ip_addr`` (anywhere: called, behind a ``with``, as a value) are not evaluated. Both cases are
evaluations that needed the network when they were made; they are reported *not replayed* with a detail
starting ``network:``, like everything else a replay cannot do (the Rego engine refuses those built-ins
anyway, on both backends).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from crafter._internal.verify.cas import fetch_from_cas
from crafter._internal.verify.materials import file_digest
from crafter._internal.verify.result import MaterialCheck, ReplayOutcome
from crafter._internal.verify.statement import policy_evaluations
from crafter.errors import CrafterError, PolicyError

if TYPE_CHECKING:
    from crafter._internal.storage.interface import ContentStore


def replay_evaluations(
    statement: Mapping[str, Any],
    files: Sequence[Path],
    options: Any,
    cwd: Path,
    cas: ContentStore | None = None,
) -> tuple[tuple[ReplayOutcome, ...], tuple[MaterialCheck, ...]]:
    """The replay outcomes, and the checks of the material bytes fetched from ``cas``."""
    import tempfile

    from crafter._internal.contract import Contract
    from crafter._internal.policies.options import VerifierOptions
    from crafter._internal.policies.verifier import PolicyVerifier, default_engines

    # no allowed host, whatever the caller's options: a replay never uses the network (see the module doc)
    opts: VerifierOptions = attrs.evolve(options or VerifierOptions(), allowed_hosts=())
    by_digest = {file_digest(p): p for p in files}
    predicate = statement["predicate"]
    descriptors = {
        m.get("annotations", {}).get("chainloop.material.name", ""): m for m in predicate.get("materials", [])
    }
    with tempfile.TemporaryDirectory(prefix="crafter-verify-cas-") as tmp:
        fetched: dict[str, Path] = {}
        reasons: dict[str, str] = {}
        checks: tuple[MaterialCheck, ...] = ()
        if cas is not None:
            fetched, reasons, checks = fetch_from_cas(cas, predicate, descriptors, by_digest, Path(tmp))
        engines = default_engines(opts)
        verifier = PolicyVerifier(
            Contract.empty(),
            cwd=cwd,
            options=opts,
            engines=engines,
            loader=_offline_loader(cwd, opts, engines),
        )
        try:
            outcomes = tuple(
                _replay_one(verifier, statement, material, ev, descriptors, {**by_digest, **fetched}, reasons)
                for material, ev in policy_evaluations(predicate)
            )
        finally:
            verifier.close()
    return outcomes, checks


def _offline_loader(cwd: Path, options: Any, engines: Any) -> Any:
    from crafter._internal.policies.loader import PolicyLoader
    from crafter._internal.resources import policies_dir

    class OfflineLoader(PolicyLoader):
        """Remote documents come from the cache (or this process) only: a replay never downloads."""

        def _fetch(self, url: str, pin: str, ref: str) -> bytes:
            data = self._cache_get(pin) if pin else None
            if data is None:
                raise _NotReplayable(f"{url} is not in the policy cache and verify does not download")
            return data

    return OfflineLoader(
        cwd=cwd, builtin_dir=policies_dir(), cache_dir=options.cache_dir, engines=engines.names()
    )


class _NotReplayable(Exception):
    pass


def _replay_one(
    verifier: Any,
    statement: Mapping[str, Any],
    material: str,
    ev: Mapping[str, Any],
    descriptors: Mapping[str, Mapping[str, Any]],
    files: Mapping[str, Path],
    unavailable: Mapping[str, str],
) -> ReplayOutcome:
    name = str(ev.get("name", ""))
    try:
        policy = _replay_policy(verifier, ev)
        kind = str(ev.get("type", ""))
        _refuse_network(policy, kind)
        if material:
            when = str(ev.get("evaluatedAt", ""))
            input_json = _material_input(statement, material, kind, when, descriptors, files, unavailable)
            note = "" if _matches(input_json, ev) else "the material input differs from the recorded one"
        else:
            input_json, note = _statement_input(statement, ev)
        result = _evaluate(verifier, policy, ev, kind, material, input_json)
    except _NotReplayable as exc:
        return ReplayOutcome(name, material, "not-replayed", str(exc))
    except CrafterError as exc:
        url = _refused_url(exc)
        if url is not None:
            detail = f"{NETWORK_NOTE} the policy asked for {url or 'a URL'}{OFFLINE}"
            return ReplayOutcome(name, material, "not-replayed", detail)
        return ReplayOutcome(name, material, "not-replayed", f"evaluation failed: {exc.message}")
    if result is None:
        return ReplayOutcome(name, material, "differs", "the policy no longer produces an evaluation")
    recorded = {(str(v.get("subject", "")), str(v.get("message", ""))) for v in ev.get("violations", [])}
    got = {(v.subject, v.message) for v in result.active_violations}
    problems = []
    if recorded != got:
        added = sorted(m for _, m in got - recorded)
        removed = sorted(m for _, m in recorded - got)
        if added:
            problems.append("new violations: " + "; ".join(repr(m) for m in added))
        if removed:
            problems.append("recorded violations not found: " + "; ".join(repr(m) for m in removed))
    if bool(ev.get("skipped", False)) != result.skipped:
        problems.append(f"skipped is {result.skipped}, recorded {bool(ev.get('skipped', False))}")
    if problems:
        return ReplayOutcome(name, material, "differs", "; ".join([*problems, *([note] if note else [])]))
    return ReplayOutcome(name, material, "same", note)


NETWORK_NOTE = "network:"
OFFLINE = "; a replay never uses the network"


def _refuse_network(policy: Any, kind: str) -> None:
    """:class:`_NotReplayable` when a Rego script of ``policy`` for ``kind`` names a network built-in."""
    from crafter._internal.policies.engines.rego import network_use

    for script in policy.scripts_for(kind):
        if script.engine != "rego":
            continue
        found = network_use(script.source)
        if found is not None:
            builtin, line = found
            raise _NotReplayable(f"{NETWORK_NOTE} the policy uses {builtin} (line {line}){OFFLINE}")


def _refused_url(exc: CrafterError) -> str | None:
    """The URL a WASM policy asked for ("" when unknown) and was refused (no host is allowed in a replay);
    None for any other failure."""
    from crafter._internal.policies.engines.wasm_errors import Category, WasmPolicyError

    if isinstance(exc, WasmPolicyError) and exc.category is Category.HTTP_FORBIDDEN:
        return exc.failure.url
    return None


def _matches(input_json: bytes, ev: Mapping[str, Any]) -> bool:
    recorded = _recorded_input_digest(ev)
    return not recorded or "sha256:" + hashlib.sha256(input_json).hexdigest() == recorded


def _replay_policy(verifier: Any, ev: Mapping[str, Any]) -> Any:
    """The policy of an evaluation: loaded by its reference pinned to the recorded digest, else (embedded
    policies) rebuilt from the recorded sources, each checked against its recorded digest."""
    from crafter._internal.policies.spec import Policy, PolicyScript
    from crafter._internal.policy_record import PolicyReference

    ref = ev.get("policyReference") or {}
    uri = str(ref.get("uri", ""))
    digest = ref.get("digest") or {}
    hexdigest = digest.get("sha256", "") if isinstance(digest, Mapping) else str(digest).partition(":")[2]
    name = str(ev.get("name", ""))
    if uri:
        if not hexdigest:
            raise _NotReplayable(f"reference {uri} has no recorded digest to pin")
        if uri.startswith(("chainloop://",)) or ("://" not in uri and ":" in uri):
            raise _NotReplayable(f"{uri} is a Chainloop control-plane reference")
        try:
            policy = verifier.loader.load_policy(f"{uri}@sha256:{hexdigest}")
        except PolicyError as exc:
            raise _NotReplayable(f"policy {uri}@sha256:{hexdigest} cannot be loaded: {exc.message}") from exc
        return attrs.evolve(policy, inputs=())
    sources = []
    for index, text in enumerate(ev.get("sources") or []):
        try:
            sources.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise _NotReplayable(f"recorded source {index} is not base64") from exc
    if not sources:
        raise _NotReplayable("embedded policy without recorded sources")
    recorded = list(ev.get("sourceDigests") or [])
    got = ["sha256:" + hashlib.sha256(s).hexdigest() for s in sources]
    if recorded and recorded != got:
        raise _NotReplayable("the recorded sources do not match the recorded source digests")
    engines = [e for e in str(ev.get("engine", "rego")).split(",") if e] or ["rego"]
    scripts = tuple(
        PolicyScript(
            kind="",
            source=s,
            engine=_source_engine(engines, s, index),
            origin="embedded (recorded in the attestation)",
        )
        for index, s in enumerate(sources)
    )
    return Policy(name=name, scripts=scripts, reference=PolicyReference(name=name))


def _source_engine(engines: Sequence[str], source: bytes, index: int) -> str:
    """The engine that evaluated recorded source ``index``. The evaluation lists its engines once each (any
    engine, plugins included); with several, a source is matched by what it is (WASM by its magic bytes, else
    Rego), and one that matches none of them cannot be replayed rather than be given to a guessed engine."""
    from crafter._internal.policies.engines.interface import detect_engine

    if len(engines) == 1:
        return engines[0]
    detected = detect_engine(source)
    if detected in engines:
        return detected
    raise _NotReplayable(
        f"recorded source {index}: cannot tell which of the engines {', '.join(engines)} ran it"
    )


def _evaluate(
    verifier: Any, policy: Any, ev: Mapping[str, Any], kind: str, material: str, input_json: bytes
) -> Any:
    from crafter._internal.policies.spec import Attachment
    from crafter._internal.policies.verifier import _Task

    with_ = {str(k): str(v) for k, v in (ev.get("with") or {}).items()}
    attachment = Attachment(ref=policy.reference.uri or "embedded", with_=with_)
    task = _Task(attachment, policy, runtime_inputs=False)
    when = str(ev.get("evaluatedAt", ""))
    return verifier.evaluate(task, kind, input_json, material, when)


def _material_input(
    statement: Mapping[str, Any],
    material: str,
    kind: str,
    evaluated_at: str,
    descriptors: Mapping[str, Mapping[str, Any]],
    files: Mapping[str, Path],
    unavailable: Mapping[str, str],
) -> bytes:
    """The input document of a material, rebuilt as :func:`crafter._internal.policies.inputs.material_input` made it.
    ``unavailable``: why the bytes of a digest could not be fetched from the content store."""
    from crafter._internal.crafting_state import Material
    from crafter._internal.policies.inputs import _NOT_READ, _content, encode

    descriptor = descriptors.get(material)
    if descriptor is None:
        raise _NotReplayable(f"material {material!r} is not in the statement")
    path: Path | None = None
    if kind not in _NOT_READ:
        sha = (descriptor.get("digest") or {}).get("sha256", "")
        path = files.get(sha)
        if path is None:
            raise _NotReplayable(
                unavailable.get(sha)
                or f"no local file with the digest of material {material!r} (sha256:{sha}); give it with --material"
            )
    content = _content(Material.lenient(name=material, kind=kind, added_at=""), str(path) if path else None)
    doc: dict[str, Any] = {"elements": content} if isinstance(content, list) else dict(content or {})
    meta: dict[str, Any] = {"annotations": descriptor.get("annotations", {})}
    for key in ("digest", "content", "name"):  # material_descriptor's order
        if key in descriptor:
            meta[key] = descriptor[key]
    md = statement["predicate"].get("metadata", {})
    if md.get("project"):
        meta["project_name"] = md["project"]
    if md.get("projectVersion"):
        meta["project_version_name"] = md["projectVersion"]
    if evaluated_at:  # the recorded evaluation time, last as inputs.metadata adds it
        meta["evaluation_time"] = evaluated_at
    doc["chainloop_metadata"] = meta
    return encode(doc)


def _statement_input(statement: Mapping[str, Any], ev: Mapping[str, Any]) -> tuple[bytes, str]:
    """The statement an attestation-level policy saw, and a note when it is not byte-identical to it.

    ``crafter push`` evaluates attestation policies on the statement without its policy fields
    (:func:`crafter._internal.statement.without_policy_fields`), serialised with sorted keys, so that input is rebuilt
    byte for byte from the signed statement. Bundles made otherwise (older crafter versions, Chainloop) give
    another input digest: the replay then runs on this rebuilt statement and says so.
    """
    from crafter._internal.policies.inputs import statement_input
    from crafter._internal.statement import without_policy_fields

    recorded = _recorded_input_digest(ev)
    data = statement_input(without_policy_fields(statement))
    if recorded and "sha256:" + hashlib.sha256(data).hexdigest() == recorded:
        return data, ""
    why = (
        f"it does not match the recorded input digest {recorded}" if recorded else "no input digest recorded"
    )
    return data, f"the statement input was rebuilt approximately ({why})"


def _recorded_input_digest(ev: Mapping[str, Any]) -> str:
    d = ev.get("inputDigest") or ""
    if isinstance(d, Mapping):
        return f"sha256:{d['sha256']}" if "sha256" in d else ""
    return str(d)
