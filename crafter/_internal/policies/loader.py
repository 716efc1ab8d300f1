"""Loading policies and policy groups from references (docs/policies/references.md).

A reference is one of: a file path or ``file://`` path (relative ones resolved against the referring
document's directory first, then the working directory); an ``https://`` URL (``http://`` only for a loopback
host or a pinned reference); ``builtin://NAME`` or a bare ``NAME`` for the policies shipped with crafter. Any
reference may end with ``@sha256:HEX``: the digest of the bytes loaded must match. Chainloop's control-plane
forms (``chainloop://``, ``provider:name``) are refused with the alternatives.

The digest of the bytes actually loaded is recorded in ``Policy.reference`` / ``PolicyGroup.reference``.
Every document and script a loader reads is kept (:meth:`PolicyLoader.sources`); a loader given such sources
(``sealed``) reads nothing else but built-in policies: remote state hands the policies resolved at ``init`` to
runners that have neither the contract's files nor network access to its policy URLs.
Remote documents and scripts are fetched with :mod:`crafter._internal.http` under a deadline (``--http-timeout``) and a
size cap (:data:`MAX_DOCUMENT_BYTES`), and kept in a cache keyed by their digest, so that a pinned reference
already in the cache needs no network.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import attrs

from crafter._internal.http import DEFAULT_TIMEOUT, is_loopback
from crafter._internal.policies.documents import ScriptResolver, parse_group, parse_policy
from crafter._internal.policies.spec import Policy, PolicyGroup
from crafter._internal.policy_record import PolicyReference
from crafter._internal.schema_check import DNS_PATTERN
from crafter.errors import PolicyError

log = logging.getLogger("crafter.policies")

PIN = "@sha256:"
ALTERNATIVES = "use a file path, an https:// URL, or builtin://NAME for a policy shipped with crafter"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")  # C:\policy.yaml is a path, not provider "C"
_PROVIDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*:")
_BUILTIN_NAME = re.compile(DNS_PATTERN)
_HEX = re.compile(r"^[0-9a-f]{64}$")
#: The largest remote policy, group or script fetched (``timeout``: :data:`crafter._internal.http.DEFAULT_TIMEOUT`).
MAX_DOCUMENT_BYTES = 4 << 20


@attrs.frozen
class _Location:
    """Where a reference points once resolved, and the digest it must have."""

    target: str  # an absolute file path or a URL
    uri: str  # recorded in the reference: file:///abs/path, https://..., builtin://NAME
    pin: str = ""  # expected sha256 hex, "" when not pinned

    @property
    def remote(self) -> bool:
        return self.target.startswith(("http://", "https://"))


@attrs.frozen
class _Base:
    """Where relative references of one document point: a directory, or a URL to join them with."""

    directory: Path | None = None
    url: str = ""
    also_cwd: bool = True  # then try the working directory (contracts, groups), as documented


def split_pin(ref: str) -> tuple[str, str]:
    """Split ``ref@sha256:HEX`` on the last ``@sha256:``; returns the reference and the hex digest ("" if none)."""
    body, sep, digest = ref.rpartition(PIN)
    if not sep:
        return ref, ""
    digest = digest.lower()
    if not _HEX.match(digest):
        raise PolicyError(f"{ref}: malformed digest, expected @sha256: and 64 hexadecimal digits")
    return body, digest


class PolicyLoader:
    """Resolves, fetches, pins and parses policy and group references. Safe to share between threads."""

    def __init__(
        self,
        *,
        cwd: Path,
        builtin_dir: Path,
        cache_dir: Path | None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        engines: Collection[str] = ("rego", "wasm"),
        ca_file: str | None = None,
        sealed: Mapping[str, bytes] | None = None,
    ) -> None:
        """``sealed``: the sources another loader read (:meth:`sources`, keyed by location); every reference
        then resolves to one of them, or to a built-in policy, or is an error: no file, no network."""
        self.cwd = cwd
        self.builtin_dir = builtin_dir
        self.cache_dir = cache_dir
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.engines = tuple(engines)
        self.ca_file = ca_file
        # One load per resolved reference and process: every evaluation of a run sees the same bytes, and a
        # remote document is fetched once however many materials it applies to.
        self._loaded: dict[tuple[str, str, str], Policy | PolicyGroup] = {}
        self._fetched: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._sealed = dict(sealed) if sealed is not None else None
        self._read_sources: dict[str, bytes] = {}

    def sources(self) -> dict[str, bytes]:
        """Every document and script read so far, by location (a file's absolute path, a URL, or
        ``builtin:`` and the path below the built-in policies): what a sealed loader needs to load them."""
        with self._lock:
            return dict(self._read_sources)

    def _key(self, target: str) -> str:
        if self.builtin_dir in Path(target).parents:
            return "builtin:" + Path(target).relative_to(self.builtin_dir).as_posix()
        return target

    def _sealed_has(self, target: str) -> bool:
        return self._sealed is not None and self._key(target) in self._sealed

    # -- public API ------------------------------------------------------------------------------------------
    def load_policy(self, ref: str, *, base: str | None = None) -> Policy:
        """Load a ``kind: Policy`` reference.

        ``base`` is the referring document: a file path, a ``file://`` or ``https://`` URI, ``builtin://NAME``
        of a built-in group, or None (relative references then resolve against the working directory).
        """
        policy = self._load(ref, base, "policy")
        assert isinstance(policy, Policy)
        return policy

    def load_group(self, ref: str, *, base: str | None = None) -> PolicyGroup:
        """Load a ``kind: PolicyGroup`` reference; ``base`` as for :meth:`load_policy`."""
        group = self._load(ref, base, "group")
        assert isinstance(group, PolicyGroup)
        return group

    def load_embedded(self, doc: Mapping[str, Any], *, base: str | None = None) -> Policy:
        """A policy written inside a contract or group; its script references resolve against ``base``."""
        source = f"{base}: embedded policy" if base else "embedded policy"
        policy = parse_policy(dict(doc), source, self._resolver(self._base(base)), self.engines)
        return attrs.evolve(policy, reference=PolicyReference(name=policy.name))

    # -- loading ---------------------------------------------------------------------------------------------
    def _load(self, ref: str, base: str | None, what: str) -> Policy | PolicyGroup:
        loc = self._locate(ref, self._base(base), what)
        key = (what, loc.target, loc.pin)
        with self._lock:
            hit = self._loaded.get(key)
        if hit is not None:
            return hit
        data = self._read(loc, ref)
        reference = PolicyReference(name="", uri=loc.uri, digest="sha256:" + hashlib.sha256(data).hexdigest())
        doc = _parse(data, loc.target)
        from crafter._internal.document_reader import (
            KeyLines,
        )  # errors name lines, never the document's content

        lines = KeyLines(data)
        result: Policy | PolicyGroup
        if what == "group":
            result = parse_group(doc, loc.target, lines=lines)
        else:
            # A policy's scripts live next to it: its own directory or URL (not the working directory).
            own = _Base(url=loc.target) if loc.remote else _Base(Path(loc.target).parent, also_cwd=False)
            result = parse_policy(doc, loc.target, self._resolver(own), self.engines, lines=lines)
        result = attrs.evolve(result, reference=attrs.evolve(reference, name=result.name))
        with self._lock:
            self._loaded[key] = result
        return result

    def _read(self, loc: _Location, ref: str) -> bytes:
        """The raw bytes at ``loc``, checked against its pin."""
        key = self._key(loc.target)
        if self._sealed is not None and key in self._sealed:
            data = self._sealed[key]
        elif self._sealed is not None and not key.startswith("builtin:"):
            raise PolicyError(
                f"{ref}: not among the policies resolved when the attestation was initialised ({loc.target})",
                hint="policies are resolved once, at 'crafter init'; start a new attestation to change them",
            )
        elif loc.remote:
            data = self._fetch(loc.target, loc.pin, ref)
        else:
            data = _read_file(Path(loc.target), ref)
        with self._lock:
            self._read_sources[key] = data
        got = hashlib.sha256(data).hexdigest()
        if loc.pin and got != loc.pin:
            raise PolicyError(f"{ref}: digest mismatch: got sha256:{got}, want sha256:{loc.pin}")
        return data

    def _resolver(self, base: _Base) -> ScriptResolver:
        """How a policy's script ``ref``/``path`` is loaded: relative to the policy's own location."""

        def resolve(ref: str) -> tuple[bytes, str]:
            loc = self._locate(ref, base, "script")
            return self._read(loc, ref), loc.target

        return resolve

    # -- resolution ------------------------------------------------------------------------------------------
    def _base(self, base: str | None) -> _Base:
        if base is None:
            return _Base(self.cwd)
        body, _ = split_pin(base)
        scheme = _scheme(body)
        if scheme in ("http", "https"):
            return _Base(url=body)
        if scheme == "builtin":
            # Only groups refer to other documents, so a built-in base is a built-in group.
            return _Base(self.builtin_dir / "groups")
        path = self.cwd / (body[len("file://") :] if scheme == "file" else body)
        return _Base(path if path.is_dir() else path.parent)

    def _locate(self, ref: str, base: _Base, what: str) -> _Location:
        if not ref.strip():
            raise PolicyError(f"empty {what} reference", hint=ALTERNATIVES)
        body, pin = split_pin(ref)
        scheme = _scheme(body)
        if scheme in ("http", "https"):
            return self._url(body, pin, ref)
        if scheme == "builtin" and what != "script":
            return self._builtin(body[len("builtin://") :], pin, ref, what)
        if scheme == "chainloop" or (scheme is None and _is_provider(body)):
            raise PolicyError(
                f"{ref}: Chainloop control-plane references (chainloop://, provider:name) are not supported: "
                + ALTERNATIVES
            )
        if scheme not in (None, "file"):
            raise PolicyError(f"{ref}: {what} scheme not supported: {scheme}", hint=ALTERNATIVES)
        path = body[len("file://") :] if scheme == "file" else body
        if scheme is None and what != "script" and _is_bare_name(path):
            return self._builtin(path, pin, ref, what)
        if base.url:
            if scheme == "file" or Path(path).is_absolute():
                raise PolicyError(f"{ref}: a remote document cannot refer to a local file")
            return self._url(urljoin(base.url, path), pin, ref)
        return self._file(path, pin, ref, base)

    def _url(self, url: str, pin: str, ref: str) -> _Location:
        _check_url(url, pin, ref)
        return _Location(url, url, pin)

    def _file(self, path: str, pin: str, ref: str, base: _Base) -> _Location:
        candidates = [Path(path)] if Path(path).is_absolute() else []
        if not candidates:
            if base.directory is not None:
                candidates.append(self.cwd / base.directory / path)
            if base.also_cwd or base.directory is None:
                candidates.append(self.cwd / path)
        absolute = [Path(os.path.abspath(c)) for c in dict.fromkeys(candidates)]
        if self._sealed is not None:  # the file chosen at init, whatever this machine has
            sealed = next((c for c in absolute if self._sealed_has(str(c))), None)
            if sealed is not None:
                return _Location(str(sealed), "file://" + sealed.as_posix(), pin)
        found = next((c for c in absolute if c.is_file()), None)
        if found is None:
            where = ", ".join(str(c) for c in absolute)
            problem = "is a directory, not a file" if any(c.is_dir() for c in absolute) else "file not found"
            special = next((c for c in absolute if c.exists() and not c.is_dir()), None)
            if special is not None:  # a FIFO, a device, a socket: never opened
                from crafter._internal.files import describe_mode

                problem = f"{special} is not a regular file ({describe_mode(special.stat().st_mode)})"
            raise PolicyError(f"{ref}: {problem}", hint=f"looked for: {where}")
        return _Location(str(found), "file://" + found.as_posix(), pin)

    def _builtin(self, name: str, pin: str, ref: str, what: str) -> _Location:
        layout = "groups/{}.yaml" if what == "group" else "{}/policy.yaml"
        path = self.builtin_dir / layout.format(name)
        if not _BUILTIN_NAME.match(name) or not (path.is_file() or self._sealed_has(str(path))):
            shipped = self._builtin_names(what)
            plural = "groups" if what == "group" else "policies"
            hint = f"built-in {plural}: " + (", ".join(shipped) or "none")
            if "://" not in ref:
                hint += f"; for a local file, write ./{name}"
            raise PolicyError(f"{ref}: no built-in {what} named {name!r}", hint=hint)
        return _Location(str(path), f"builtin://{name}", pin)

    def _builtin_names(self, what: str) -> list[str]:
        if what == "group":
            return sorted(p.stem for p in (self.builtin_dir / "groups").glob("*.yaml"))
        return sorted(p.parent.name for p in self.builtin_dir.glob("*/policy.yaml"))

    # -- network ---------------------------------------------------------------------------------------------
    def _fetch(self, url: str, pin: str, ref: str) -> bytes:
        with self._lock:
            data = self._fetched.get(url)
        if data is None and pin:
            data = self._cache_get(pin)
        if data is None:
            data = _download(
                url, pin, ref, timeout=self.timeout, max_bytes=self.max_bytes, ca_file=self.ca_file
            )
            self._cache_put(data)
        with self._lock:
            self._fetched[url] = data
        return data

    def _cache_path(self, hexdigest: str) -> Path | None:
        return self.cache_dir / "sha256" / hexdigest if self.cache_dir is not None else None

    def _cache_get(self, hexdigest: str) -> bytes | None:
        path = self._cache_path(hexdigest)
        try:
            data = path.read_bytes() if path is not None else None
        except OSError:
            return None
        # A damaged cache entry is ignored (and replaced after the fetch), never trusted.
        if data is not None and hashlib.sha256(data).hexdigest() == hexdigest:
            log.debug("policy cache hit: sha256:%s", hexdigest)
            return data
        return None

    def _cache_put(self, data: bytes) -> None:
        path = self._cache_path(hashlib.sha256(data).hexdigest())
        if path is None:
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:  # a cache that cannot be written costs a later fetch, never this load
            log.debug("cannot write the policy cache %s: %s", path, exc)
            tmp.unlink(missing_ok=True)


def _scheme(ref: str) -> str | None:
    m = _SCHEME.match(ref)
    return m.group(1).lower() if m else None


def _is_provider(ref: str) -> bool:
    return bool(_PROVIDER.match(ref)) and not _DRIVE.match(ref)


def _is_bare_name(path: str) -> bool:
    """A name without directory or extension, such as ``sbom-banned-licenses``: a built-in policy."""
    return "/" not in path and "\\" not in path and "." not in path


def _check_url(url: str, pin: str, ref: str) -> None:
    """Refuse, before any network access, what may not be fetched."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise PolicyError(f"{ref}: only https:// (or http:// to a loopback host) can be fetched, not {url}")
    if scheme == "http" and not pin and not is_loopback(url):
        raise PolicyError(
            f"{ref}: plain http:// is only allowed for a loopback host or a reference pinned with @sha256:",
            hint="use https://, or pin the digest of the document",
        )


#: A local policy file (document, Rego or WASM module) larger than this is refused.
MAX_LOCAL_POLICY_BYTES = 64 << 20


def _read_file(path: Path, ref: str) -> bytes:
    """A local policy file: a regular file only (a FIFO or a device is refused, never waited on), read with a
    cap (:func:`crafter._internal.files.open_regular`)."""
    from crafter._internal.files import open_regular

    try:
        opened = open_regular(path, error=PolicyError)
    except PolicyError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise PolicyError(f"{ref}: file not found ({path})") from None
        raise PolicyError(f"{ref}: {exc.message}") from exc
    with opened as fh:
        data = fh.read_at_most(MAX_LOCAL_POLICY_BYTES)
        if len(data) > MAX_LOCAL_POLICY_BYTES:
            raise PolicyError(f"{ref}: {path} is larger than {MAX_LOCAL_POLICY_BYTES} bytes")
        fh.check_unchanged(len(data))
    return data


def _parse(data: bytes, source: str) -> Any:
    """The parsed document; a reference may name any file, so errors quote none of it (positions and kinds)."""
    from crafter._internal.document_reader import (
        parse_document,
    )  # YAML parsing: only when a document is loaded
    from crafter._internal.policies.documents import redaction

    if source.lower().endswith(".cue"):
        raise PolicyError(f"{source}: CUE format is no longer supported; use JSON or YAML")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{source}: not a YAML or JSON document (not UTF-8 text)") from None
    return parse_document(text, source, PolicyError, redaction=redaction())


def _download(url: str, pin: str, ref: str, *, timeout: float, max_bytes: int, ca_file: str | None) -> bytes:
    """GET ``url`` under a deadline and a size cap (:mod:`crafter._internal.http`); every failure is one
    :class:`PolicyError` line naming the reference."""
    from crafter._internal import http
    from crafter._version import __version__

    def redirect(newurl: str) -> None:
        _check_url(newurl, pin, ref)  # no redirect to another scheme, nor to plain http elsewhere

    # Loopback servers are reached directly; other hosts through the user's proxy settings, if any.
    answer = http.request(
        "GET",
        url,
        headers={"User-Agent": f"crafter/{__version__}"},
        peer=ref,
        what="document",
        max_bytes=max_bytes,
        error=PolicyError,
        timeout=timeout,
        ca_file=ca_file,
        check_redirect=redirect,
        unreachable=f"{ref}: cannot fetch {url}",
    )
    if not 200 <= answer.status < 300:
        raise PolicyError(f"{ref}: HTTP {answer.status} {answer.reason}".rstrip())
    return answer.body
