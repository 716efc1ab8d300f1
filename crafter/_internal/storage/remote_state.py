"""Attestations in progress kept in an OCI registry (``--state oci://REGISTRY/REPO``): one attestation crafted by
many CI runners, without a server.

Everything is an OCI 1.1 artifact in ``REGISTRY/REPO`` (an image manifest with an ``artifactType``, the empty
config and layers), found by tag, since registries such as distribution 2.8 have no referrers API:

    state-<id>                    the attestation as ``init`` made it: the state snapshot (contract, metadata,
                                  INIT evaluations) and one layer per policy source init resolved
    part-<id>-<time>-<random>     one per ``add``: the materials it recorded with their evaluations and the
                                  runner's CI context (a part, :mod:`crafter._internal.parts`); never rewritten
    done-<id>                     written by ``push`` (and ``reset``) before the rest is deleted: closes the
                                  attestation where the registry does not allow deleting

An ``add`` reads the ``state-`` artifact (its blobs are cached by digest beside the local state) and writes one
new part: runners never read-modify-write a shared document, so no add is lost whatever the concurrency.
``status`` and ``push`` read every part and merge them with the rules of ``crafter merge``: the same name with
the same digest is one material; with another digest it is a :class:`~crafter._internal.parts.MergeConflictError` naming
both parts and their CI context. After ``push`` the artifacts are deleted where the registry allows it
(docs/state.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs

from crafter._internal.crafting_state import CraftingState, Material, now_rfc3339
from crafter._internal.parts import MergeConflictError, Part, PartRecord, Recorder, merge_parts, parse_part
from crafter._internal.policy_record import PolicyEvaluation
from crafter._internal.state_store import (
    BaseState,
    Sealed,
    StateEntry,
    decode_state,
    encode_state,
    oldest_first,
    write_atomic,
)
from crafter._internal.storage.credentials import registry_credentials
from crafter._internal.storage.interface import StoreError
from crafter._internal.storage.oci import EMPTY_CONFIG, EMPTY_JSON
from crafter._internal.storage.registry import (
    OCI_MANIFEST,
    TIMEOUT,
    OciReference,
    RegistryClient,
    parse_json,
)
from crafter.errors import CrafterError, StateError

log = logging.getLogger("crafter")

__all__ = ["PART_TYPE", "POLICY_SOURCE_TYPE", "STATE_TYPE", "RemoteStateStore", "is_remote"]

STATE_TYPE = "application/vnd.crafter.state.v1+json"
PART_TYPE = "application/vnd.crafter.part.v1+json"
DONE_TYPE = "application/vnd.crafter.state.closed.v1+json"
POLICY_SOURCE_TYPE = "application/vnd.crafter.policy-source.v1"
LOCATION = "dev.crafter.policy.location"  # a policy source layer's key (PolicyLoader.sources)
CWD = "dev.crafter.state.cwd"  # the working directory of init: where relative policy references resolved
#: The largest part or state snapshot read (a part of 10,000 materials is a few MB).
DOCUMENT_MAX_BYTES = 128 << 20
#: A part up to this size is also embedded in its manifest (the descriptor's ``data``).
EMBED_MAX_BYTES = 64 << 10
#: Parts are read this many at a time.
READERS = 8
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # fits in a tag with its prefix and suffix


def is_remote(reference: str | None) -> bool:
    """Whether a ``--state`` value names a registry (``oci://...``) rather than a local directory."""
    return bool(reference) and str(reference).startswith("oci://")


@attrs.frozen
class _Init:
    state: CraftingState
    sealed: Sealed


class RemoteStateStore:
    """The state of attestations in progress in ``REGISTRY/REPO`` (see the module docstring).

    ``local_dir`` (the local state directory) keeps which attestation is current for this repository and a
    cache of the ``state-`` artifact's blobs, checked against their digests on every use."""

    def __init__(
        self,
        reference: str,
        *,
        local_dir: Path,
        insecure: bool = False,
        environ: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = TIMEOUT,
        client: RegistryClient | None = None,
    ) -> None:
        self.reference = OciReference.parse(reference)
        if self.reference.tag or self.reference.digest:
            raise StoreError(
                f"--state {reference}: remote state is a repository, not a tag or digest",
                hint="give --state oci://REGISTRY/REPO",
            )
        self.location = f"oci://{self.reference.registry}/{self.reference.repository}"
        self.environ: Mapping[str, str] = dict(os.environ if environ is None else environ)
        self.cwd = cwd or Path.cwd()
        self.client = client or RegistryClient(
            self.reference.registry,
            insecure=insecure,
            credentials=registry_credentials(self.reference.registry, self.environ),
            timeout=timeout,
        )
        self.local_dir = local_dir
        key = hashlib.sha256(self.location.encode()).hexdigest()[:16]
        self._pointer = local_dir / "remote" / f"{key}.current"
        self._cache = local_dir / "remote" / "blobs"
        self._inits: dict[str, _Init] = {}
        self._empty: str | None = None
        self._read_parts: dict[str, frozenset[str]] = {}  # the part tags the last load read, by attestation

    @property
    def repository(self) -> str:
        return self.reference.repository

    def describe(self) -> str:
        return self.location

    # -- current attestation -------------------------------------------------------------------------
    def current_id(self) -> str | None:
        try:
            value = self._pointer.read_text("utf-8", "replace").strip()[:128]
        except OSError:
            return None
        return value or None

    def set_current(self, attestation_id: str | None) -> None:
        if attestation_id is None:
            self._pointer.unlink(missing_ok=True)
            return
        try:
            self._pointer.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self._pointer, attestation_id.encode() + b"\n")
        except OSError as exc:  # the attestation exists: only remembering it here failed
            log.warning("cannot remember the current attestation in %s: %s", self._pointer, exc.strerror)

    def resolve(self, attestation_id: str | None) -> str:
        chosen = attestation_id or self.current_id()
        if chosen is None:
            raise StateError(
                f"no attestation given for the remote state {self.location}",
                hint="pass --attestation-id (env CRAFTER_ATTESTATION_ID): the id 'crafter init' printed",
            )
        self._init(chosen)
        return chosen

    # -- tags ------------------------------------------------------------------------------------------
    def _check_id(self, attestation_id: str) -> str:
        if not _ID.match(attestation_id):
            raise StateError(f"invalid attestation id {attestation_id!r}")
        return attestation_id

    def _state_tag(self, attestation_id: str) -> str:
        return f"state-{self._check_id(attestation_id)}"

    def _done_tag(self, attestation_id: str) -> str:
        return f"done-{self._check_id(attestation_id)}"

    def _part_prefix(self, attestation_id: str) -> str:
        return f"part-{self._check_id(attestation_id)}-"

    # -- blobs and manifests ---------------------------------------------------------------------------
    def _blob(self, digest: str, what: str) -> bytes:
        """A blob, from the local cache when it holds it with the right digest."""
        cached = self._cache / digest.replace(":", "-")
        try:
            data = cached.read_bytes()
            if "sha256:" + hashlib.sha256(data).hexdigest() == digest:
                return data
        except OSError:
            pass
        data = self.client.get_blob(self.repository, digest, what=what, max_bytes=DOCUMENT_MAX_BYTES)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(cached, data)
        except OSError as exc:  # a cache that cannot be written costs a download next time, nothing else
            log.debug("cannot cache %s: %s", cached, exc)
        return data

    def _manifest(self, tag: str) -> tuple[str, dict[str, Any]] | None:
        found = self.client.get_manifest(self.repository, tag)
        if found is None:
            return None
        media, digest, body = found
        if media != OCI_MANIFEST:
            raise StateError(f"{self.location}:{tag}: not a crafter state artifact ({media})")
        return digest, parse_json(body, "manifest")

    def _put(
        self,
        tag: str,
        artifact_type: str,
        layers: Sequence[tuple[str, bytes, Mapping[str, str]]],
        annotations: Mapping[str, str] | None = None,
    ) -> str:
        """Upload ``layers`` (media type, bytes, annotations) and tag a manifest of them; its digest."""
        repo = self.repository
        if self._empty is None:  # once per process: every artifact shares the empty config
            self._empty = self.client.put_blob(repo, EMPTY_JSON)
        config = self._empty
        descriptors = []
        for media, data, notes in layers:
            descriptor: dict[str, Any] = {
                "mediaType": media,
                # A part holds its recorder's timestamp: new bytes, no need to ask whether the registry has it.
                "digest": self.client.put_blob(repo, data, check=media != PART_TYPE),
                "size": len(data),
            }
            if media == PART_TYPE and len(data) <= EMBED_MAX_BYTES:
                # OCI 1.1 embedded data: a reader gets the part with the manifest, one request instead of two.
                descriptor["data"] = base64.b64encode(data).decode("ascii")
            if notes:
                descriptor["annotations"] = dict(notes)
            descriptors.append(descriptor)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": EMPTY_CONFIG, "digest": config, "size": len(EMPTY_JSON)},
            "layers": descriptors,
            "annotations": {"org.opencontainers.image.created": now_rfc3339(), **(annotations or {})},
        }
        body = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
        self.client.put_manifest(repo, tag, OCI_MANIFEST, body)
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def _layer(self, manifest: Mapping[str, Any], tag: str, media: str) -> bytes:
        layers = [
            x for x in manifest.get("layers") or [] if isinstance(x, dict) and x.get("mediaType") == media
        ]
        if len(layers) != 1 or not isinstance(layers[0].get("digest"), str):
            raise StateError(f"{self.location}:{tag}: malformed crafter artifact (no single {media} layer)")
        digest = layers[0]["digest"]
        embedded = layers[0].get("data")
        if isinstance(embedded, str):  # trusted only when it is the bytes the digest names
            try:
                data = base64.b64decode(embedded, validate=True)
            except ValueError:
                data = b""
            if "sha256:" + hashlib.sha256(data).hexdigest() == digest:
                return data
        return self._blob(digest, "state document")

    # -- the attestation as init made it ---------------------------------------------------------------
    def _init(self, attestation_id: str) -> _Init:
        hit = self._inits.get(attestation_id)
        if hit is not None:
            return hit
        tag = self._state_tag(attestation_id)
        found = self._manifest(tag)
        if found is None or self._manifest(self._done_tag(attestation_id)) is not None:
            closed = found is not None
            raise StateError(
                f"attestation {attestation_id} "
                + ("was already pushed or reset" if closed else "not found")
                + f" in {self.location}",
                hint="'crafter status --all --state ...' lists the attestations in progress there",
            )
        _digest, manifest = found
        if manifest.get("artifactType") != STATE_TYPE:
            raise StateError(f"{self.location}:{tag}: not a crafter attestation state")
        state = decode_state(self._layer(manifest, tag, STATE_TYPE), f"{self.location}:{tag}")
        sources: dict[str, bytes] = {}
        for layer in manifest.get("layers") or []:
            if isinstance(layer, dict) and layer.get("mediaType") == POLICY_SOURCE_TYPE:
                key = (layer.get("annotations") or {}).get(LOCATION)
                if not isinstance(key, str) or not isinstance(layer.get("digest"), str):
                    raise StateError(f"{self.location}:{tag}: malformed policy source layer")
                sources[key] = self._blob(layer["digest"], "policy source")
        cwd = (manifest.get("annotations") or {}).get(CWD) or str(self.cwd)
        init = _Init(state, Sealed(sources, Path(cwd)))
        self._inits[attestation_id] = init
        return init

    def create(
        self, state: CraftingState, *, sources: Mapping[str, bytes] | None = None, cwd: Path | None = None
    ) -> str:
        """Store a new attestation with the policy sources its init resolved; where it is."""
        tag = self._state_tag(state.attestation_id)
        if self.client.get_manifest(self.repository, tag) is not None:
            raise StateError(f"attestation {state.attestation_id} already exists in {self.location}")
        layers: list[tuple[str, bytes, Mapping[str, str]]] = [(STATE_TYPE, encode_state(state), {})]
        layers += [
            (POLICY_SOURCE_TYPE, data, {LOCATION: key}) for key, data in sorted((sources or {}).items())
        ]
        self._put(tag, STATE_TYPE, layers, {CWD: str(cwd or self.cwd)})
        self._inits.pop(state.attestation_id, None)
        return f"{self.location}:{tag}"

    def sealed(self, attestation_id: str) -> Sealed:
        """The policy sources init resolved: every runner evaluates the same policies, without their files."""
        return self._init(attestation_id).sealed

    def load_base(self, attestation_id: str) -> BaseState:
        """What an ``add`` builds on: the attestation as init made it (other runners' parts are not read)."""
        return BaseState(self._init(attestation_id).state)

    # -- parts -----------------------------------------------------------------------------------------
    def _recorder(self, state: CraftingState) -> Recorder:
        """This runner's CI context, as the part records it."""
        import socket

        from crafter._internal import runners
        from crafter._internal.contract import Contract
        from crafter._internal.runners.git import read_head
        from crafter.errors import RunnerError

        runner = runners.discover_runner(self.environ)
        contract = Contract.from_state(state.contract)
        # The contract's runner binds every job that records into the attestation, not only the first.
        runners.enforce_runner(runners.RunnerType(contract.runner), runner, state.dry_run)
        allow = contract.env_allow_list
        # The attestation's runner context is init's, checked there; a part only says where it came from, so a
        # runner missing some variables still records (what it has), rather than failing its add.
        try:
            context = runners.resolve_context(runner, self.environ, allow)
        except RunnerError:
            try:
                context = runners.resolve_context(runner, self.environ, skip_runner_vars=True)
            except RunnerError:
                context = runners.resolve_context(runners.discover_runner({}), {})
        head = read_head(str(self.cwd), self.environ)
        return Recorder(
            runner_type=runner.type.value,
            job_url=context.job_url or runner.job_url(self.environ),
            environment=context.environment if context.type.value != "RUNNER_TYPE_UNSPECIFIED" else "",
            env_vars=dict(context.env),
            head=head.to_dict() if head is not None else None,
            host=socket.gethostname(),
            exported_at=now_rfc3339(),
        )

    def append(
        self,
        attestation_id: str,
        materials: Sequence[Material],
        evaluations: Mapping[str, Sequence[PolicyEvaluation]],
    ) -> None:
        """Write one part holding ``materials`` and their evaluations. A registry failure is a
        :class:`StoreError` (exit code 20): nothing is queued, the runner retries."""
        state = self._init(attestation_id).state
        w = state.attestation.workflow
        part = Part(
            attestation_id=attestation_id,
            contract_digest=w.schema_revision,
            contract_name=w.contract_name,
            workflow=w.name,
            project=w.project,
            version=w.version,
            recorder=self._recorder(state),
            records=tuple(PartRecord(m, tuple(evaluations.get(m.name, ()))) for m in materials),
        )
        data = json.dumps(part.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()
        # Time first (parts list in the order they were added), then randomness: no two runners share a tag.
        tag = f"{self._part_prefix(attestation_id)}{time.time_ns():016x}-{os.urandom(6).hex()}"
        self._put(tag, PART_TYPE, [(PART_TYPE, data, {})])
        # A push (or reset) that closed the attestation while this add ran may have read the parts before
        # this one: say so rather than report success. (Push, for its part, lists the parts again once it
        # has closed the attestation and names any it did not sign.)
        if self._closed(attestation_id):
            names = ", ".join(m.name for m in materials)
            raise StateError(
                f"attestation {attestation_id} was pushed or reset while this add ran: {names} may not be in "
                f"it ({self.location}:{tag})",
                hint="check the pushed bundle ('crafter verify'); add to a new attestation what it lacks",
            )

    def _closed(self, attestation_id: str) -> bool:
        repo = self.repository
        return (
            self.client.get_manifest(repo, self._done_tag(attestation_id)) is not None
            or self.client.get_manifest(repo, self._state_tag(attestation_id)) is None
        )

    def _part_tags(self, attestation_id: str) -> list[str]:
        prefix = self._part_prefix(attestation_id)
        return sorted(t for t in self.client.tags(self.repository) if t.startswith(prefix))

    def _read_part(self, tag: str) -> Part:
        found = self._manifest(tag)
        if found is None:  # deleted since it was listed: a push or reset is under way elsewhere
            raise StateError(f"{self.location}:{tag}: the part disappeared while it was read")
        _digest, manifest = found
        source = f"{self.location}:{tag}"
        return parse_part(self._layer(manifest, tag, PART_TYPE), source)

    def parts(self, attestation_id: str) -> list[Part]:
        """Every part of the attestation, oldest first."""
        tags = self._part_tags(attestation_id)
        self._read_parts[attestation_id] = frozenset(tags)
        if len(tags) < 2:
            return [self._read_part(t) for t in tags]
        with ThreadPoolExecutor(max_workers=min(READERS, len(tags))) as pool:
            return list(pool.map(self._read_part, tags))

    def load(self, attestation_id: str) -> CraftingState:
        """The attestation with every part merged (a :class:`~crafter._internal.parts.MergeConflictError` when two
        parts record one name with different digests)."""
        init = self._init(attestation_id)
        parts = self.parts(attestation_id)
        for part in parts:
            if part.attestation_id != attestation_id:
                raise StateError(f"{part.source}: a part of attestation {part.attestation_id}")
        try:
            state, _result = merge_parts(init.state, parts)
        except MergeConflictError as exc:
            raise MergeConflictError(
                exc.message,
                hint="find the job that recorded the wrong one, then drop its part: "
                "crafter reset --part TAG (the tag after the repository), and add the right one again",
            ) from None
        return state

    def drop_part(self, attestation_id: str, tag: str) -> str:
        """Delete one part (to resolve a conflict); an error where the registry does not allow deleting."""
        self._init(attestation_id)
        tag = tag.rpartition(":")[2] if tag.startswith("oci://") else tag
        if not tag.startswith(self._part_prefix(attestation_id)):
            raise StateError(
                f"{tag!r} is not a part of attestation {attestation_id}",
                hint="give the tag a conflict names (part-<attestation id>-...)",
            )
        found = self.client.get_manifest(self.repository, tag)
        if found is None:
            raise StateError(f"part {tag} not found in {self.location}")
        if not self.client.delete_manifest(self.repository, found[1]):
            raise StoreError(
                f"{self.location} does not allow deleting, so part {tag} cannot be dropped",
                hint="enable deletes on the registry, or start the attestation again with 'crafter init'",
            )
        return f"{self.location}:{tag}"

    def update(self, attestation_id: str, change: Callable[[CraftingState], CraftingState]) -> CraftingState:
        raise StateError(
            f"{self.location}: 'crafter merge' works on a local state",
            hint="with remote state every add is already a part; merge part files into a local attestation",
        )

    # -- closing ---------------------------------------------------------------------------------------
    def delete(self, attestation_id: str) -> str:
        """Close the attestation (after push, or on reset): mark it closed, then delete its parts and its
        state where the registry allows it. Returns where it was."""
        self._init(attestation_id)
        done = self._done_tag(attestation_id)
        self._put(
            done, DONE_TYPE, [(EMPTY_CONFIG, EMPTY_JSON, {})], {"dev.crafter.state.closed": now_rfc3339()}
        )
        parts = self._part_tags(attestation_id)
        read = self._read_parts.pop(attestation_id, None)
        late = [t for t in parts if read is not None and t not in read]
        if late:  # added after the statement was read: kept, for the user to see what it lacks
            log.warning(
                "%d parts were added to attestation %s after push read it; they are not in the signed "
                "statement and are left in %s: %s",
                len(late),
                attestation_id,
                self.location,
                ", ".join(late),
            )
        tags = [*(t for t in parts if t not in late), self._state_tag(attestation_id), done]
        left = 0
        for tag in tags:
            found = self.client.get_manifest(self.repository, tag)
            if found is not None and not self.client.delete_manifest(self.repository, found[1]):
                left += 1
        if left:
            log.warning(
                "%s does not allow deleting: %d artifacts of attestation %s are left (closed by %s)",
                self.location,
                left,
                attestation_id,
                done,
            )
        self._inits.pop(attestation_id, None)
        if self.current_id() == attestation_id:
            self.set_current(None)
        return f"{self.location}:{self._state_tag(attestation_id)}"

    def entries(self) -> list[StateEntry]:
        """The attestations in progress in the repository (not yet pushed or reset), oldest first."""
        tags = set(self.client.tags(self.repository))
        out: list[StateEntry] = []
        for tag in sorted(tags):
            aid = tag[len("state-") :]
            if not tag.startswith("state-") or f"done-{aid}" in tags or not _ID.match(aid):
                continue
            where = f"{self.location}:{tag}"
            try:
                out.append(StateEntry(aid, where, self.load(aid)))
            except CrafterError as exc:  # a conflict too: listed, with why
                out.append(StateEntry(aid, where, None, exc.message))
        return oldest_first(out)
