"""The git HEAD an attestation records (reference sections 3.2 and 4.4), read with the ``git`` command.

Collection is best effort: no repository, an empty repository, no ``git`` on ``PATH``, a repository git
refuses (e.g. "dubious ownership"), or a timeout all give ``None``, never an error, because an attestation
is still worth making without it.

Speed: three git processes started at once and waited for together (``cat-file --batch`` for the commit
object, ``status --porcelain=v2 --branch`` for the branch and dirtiness, ``config --get-regexp`` for the
remote URLs), so ``crafter init`` pays for one round of process start-up.

Safety: git runs with a scrubbed environment (only what locates git and the user's configuration is passed
on, so ``safe.directory`` still applies; no ``GIT_DIR`` and friends from the caller), ``LC_ALL=C``, no
pager, no terminal prompts, ``GIT_OPTIONAL_LOCKS=0`` so ``git status`` does not rewrite the index, and a
timeout. Remote URLs are recorded without credentials (:func:`sanitize_remote_url`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import attrs

from crafter._internal.files import read_small_file
from crafter._internal.runners.head import OID, GitHead, Remote, head_subject
from crafter.errors import RunnerError

__all__ = [
    "GitHead",
    "Remote",
    "github_pr_head_sha",
    "head_subject",
    "read_head",
    "sanitize_remote_url",
]

logger = logging.getLogger(__name__)

#: Seconds all git processes together may take.
GIT_TIMEOUT = 10.0
#: The GitHub event file is read only up to this size (GitHub's own webhook payloads are capped at 25 MB).
MAX_EVENT_BYTES = 32 << 20

# Variables passed on to git: where it is, where the user's and system configuration are (safe.directory,
# includes), where discovery must stop, and temp dirs. Everything else (tokens, GIT_DIR, GIT_INDEX_FILE,
# GIT_CONFIG_PARAMETERS...) stays out.
_GIT_PASSTHROUGH = (
    "PATH",
    "HOME",
    "XDG_CONFIG_HOME",
    "USERPROFILE",
    "SYSTEMROOT",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "TMPDIR",
    "TEMP",
    "TMP",
)
_GIT_FIXED_ENV = {
    "LC_ALL": "C",
    "LANG": "C",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
}

_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_SCP_USERINFO = re.compile(r"(?P<userinfo>[^/]*)@[^@/:]+:")
# scp-like "[user@]host:path": a ":" before any "/" (how git tells it from a local path).
_SCP_HOST = re.compile(r"[^/:]+:")


def sanitize_remote_url(url: str) -> str:
    """``url`` without credentials: the userinfo of ``scheme://user:password@host/...`` is removed, and so
    are a query string and a fragment (``?access_token=...``, ``#token``): git remotes need neither, and
    tokens are pasted there too.

    scp-style remotes (``git@github.com:org/repo.git``) keep their user: it is a login name, not a secret;
    if one carries a password (``user:pw@host:path``) the whole userinfo goes. Local paths are kept as they
    are.
    """
    # Repeated until nothing changes: removing one userinfo can expose another (``a:b@h://c:d@e/``).
    while (clean := _strip_userinfo(url)) != url:
        url = clean
    return _strip_query(url)


def _strip_query(url: str) -> str:
    """``url`` up to its query or fragment, for URL and scp-style remotes (the userinfo is gone by now)."""
    scheme_end = url.find("://")
    if scheme_end > 0 and _URL_SCHEME.fullmatch(url[:scheme_end]):
        if url[:scheme_end].lower() == "file":
            return url
    elif not _SCP_HOST.match(url):
        return url  # a local path: "#" and "?" are ordinary file name characters there
    cut = min((i for i in (url.find("?"), url.find("#")) if i != -1), default=len(url))
    return url[:cut]


def _strip_userinfo(url: str) -> str:
    scheme_end = url.find("://")
    if scheme_end > 0 and _URL_SCHEME.fullmatch(url[:scheme_end]):
        # The authority ends at the first "/" and its userinfo at the last "@" before it. Git also ends it at
        # "?" or "#", but a password pasted unencoded may contain those, and a remote's authority never does.
        start = scheme_end + 3
        slash = url.find("/", start)
        end = len(url) if slash == -1 else slash
        at = url.rfind("@", start, end)
        if at == -1:
            return url
        return url[:start] + url[at + 1 :]
    # scp-like "[user@]host:path" (git reads it so when a ":" comes before any "/"). The userinfo is the
    # longest "/"-free prefix before an "@" that is followed by "host:"; it is dropped only if it has a ":".
    match = _SCP_USERINFO.match(url)
    if match and ":" in match.group("userinfo"):
        return url[match.end("userinfo") + 1 :]
    return url


def github_pr_head_sha(environ: Mapping[str, str]) -> str | None:
    """The real head commit of a GitHub ``pull_request`` run, or ``None``.

    GitHub checks out a synthetic merge commit for ``pull_request`` events; the commit the author pushed is
    ``pull_request.head.sha`` in the event file. ``pull_request_target`` runs check out the base branch and
    are left alone. A missing, unreadable or malformed event gives ``None``; so does an event file that is
    not a regular file (a FIFO, ``/dev/zero``) or is larger than :data:`MAX_EVENT_BYTES`, with a warning
    naming it (it is never waited on nor read whole).
    """
    if environ.get("GITHUB_EVENT_NAME") != "pull_request":
        return None
    event_path = environ.get("GITHUB_EVENT_PATH", "")
    if not event_path:
        return None
    try:
        raw = read_small_file(
            Path(event_path),
            what="GitHub event file",
            limit=MAX_EVENT_BYTES,
            error=RunnerError,
            missing_ok=True,
        )
    except RunnerError as exc:
        logger.warning("%s; the pull request's head commit is not looked up", exc.message)
        return None
    if raw is None:
        return None
    try:
        event = json.loads(raw)
        sha = event["pull_request"]["head"]["sha"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    if not isinstance(sha, str):
        return None
    sha = sha.strip().lower()
    # Validated because it is handed to git: an arbitrary string could be a revision expression.
    return sha if OID.fullmatch(sha) else None


def _git_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = {name: environ[name] for name in _GIT_PASSTHROUGH if name in environ}
    env.update(_GIT_FIXED_ENV)
    return env


def _run_parallel(
    commands: Sequence[tuple[Sequence[str], bytes | None]],
    *,
    cwd: str,
    env: Mapping[str, str],
    timeout: float,
) -> list[tuple[int, bytes, bytes]] | None:
    """Start every command at once, then collect them under one deadline; ``None`` on timeout or OSError."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for argv, stdin in commands:
            procs.append(
                subprocess.Popen(
                    list(argv),
                    cwd=cwd,
                    env=dict(env),
                    stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            )
        deadline = time.monotonic() + timeout
        results = []
        for proc, (_argv, stdin) in zip(procs, commands, strict=True):
            out, err = proc.communicate(stdin, timeout=max(0.0, deadline - time.monotonic()))
            results.append((proc.returncode, out, err))
        return results
    except subprocess.TimeoutExpired:
        logger.warning("git did not answer within %.0f s; the attestation records no git HEAD", timeout)
        return None
    except OSError as exc:
        logger.debug("cannot run git: %s", exc)
        return None
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def _parse_batch(out: bytes) -> list[tuple[str, bytes] | None]:
    """Objects of ``git cat-file --batch`` output in request order; ``None`` if missing or not a commit."""
    objects: list[tuple[str, bytes] | None] = []
    pos = 0
    while pos < len(out):
        eol = out.find(b"\n", pos)
        if eol == -1:
            break
        fields = out[pos:eol].decode("ascii", "replace").split()
        pos = eol + 1
        if len(fields) == 3 and fields[2].isdigit():
            size = int(fields[2])
            body = out[pos : pos + size]
            pos += size + 1  # the object is followed by a newline
            objects.append((fields[0], body) if fields[1] == "commit" and OID.fullmatch(fields[0]) else None)
        else:
            objects.append(None)  # "<name> missing" / "<name> ambiguous"
    return objects


def _utc_rfc3339(timestamp: str) -> str | None:
    try:
        return datetime.fromtimestamp(int(timestamp), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return None


def _parse_commit(oid: str, raw: bytes) -> GitHead:
    """A raw commit object: headers (continuation lines start with a space), a blank line, the message."""
    header_block, _, body = raw.partition(b"\n\n")
    entries: list[tuple[bytes, bytes]] = []
    for line in header_block.split(b"\n"):
        if line.startswith(b" ") and entries:
            key, value = entries[-1]
            entries[-1] = (key, value + b"\n" + line[1:])
        else:
            key, _, value = line.partition(b" ")
            entries.append((key, value))
    headers: dict[bytes, bytes] = {}
    for key, value in entries:
        headers.setdefault(key, value)  # the first of a repeated header (e.g. parent) is enough here

    codec = headers.get(b"encoding", b"utf-8").decode("ascii", "replace").strip() or "utf-8"

    def text(data: bytes) -> str:
        try:
            return data.decode(codec, errors="replace")
        except LookupError:  # an encoding name Python does not know
            return data.decode("utf-8", errors="replace")

    name = email = ""
    date = None
    ident = text(headers.get(b"author", b""))
    gt = ident.rfind(">")
    lt = ident.rfind("<", 0, gt) if gt != -1 else -1
    if lt != -1:
        name, email = ident[:lt].strip(), ident[lt + 1 : gt]
        when = ident[gt + 1 :].split()
        date = _utc_rfc3339(when[0]) if when else None
    signature = headers.get(b"gpgsig") or headers.get(b"gpgsig-sha256")
    return GitHead(
        hash=oid,
        author_name=name,
        author_email=email,
        date=date,
        message=text(body),
        signature=signature.decode("utf-8", "replace") + "\n" if signature else None,
    )


def _parse_status(out: bytes) -> tuple[str | None, bool]:
    """Branch (``None`` when detached) and dirtiness from ``git status --porcelain=v2 --branch -z``."""
    branch: str | None = None
    dirty = False
    for entry in out.split(b"\0"):
        if entry.startswith(b"# branch.head "):
            head = entry[len(b"# branch.head ") :].decode("utf-8", "replace")
            branch = None if head == "(detached)" else head
        elif entry and not entry.startswith(b"# "):
            dirty = True  # a changed, unmerged or untracked path ("?"); ignored paths are not listed
    return branch, dirty


def _parse_remotes(out: bytes) -> tuple[Remote, ...]:
    """``remote.<name>.url`` entries of ``git config -z --get-regexp``; the first URL of each remote."""
    urls: dict[str, str] = {}
    for entry in out.split(b"\0"):
        key, sep, value = entry.decode("utf-8", "replace").partition("\n")
        if not sep or not key.startswith("remote.") or not key.endswith(".url"):
            continue
        name = key[len("remote.") : -len(".url")]
        if name and name not in urls:
            urls[name] = sanitize_remote_url(value)
    return tuple(Remote(name=name, url=url) for name, url in sorted(urls.items()))


def read_head(
    path: str | os.PathLike[str] = ".",
    environ: Mapping[str, str] | None = None,
    *,
    timeout: float = GIT_TIMEOUT,
) -> GitHead | None:
    """The HEAD of the repository containing ``path`` (searched upwards), or ``None`` when there is none.

    ``environ`` (default: the process environment) supplies ``PATH``/``HOME`` for git and the GitHub
    ``pull_request`` context: in such a run the PR's head commit replaces GitHub's synthetic merge commit,
    with its metadata when the commit exists locally, else with the hash alone.
    """
    if environ is None:
        environ = os.environ
    directory = os.fspath(path)
    if os.path.isfile(directory):
        directory = os.path.dirname(directory) or "."
    if not os.path.isdir(directory):
        return None
    env = _git_env(environ)
    git = shutil.which("git", path=env.get("PATH", os.defpath))
    if git is None:
        logger.debug("git is not on PATH; the attestation records no git HEAD")
        return None

    pr_sha = github_pr_head_sha(environ)
    wanted = b"HEAD\n" + (pr_sha.encode("ascii") + b"\n" if pr_sha else b"")
    results = _run_parallel(
        [
            ([git, "cat-file", "--batch"], wanted),
            ([git, "status", "--porcelain=v2", "--branch", "-z"], None),
            ([git, "config", "-z", "--get-regexp", r"^remote\..*\.url$"], None),
        ],
        cwd=directory,
        env=env,
        timeout=timeout,
    )
    if results is None:
        return None
    (cat_rc, cat_out, cat_err), (status_rc, status_out, _), (_, config_out, _) = results
    if cat_rc != 0:
        # Not a repository, or one git refuses; only the refusal is worth telling the user about.
        message = cat_err.decode("utf-8", "replace").strip()
        log = logger.warning if "dubious ownership" in message else logger.debug
        log("git HEAD not recorded: %s", message.splitlines()[0] if message else f"git exited {cat_rc}")
        return None
    objects = _parse_batch(cat_out)
    if not objects or objects[0] is None:
        return None  # an empty repository: HEAD names no commit yet
    branch: str | None = None
    dirty: bool | None = None  # unknown when status fails, e.g. in a bare repository
    if status_rc == 0:
        branch, dirty = _parse_status(status_out)
    remotes = _parse_remotes(config_out)  # exit 1 just means "no remotes"

    oid, raw = objects[0]
    if pr_sha is not None:
        pr_object = objects[1] if len(objects) > 1 else None
        if pr_object is None:
            # Shallow clone without the PR head: record its hash only. Chainloop keeps the merge commit's
            # author, message and signature under the new hash; they describe another commit, so we drop them.
            return GitHead(hash=pr_sha, remotes=remotes, branch=branch, dirty=dirty)
        oid, raw = pr_object
    return attrs.evolve(_parse_commit(oid, raw), remotes=remotes, branch=branch, dirty=dirty)
