"""Git HEAD collection against real repositories made with ``git init`` in a temporary directory."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from crafter._internal.runners import GitHead, Remote, github_pr_head_sha, head_subject, read_head
from crafter.errors import StateError

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

AUTHOR = {
    "GIT_AUTHOR_NAME": "Ada Lövelace",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_AUTHOR_DATE": "2024-05-01T12:00:00+02:00",
    "GIT_COMMITTER_NAME": "Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_COMMITTER_DATE": "2024-05-01T12:30:00+02:00",
}


class Repo:
    """A scratch repository; ``git`` runs with an isolated HOME and no system configuration."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            # Discovery must stop here even if the temp dir sits inside some other repository.
            "GIT_CEILING_DIRECTORIES": str(root.parent),
        }

    def git(self, *args: str, input: bytes | None = None) -> str:
        proc = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
            cwd=self.root,
            env={**self.env, **AUTHOR},
            input=input,
            capture_output=True,
            check=True,
        )
        return proc.stdout.decode().strip()

    def commit(self, message: str, filename: str = "file.txt", content: str | None = None) -> str:
        (self.root / filename).write_text(content if content is not None else message)
        self.git("add", filename)
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "work" / "repo"
    root.mkdir(parents=True)
    home = tmp_path / "home"
    home.mkdir()
    r = Repo(root, home)
    r.git("init", "-q")
    return r


def test_fields_recorded(repo: Repo) -> None:
    sha = repo.commit("Add the widget\n\nIt does things.\nSigned-off-by: Ada\n")
    head = read_head(repo.root, repo.env)
    assert head == GitHead(
        hash=sha,
        author_name="Ada Lövelace",
        author_email="ada@example.com",
        date="2024-05-01T10:00:00Z",
        message="Add the widget\n\nIt does things.\nSigned-off-by: Ada\n",
        signature=None,
        remotes=(),
        branch="main",
        dirty=False,
    )


def test_found_from_a_subdirectory(repo: Repo) -> None:
    sha = repo.commit("one")
    sub = repo.root / "a" / "b"
    sub.mkdir(parents=True)
    head = read_head(sub, repo.env)
    assert head is not None
    assert head.hash == sha
    # A path to a file works too: its directory is searched.
    head = read_head(repo.root / "file.txt", repo.env)
    assert head is not None
    assert head.hash == sha


def test_latest_commit_is_head(repo: Repo) -> None:
    repo.commit("one")
    second = repo.commit("two", filename="other.txt")
    head = read_head(repo.root, repo.env)
    assert head is not None
    assert (head.hash, head.message) == (second, "two\n")


def test_modified_tracked_file_is_dirty(repo: Repo) -> None:
    repo.commit("one")
    (repo.root / "file.txt").write_text("changed")
    head = read_head(repo.root, repo.env)
    assert head is not None
    assert head.dirty is True


def test_staged_change_is_dirty(repo: Repo) -> None:
    repo.commit("one")
    (repo.root / "new.txt").write_text("x")
    repo.git("add", "new.txt")
    head = read_head(repo.root, repo.env)
    assert head is not None
    assert head.dirty is True


def test_untracked_file_is_dirty_but_ignored_file_is_not(repo: Repo) -> None:
    repo.commit("ignore build output", filename=".gitignore", content="build/\n*.log\n")
    (repo.root / "build").mkdir()
    (repo.root / "build" / "out.bin").write_text("x")
    (repo.root / "run.log").write_text("x")
    head = read_head(repo.root, repo.env)
    assert head is not None
    assert head.dirty is False
    (repo.root / "notes.txt").write_text("x")
    head = read_head(repo.root, repo.env)
    assert head is not None
    assert head.dirty is True


def test_read_head_does_not_touch_the_index(repo: Repo) -> None:
    repo.commit("one")
    index = repo.root / ".git" / "index"
    before = index.stat().st_mtime_ns
    time.sleep(0.01)
    os.utime(repo.root / "file.txt")  # a stat change git status would normally refresh in the index
    read_head(repo.root, repo.env)
    assert index.stat().st_mtime_ns == before
    assert not (repo.root / ".git" / "index.lock").exists()


def test_detached_head_has_no_branch(repo: Repo) -> None:
    first = repo.commit("one")
    repo.commit("two", filename="other.txt")
    repo.git("checkout", "-q", "--detach", first)
    head = read_head(repo.root, repo.env)
    assert head is not None
    assert head.hash == first
    assert head.branch is None


def test_branch_name(repo: Repo) -> None:
    repo.commit("one")
    repo.git("checkout", "-q", "-b", "feature/widget-2")
    head = read_head(repo.root, repo.env)
    assert head is not None and head.branch == "feature/widget-2"


def test_remotes_are_sorted_and_without_credentials(repo: Repo) -> None:
    repo.commit("one")
    repo.git("remote", "add", "origin", "https://x-access-token:ghs_S3CRET@github.com/acme/widget.git")
    repo.git("remote", "add", "upstream", "git@github.com:acme/widget.git")
    repo.git("remote", "add", "mirror", "ssh://bob:hunter2@git.example.com:2222/widget.git")
    repo.git("remote", "add", "Local.Copy", "/srv/git/widget.git")
    # A second URL for the same remote: the first one is recorded.
    repo.git("config", "--add", "remote.origin.url", "https://github.com/acme/other.git")
    head = read_head(repo.root, repo.env)
    assert head is not None
    assert head.remotes == (
        Remote("Local.Copy", "/srv/git/widget.git"),
        Remote("mirror", "ssh://git.example.com:2222/widget.git"),
        Remote("origin", "https://github.com/acme/widget.git"),
        Remote("upstream", "git@github.com:acme/widget.git"),
    )
    rendered = json.dumps([head.to_dict(), head_subject(head)])
    assert "S3CRET" not in rendered
    assert "hunter2" not in rendered


def test_empty_repository_gives_none(repo: Repo) -> None:
    assert read_head(repo.root, repo.env) is None
    (repo.root / "file.txt").write_text("untracked")
    assert read_head(repo.root, repo.env) is None


def test_not_a_repository_gives_none(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(tmp_path),
        "GIT_CEILING_DIRECTORIES": str(tmp_path),
    }
    assert read_head(plain, env) is None
    assert read_head(tmp_path / "does-not-exist", env) is None


def test_git_missing_gives_none(repo: Repo, tmp_path: Path) -> None:
    repo.commit("one")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    assert read_head(repo.root, {**repo.env, "PATH": str(empty)}) is None


def fake_git(directory: Path, script: str) -> Path:
    directory.mkdir()
    path = directory / "git"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return directory


@pytest.mark.skipif(os.name != "posix", reason="shell-script stand-in for git")
def test_a_hanging_git_times_out(repo: Repo, tmp_path: Path) -> None:
    bin_dir = fake_git(tmp_path / "slow-bin", "exec sleep 30\n")
    start = time.monotonic()
    assert read_head(repo.root, {**repo.env, "PATH": str(bin_dir)}, timeout=0.5) is None
    assert time.monotonic() - start < 10


@pytest.mark.skipif(os.name != "posix", reason="shell-script stand-in for git")
def test_git_runs_few_times_with_a_scrubbed_environment(repo: Repo, tmp_path: Path) -> None:
    sha = repo.commit("one")
    real_git = shutil.which("git", path=repo.env["PATH"])
    log = tmp_path / "git-calls.log"
    bin_dir = fake_git(
        tmp_path / "wrap-bin",
        f'echo "CALL $*" >> "{log}"\nenv >> "{log}"\nexec "{real_git}" "$@"\n',
    )
    environ = {
        **repo.env,
        "PATH": f"{bin_dir}{os.pathsep}{repo.env['PATH']}",
        "GITHUB_TOKEN": "ghs_SECRET",
        "GIT_DIR": str(tmp_path / "elsewhere"),
        "GIT_INDEX_FILE": str(tmp_path / "other-index"),
        "GIT_CONFIG_PARAMETERS": "'core.pager'='evil'",
        "LANG": "de_DE.UTF-8",
    }
    head = read_head(repo.root, environ)
    assert head is not None and head.hash == sha
    text = log.read_text()
    assert text.count("CALL ") <= 3
    assert "ghs_SECRET" not in text
    assert "GIT_DIR=" not in text
    assert "GIT_INDEX_FILE=" not in text
    assert "GIT_CONFIG_PARAMETERS=" not in text
    assert "LC_ALL=C" in text
    assert "GIT_TERMINAL_PROMPT=0" in text
    assert "GIT_OPTIONAL_LOCKS=0" in text


def write_raw_commit(repo: Repo, raw: bytes) -> str:
    """Store a hand-written commit object (e.g. with a signature header) and point HEAD at it."""
    sha = repo.git("hash-object", "-t", "commit", "-w", "--stdin", input=raw)
    repo.git("update-ref", "HEAD", sha)
    return sha


SIGNATURE = (
    "-----BEGIN PGP SIGNATURE-----\n"
    "\n"
    "iHUEABYKAB0WIQTexampleexampleexampleexampleAAoJEexampleexample\n"
    "=abcd\n"
    "-----END PGP SIGNATURE-----\n"
)


def test_signature_is_recorded(repo: Repo) -> None:
    repo.commit("one")
    tree = repo.git("rev-parse", "HEAD^{tree}")
    parent = repo.git("rev-parse", "HEAD")
    gpgsig = "gpgsig " + "\n ".join(SIGNATURE.rstrip("\n").split("\n")) + "\n"
    raw = (
        f"tree {tree}\nparent {parent}\n"
        "author Ada Lövelace <ada@example.com> 1714557600 +0200\n"
        "committer Committer <committer@example.com> 1714557600 +0200\n"
        f"{gpgsig}\nsigned change\n"
    ).encode()
    sha = write_raw_commit(repo, raw)
    head = read_head(repo.root, repo.env)
    assert head is not None
    assert head.hash == sha
    assert head.signature == SIGNATURE
    assert head.message == "signed change\n"
    assert head.author_name == "Ada Lövelace"
    assert head.date == "2024-05-01T10:00:00Z"
    assert head_subject(head)["annotations"]["signature"] == SIGNATURE


def test_legacy_encoding_header_is_honoured(repo: Repo) -> None:
    repo.commit("one")
    tree = repo.git("rev-parse", "HEAD^{tree}")
    raw = (
        f"tree {tree}\n".encode()
        + "author José Núñez <jose@example.com> 0 +0000\n".encode("latin-1")
        + b"committer C <c@example.com> 0 +0000\nencoding ISO-8859-1\n\n"
        + "Café\n".encode("latin-1")
    )
    write_raw_commit(repo, raw)
    head = read_head(repo.root, repo.env)
    assert head is not None
    assert head.author_name == "José Núñez"
    assert head.message == "Café\n"
    assert head.date == "1970-01-01T00:00:00Z"


# --- GitHub pull_request override ------------------------------------------------------------------------


def pr_env(repo: Repo, tmp_path: Path, sha: str, event: str = "pull_request") -> dict[str, str]:
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps({"action": "synchronize", "pull_request": {"head": {"sha": sha}}}))
    return {**repo.env, "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(event_file)}


def test_pull_request_head_replaces_the_merge_commit(repo: Repo, tmp_path: Path) -> None:
    pr_head = repo.commit("the PR's own commit")
    repo.commit("Merge abc into def", filename="merge.txt")  # stands in for GitHub's synthetic merge
    head = read_head(repo.root, pr_env(repo, tmp_path, pr_head))
    assert head is not None
    assert head.hash == pr_head
    assert head.message == "the PR's own commit\n"
    assert head.author_email == "ada@example.com"


def test_pull_request_head_absent_locally_records_the_hash_only(repo: Repo, tmp_path: Path) -> None:
    repo.commit("Merge abc into def")
    repo.git("remote", "add", "origin", "https://github.com/acme/widget.git")
    (repo.root / "file.txt").write_text("dirty")
    absent = "0123456789abcdef0123456789abcdef01234567"
    head = read_head(repo.root, pr_env(repo, tmp_path, absent))
    assert head is not None
    assert head.hash == absent
    # The merge commit's metadata describes another commit: it is not attached to this hash.
    assert (head.message, head.author_name, head.author_email, head.date, head.signature) == (
        "",
        "",
        "",
        None,
        None,
    )
    assert head.remotes == (Remote("origin", "https://github.com/acme/widget.git"),)
    assert head.dirty is True
    assert head_subject(head) == {
        "name": "git.head",
        "digest": {"sha1": absent},
        "annotations": {
            "remotes": [{"name": "origin", "url": "https://github.com/acme/widget.git"}],
            "branch": "main",
            "dirty": True,
        },
    }


def test_pull_request_target_is_not_overridden(repo: Repo, tmp_path: Path) -> None:
    first = repo.commit("one")
    second = repo.commit("two", filename="other.txt")
    head = read_head(repo.root, pr_env(repo, tmp_path, first, event="pull_request_target"))
    assert head is not None and head.hash == second


def test_pull_request_override_needs_a_repository(repo: Repo, tmp_path: Path) -> None:
    # An empty repository stays "no HEAD" even when the event names a commit.
    assert read_head(repo.root, pr_env(repo, tmp_path, "a" * 40)) is None


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"pull_request": {"head": {}}}),
        json.dumps({"pull_request": None}),
        json.dumps({"pull_request": {"head": {"sha": 12}}}),
        json.dumps({"pull_request": {"head": {"sha": "HEAD~1"}}}),
        json.dumps({"pull_request": {"head": {"sha": "--output=/tmp/x"}}}),
        json.dumps([1, 2]),
    ],
)
def test_malformed_pull_request_events_are_ignored(tmp_path: Path, content: str) -> None:
    event = tmp_path / "event.json"
    event.write_text(content)
    assert github_pr_head_sha({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}) is None


def test_pull_request_sha_is_read_from_the_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": "ABCDEF" + "0" * 34}}}))
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}
    assert github_pr_head_sha(env) == "abcdef" + "0" * 34
    assert github_pr_head_sha({**env, "GITHUB_EVENT_NAME": "push"}) is None
    assert github_pr_head_sha({"GITHUB_EVENT_NAME": "pull_request"}) is None
    assert github_pr_head_sha({**env, "GITHUB_EVENT_PATH": str(tmp_path / "missing.json")}) is None


# --- model ----------------------------------------------------------------------------------------------


def full_head() -> GitHead:
    return GitHead(
        hash="a" * 40,
        author_name="Ada",
        author_email="ada@example.com",
        date="2024-05-01T10:00:00Z",
        message="msg\n",
        signature=SIGNATURE,
        remotes=(Remote("origin", "https://github.com/acme/widget.git"),),
        branch="main",
        dirty=True,
    )


def test_to_dict_uses_chainloop_field_names() -> None:
    assert full_head().to_dict() == {
        "hash": "a" * 40,
        "authorEmail": "ada@example.com",
        "authorName": "Ada",
        "message": "msg\n",
        "date": "2024-05-01T10:00:00Z",
        "remotes": [{"name": "origin", "url": "https://github.com/acme/widget.git"}],
        "signature": SIGNATURE,
        "branch": "main",
        "dirty": True,
    }


@pytest.mark.parametrize(
    "head",
    [full_head(), GitHead(hash="b" * 64), GitHead(hash="c" * 40, branch=None, dirty=False)],
)
def test_round_trip(head: GitHead) -> None:
    assert GitHead.from_dict(head.to_dict()) == head
    assert GitHead.from_dict(json.loads(json.dumps(head.to_dict()))) == head


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"hash": "xyz"},
        {"hash": "A" * 40},
        {"hash": "a" * 40, "dirty": "yes"},
        {"hash": "a" * 40, "remotes": [{"name": "o"}]},
        {"hash": "a" * 40, "remotes": {"name": "o", "url": "u"}},
        {"hash": "a" * 40, "date": 5},
        "a" * 40,
    ],
)
def test_from_dict_rejects_malformed_records(data: object) -> None:
    with pytest.raises(StateError, match="invalid git head in state"):
        GitHead.from_dict(data)  # type: ignore[arg-type]


def test_head_subject() -> None:
    assert head_subject(full_head()) == {
        "name": "git.head",
        "digest": {"sha1": "a" * 40},
        "annotations": {
            "date": "2024-05-01T10:00:00Z",
            "author.email": "ada@example.com",
            "author.name": "Ada",
            "message": "msg\n",
            "signature": SIGNATURE,
            "remotes": [{"name": "origin", "url": "https://github.com/acme/widget.git"}],
            "branch": "main",
            "dirty": True,
        },
    }


def test_head_subject_for_a_sha256_repository_and_detached_head() -> None:
    subject = head_subject(GitHead(hash="d" * 64, author_name="A", message="m"))
    assert subject["digest"] == {"sha256": "d" * 64}
    assert "branch" not in subject["annotations"]
    assert "signature" not in subject["annotations"]
    assert "remotes" not in subject["annotations"]
    assert "dirty" not in subject["annotations"]  # unknown: not claimed either way
    assert head_subject(GitHead(hash="d" * 64, dirty=False))["annotations"]["dirty"] is False


def test_bare_repository_has_head_but_unknown_dirtiness(repo: Repo, tmp_path: Path) -> None:
    sha = repo.commit("one")
    bare = tmp_path / "work" / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.root), str(bare))
    head = read_head(bare, repo.env)
    assert head is not None
    assert head.hash == sha
    assert head.dirty is None
    assert "dirty" not in head.to_dict()
