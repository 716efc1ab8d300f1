"""The git HEAD record: what an attestation keeps of the commit it was made from (a model, no git calls).

Kept apart from :mod:`crafter._internal.runners.git`, which runs git, so that reading a state file stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from crafter.errors import StateError

OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@attrs.frozen
class Remote:
    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    url: str = attrs.field(validator=attrs.validators.instance_of(str))

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "url": self.url}


def _check_oid(_inst: object, _attr: object, value: str) -> None:
    if not isinstance(value, str) or not OID.fullmatch(value):
        raise ValueError(f"commit hash must be 40 or 64 lowercase hex digits, got {value!r}")


def _opt_str(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{attr.name} must be a string or None, got {value!r}")


def _remotes(value: Iterable[Remote]) -> tuple[Remote, ...]:
    remotes = tuple(value)
    if not all(isinstance(remote, Remote) for remote in remotes):
        raise TypeError("remotes must be Remote objects")
    return remotes


def _opt_bool(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{attr.name} must be a boolean or None, got {value!r}")


@attrs.frozen
class GitHead:
    """The commit an attestation was made from, and the state of the checkout around it.

    ``date`` is the author date in RFC 3339, UTC (``2024-05-01T12:00:00Z``). Commit metadata (author, date,
    message, signature) is empty when only the hash is known (a pull request head absent from a shallow
    clone). ``branch`` is ``None`` on a detached HEAD. ``dirty`` counts modified, staged and untracked files,
    but not files git ignores; it is ``None`` when unknown (a record from Chainloop, a bare repository).
    """

    hash: str = attrs.field(validator=_check_oid)
    author_name: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    author_email: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    date: str | None = attrs.field(default=None, validator=_opt_str)
    message: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    signature: str | None = attrs.field(default=None, validator=_opt_str)  # raw armored PGP/SSH signature
    remotes: tuple[Remote, ...] = attrs.field(default=(), converter=_remotes)
    branch: str | None = attrs.field(default=None, validator=_opt_str)
    dirty: bool | None = attrs.field(default=None, validator=_opt_bool)

    def to_dict(self) -> dict[str, Any]:
        """Chainloop's state field names (``hash``, ``authorEmail``...) plus ours (``branch``, ``dirty``)."""
        out: dict[str, Any] = {
            "hash": self.hash,
            "authorEmail": self.author_email,
            "authorName": self.author_name,
            "message": self.message,
        }
        if self.date is not None:
            out["date"] = self.date
        out["remotes"] = [remote.to_dict() for remote in self.remotes]
        if self.signature is not None:
            out["signature"] = self.signature
        if self.branch is not None:
            out["branch"] = self.branch
        if self.dirty is not None:
            out["dirty"] = self.dirty
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GitHead:
        """Parse what :meth:`to_dict` wrote; a malformed record is a corrupt state (:class:`StateError`)."""
        if not isinstance(data, Mapping):
            raise StateError(f"invalid git head in state: expected an object, got {type(data).__name__}")
        try:
            remotes = data.get("remotes") or []
            if not isinstance(remotes, list):
                raise TypeError("remotes must be a list")
            return cls(
                hash=data["hash"],
                author_name=data.get("authorName", ""),
                author_email=data.get("authorEmail", ""),
                date=data.get("date"),
                message=data.get("message", ""),
                signature=data.get("signature") or None,
                remotes=tuple(Remote(name=r["name"], url=r["url"]) for r in remotes),
                branch=data.get("branch"),
                dirty=data.get("dirty"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"invalid git head in state: {exc}") from exc


def head_subject(head: GitHead) -> dict[str, Any]:
    """The in-toto subject for the HEAD commit (reference section 3.2), plus ``branch`` and ``dirty``.

    The digest algorithm is ``sha1`` as in Chainloop, or ``sha256`` for a SHA-256 repository (64 hex digits).
    Empty commit metadata and an unknown ``dirty`` (see :class:`GitHead`) are left out rather than recorded as
    empty strings or a guess.
    """
    annotations: dict[str, Any] = {}
    if head.date:
        annotations["date"] = head.date
    if head.author_email:
        annotations["author.email"] = head.author_email
    if head.author_name:
        annotations["author.name"] = head.author_name
    if head.message:
        annotations["message"] = head.message
    if head.signature:
        annotations["signature"] = head.signature
    if head.remotes:
        annotations["remotes"] = [remote.to_dict() for remote in head.remotes]
    if head.branch is not None:
        annotations["branch"] = head.branch
    if head.dirty is not None:
        annotations["dirty"] = head.dirty
    algorithm = "sha1" if len(head.hash) == 40 else "sha256"
    return {"name": "git.head", "digest": {algorithm: head.hash}, "annotations": annotations}
