"""Credentials are stripped from git remote URLs before they are recorded."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from crafter._internal.runners import sanitize_remote_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/widget.git", "https://github.com/acme/widget.git"),
        ("https://user:s3cret@github.com/acme/widget.git", "https://github.com/acme/widget.git"),
        ("https://x-access-token:ghs_abc123@github.com/acme/widget", "https://github.com/acme/widget"),
        ("https://ghp_tokenasuser@github.com/acme/widget", "https://github.com/acme/widget"),
        ("http://user:pw@host:8080/repo.git", "http://host:8080/repo.git"),
        ("ssh://user:pw@host/srv/repo.git", "ssh://host/srv/repo.git"),
        ("ssh://git@host:2222/srv/repo.git", "ssh://host:2222/srv/repo.git"),
        ("git+ssh://user:pw@host/repo", "git+ssh://host/repo"),
        ("HTTPS://user:pw@host/repo", "HTTPS://host/repo"),
        ("https://user:p@ss@host/repo", "https://host/repo"),  # unencoded "@" in the password
        ("https://user:pa#ss@host/repo", "https://host/repo"),  # unencoded "#" in the password
        ("https://user:pa?ss@host/repo", "https://host/repo"),
        ("https://user:pw@host", "https://host"),
        ("https://host/org/repo@v1", "https://host/org/repo@v1"),  # "@" in the path is not userinfo
        ("https://user:pw@host/repo?ref=main", "https://host/repo"),
        ("https://github.com/acme/widget.git?access_token=ghp_SECRET", "https://github.com/acme/widget.git"),
        ("https://github.com/acme/widget.git#ghp_SECRET", "https://github.com/acme/widget.git"),
        ("https://host/repo?a=1#frag", "https://host/repo"),
        ("git@github.com:acme/widget.git?token=SECRET", "git@github.com:acme/widget.git"),
        ("host:repo#SECRET", "host:repo"),
        ("/srv/git/wid#get?.git", "/srv/git/wid#get?.git"),  # a local path keeps its characters
        ("file:///srv/git/wid#get.git", "file:///srv/git/wid#get.git"),
        ("git@github.com:acme/widget.git", "git@github.com:acme/widget.git"),  # scp-style kept
        ("github.com:acme/widget.git", "github.com:acme/widget.git"),
        ("user:pw@host:acme/widget.git", "host:acme/widget.git"),  # scp-style with a password
        ("user:p@w@host:acme/widget.git", "host:acme/widget.git"),
        ("git@host:org/repo@v1", "git@host:org/repo@v1"),
        ("a:b@h://c:SECRET@e/x", "h://e/x"),  # stripping one userinfo exposes a second one
        ("/srv/git/widget.git", "/srv/git/widget.git"),
        ("../widget", "../widget"),
        ("file:///srv/git/widget.git", "file:///srv/git/widget.git"),
        ("", ""),
    ],
)
def test_sanitize(url: str, expected: str) -> None:
    assert sanitize_remote_url(url) == expected


# Userinfo may hold anything but "/" (which ends the authority); hosts and paths are ordinary.
_userinfo = st.text(
    alphabet=st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1, max_size=30
)
_host = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?(:[0-9]{1,5})?", fullmatch=True)
_path = st.from_regex(r"(/[A-Za-z0-9._~@-]{0,12}){0,4}", fullmatch=True)
_query = st.from_regex(r"(\?[a-z=&_]{0,20})?(#[A-Za-z0-9_]{0,20})?", fullmatch=True)


@given(
    scheme=st.sampled_from(["https", "http", "ssh", "git+ssh", "ftp", "git"]),
    user=_userinfo,
    password=_userinfo,
    host=_host,
    path=_path,
    query=_query,
)
@example(scheme="https", user="u", password="p@ss:w?rd#", host="host", path="/r", query="?access_token=x")
def test_password_never_survives(
    scheme: str, user: str, password: str, host: str, path: str, query: str
) -> None:
    expected = f"{scheme}://{host}{path}"
    out = sanitize_remote_url(f"{scheme}://{user}:{password}@{host}{path}{query}")
    assert out == expected
    assume(password not in expected)  # e.g. a one-letter password that is also part of the host
    assert password not in out


_scp_user = st.from_regex(r"[A-Za-z0-9._-]{1,12}", fullmatch=True)
_scp_host = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True)
_scp_path = st.from_regex(r"[A-Za-z0-9._-]{1,10}(/[A-Za-z0-9._-]{1,10}){0,3}", fullmatch=True)


@given(user=_scp_user, password=_userinfo, host=_scp_host, path=_scp_path)
def test_scp_style_password_never_survives(user: str, password: str, host: str, path: str) -> None:
    out = sanitize_remote_url(f"{user}:{password}@{host}:{path}")
    assert out == f"{host}:{path}"


@given(user=_scp_user, host=_scp_host, path=_scp_path)
def test_scp_style_login_is_kept(user: str, host: str, path: str) -> None:
    url = f"{user}@{host}:{path}"
    assert sanitize_remote_url(url) == url


@given(st.text())
def test_sanitize_is_idempotent_and_never_adds_text(url: str) -> None:
    once = sanitize_remote_url(url)
    assert sanitize_remote_url(once) == once
    assert len(once) <= len(url)
