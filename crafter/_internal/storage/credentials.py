"""Registry credentials, found the way docker finds them (see docs/storage.md, "Credentials").

Precedence: ``CRAFTER_REGISTRY_USERNAME``/``_PASSWORD``; else, from the Docker config file, the registry's
``credHelpers`` entry, else ``credsStore``, else its ``auths`` entry. A configured helper is asked with the
docker-credential-helpers protocol (``docker-credential-<name> get``, the registry host on stdin, JSON
``{"Username", "Secret"}`` on stdout); when it has no entry for the registry, access is anonymous, as with
docker (the ``auths`` entry is not used then: with a helper it only lists the registry).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from crafter._internal.files import read_small_file
from crafter._internal.storage.interface import StoreError

#: The helper's ``Username`` that marks ``Secret`` as an identity (refresh) token, not a password.
TOKEN_USERNAME = "<token>"
#: What a helper prints (exit status 1) when it holds nothing for the registry.
NOT_FOUND = "credentials not found in native keychain"
#: Seconds a helper may take (some ask a cloud CLI for a token).
HELPER_TIMEOUT = 30.0
#: A Docker config.json larger than this is refused (it is a few KiB; never read a FIFO or a device whole).
MAX_DOCKER_CONFIG_BYTES = 4 << 20
#: The source of credentials passed in directly (by a script).
GIVEN = "the caller"
#: Docker Hub's names: docker keeps its credentials under this key and asks helpers for it.
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_NAMES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)


@attrs.frozen
class Credentials:
    """A user name and its secret, with where they came from (named in error hints, never the secret)."""

    username: str
    secret: str = attrs.field(repr=False)
    source: str = GIVEN

    @property
    def identity_token(self) -> bool:
        """The secret is an identity token, exchanged for a Bearer token (OAuth2 refresh-token grant)."""
        return self.username == TOKEN_USERNAME


def _host(key: str) -> str:
    """A config key (``https://host:port/v1/``, ``host:port`` or ``host/path``) reduced to ``host:port``;
    every Docker Hub spelling to ``docker.io``."""
    host = urllib.parse.urlsplit(key).netloc if "://" in key else key.split("/")[0]
    return "docker.io" if host in DOCKER_HUB_NAMES else host


def helper_server(registry: str) -> str:
    """What a credential helper is asked for: the host, or for Docker Hub the key docker itself uses."""
    return DOCKER_HUB_KEY if _host(registry) == "docker.io" else registry


def docker_config_path(environ: Mapping[str, str]) -> Path:
    directory = environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return Path(directory) / "config.json"


def registry_credentials(registry: str, environ: Mapping[str, str]) -> Credentials | None:
    """The credentials for ``registry`` (``host[:port]``) in the order of the module docstring; None for
    anonymous access."""
    user, password = environ.get("CRAFTER_REGISTRY_USERNAME"), environ.get("CRAFTER_REGISTRY_PASSWORD")
    if user and password is not None:
        return Credentials(user, password, "CRAFTER_REGISTRY_USERNAME/_PASSWORD")
    path = docker_config_path(environ)
    raw = read_small_file(
        path, what="Docker config file", limit=MAX_DOCKER_CONFIG_BYTES, error=StoreError, missing_ok=True
    )
    if raw is None:
        return None
    try:
        config = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise StoreError(f"cannot read the Docker config file {path}: {exc}") from exc
    if not isinstance(config, dict):
        raise StoreError(f"the Docker config file {path} is not a JSON object")
    registry = _host(registry)
    helper = _helper_for(registry, config, path)
    if helper:
        return helper_credentials(helper, helper_server(registry), environ)
    auths = config.get("auths", {})
    for key, entry in auths.items() if isinstance(auths, dict) else ():
        if _host(key) != registry or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                decoded = base64.b64decode(entry["auth"]).decode("utf-8")
            except (ValueError, UnicodeDecodeError) as exc:
                raise StoreError(f"{path}: the auth entry of {key} is not base64 of USER:PASSWORD") from exc
            name, _, secret = decoded.partition(":")
            return Credentials(name, secret, f"the auths entry of {path}")
        if entry.get("identitytoken"):
            return Credentials(TOKEN_USERNAME, str(entry["identitytoken"]), f"the auths entry of {path}")
        if entry.get("username"):
            return Credentials(
                str(entry["username"]), str(entry.get("password", "")), f"the auths entry of {path}"
            )
    return None


def _helper_for(registry: str, config: dict[str, Any], path: Path) -> str | None:
    """The registry's ``credHelpers`` entry, else ``credsStore`` (docker's order); None without either."""
    helpers = config.get("credHelpers") or {}
    if not isinstance(helpers, dict):
        raise StoreError(f"{path}: credHelpers is not an object of registry -> helper name")
    for key, name in helpers.items():
        if _host(key) == registry and name:
            return str(name)
    store = config.get("credsStore")
    return str(store) if store else None


def helper_credentials(helper: str, registry: str, environ: Mapping[str, str]) -> Credentials | None:
    """Ask ``docker-credential-<helper> get`` for ``registry``; None when it has no entry (as docker does).

    Any other failure (not on PATH, non-zero exit, no answer within :data:`HELPER_TIMEOUT`, output that is
    not the protocol's JSON) is a :class:`StoreError` naming the helper and the registry."""
    program = f"docker-credential-{helper}"
    where = f"credential helper {program} (for {registry})"
    found = shutil.which(program, path=environ.get("PATH", os.defpath))
    if found is None:
        raise StoreError(
            f"{where} is not on PATH",
            hint=f"install it, or change credHelpers/credsStore in {docker_config_path(environ)}",
        )
    try:
        # Its own session, so a timeout can end the helper's children too (they hold its pipes open).
        proc = subprocess.Popen(
            [found, "get"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(environ),
            start_new_session=True,
        )
    except OSError as exc:
        raise StoreError(f"cannot run {where}: {exc.strerror or exc}") from exc
    try:
        out, err = proc.communicate(registry.encode("utf-8"), timeout=HELPER_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):  # it ended just now
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise StoreError(f"{where} did not answer within {HELPER_TIMEOUT:g} s") from None
    text = out.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        if text == NOT_FOUND:
            return None
        # The protocol puts the error message on stdout; the first line is enough.
        detail = (text or err.decode("utf-8", "replace").strip()).splitlines()
        reason = f": {detail[0][:200]}" if detail else ""
        raise StoreError(f"{where} failed (exit status {proc.returncode}){reason}")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None  # the output is not repeated: it may hold a secret
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("Username"), str)
        or not isinstance(doc.get("Secret"), str)
    ):
        raise StoreError(
            f"{where} gave no credentials: its output is not a JSON object with Username and Secret strings"
        )
    if not doc["Username"] and not doc["Secret"]:
        return None
    return Credentials(doc["Username"], doc["Secret"], program)
