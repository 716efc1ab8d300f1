"""The ``Runner`` plugin interface: what a CI system is, how it is detected and what it lets us record.

A runner never reads ``os.environ`` itself: every method takes the environment as an explicit mapping, so
tests pass plain dicts and the library never depends on (or changes) the process environment.

What a runner records is a fixed, documented list of non-secret context variables (``required_vars`` and
``optional_vars``, reference section 4.2). Nothing else from the environment is ever copied into an
attestation; tokens in particular (``GITHUB_TOKEN``, ``CI_JOB_TOKEN``, ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``...)
are never listed. A runner may *look at* a few more variables to build its job URL or to tell a managed
from a self-hosted machine, but only the URL or the verdict is recorded, never those values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlsplit

import attrs

from crafter.errors import StateError


class RunnerType(StrEnum):
    """The runner types of Chainloop's contract schema (``CraftingSchema.Runner.RunnerType``), by name."""

    RUNNER_TYPE_UNSPECIFIED = "RUNNER_TYPE_UNSPECIFIED"
    GITHUB_ACTION = "GITHUB_ACTION"
    GITLAB_PIPELINE = "GITLAB_PIPELINE"
    AZURE_PIPELINE = "AZURE_PIPELINE"
    JENKINS_JOB = "JENKINS_JOB"
    CIRCLECI_BUILD = "CIRCLECI_BUILD"
    DAGGER_PIPELINE = "DAGGER_PIPELINE"
    TEAMCITY_PIPELINE = "TEAMCITY_PIPELINE"
    TEKTON_PIPELINE = "TEKTON_PIPELINE"
    CHAINLOOP_SANDBOX = "CHAINLOOP_SANDBOX"


# Values of ``RunnerContext.environment`` (Chainloop's ``runnerEnvironment``).
MANAGED = "managed"
SELF_HOSTED = "self-hosted"
UNKNOWN = "unknown"
ENVIRONMENTS: frozenset[str] = frozenset({MANAGED, SELF_HOSTED, UNKNOWN})


def non_empty(environ: Mapping[str, str], *names: str) -> bool:
    """True when every variable is set to a non-empty value (how Chainloop's ``CheckEnv`` tests presence)."""
    return all(environ.get(name, "") != "" for name in names)


def http_url(value: str) -> str:
    """``value`` when it is an absolute http(s) URL, else ``""`` (a job URL is a link, not free text)."""
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        return value
    return ""


class Runner(ABC):
    """One CI system. Subclasses are stateless apart from injected probes (e.g. a filesystem check)."""

    #: The contract's name for this runner.
    type: ClassVar[RunnerType]
    #: Human name used in messages, e.g. ``GitHub Actions``.
    display_name: ClassVar[str]
    #: Recorded; missing or empty is an error at init.
    required_vars: ClassVar[tuple[str, ...]] = ()
    #: Recorded when set and non-empty.
    optional_vars: ClassVar[tuple[str, ...]] = ()
    #: Shown with the "cannot be resolved" error: where these variables come from.
    missing_vars_hint: ClassVar[str | None] = None

    @abstractmethod
    def detect(self, environ: Mapping[str, str]) -> bool:
        """True when the process runs inside this CI system."""

    def job_url(self, environ: Mapping[str, str]) -> str:
        """A link to this run in the CI system's UI, or ``""`` when it has none."""
        return ""

    def environment(self, environ: Mapping[str, str]) -> str:
        """``managed``, ``self-hosted`` or ``unknown``, decided from the environment alone (no network)."""
        return UNKNOWN

    @property
    def recorded_vars(self) -> tuple[str, ...]:
        """Every variable this runner may record: required first, then optional."""
        return self.required_vars + self.optional_vars

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type.value}>"


def _sorted_env(value: Mapping[str, str]) -> Mapping[str, str]:
    # A read-only, key-sorted copy: the caller's dict is never kept (or mutated) and the order is stable.
    return MappingProxyType(dict(sorted(value.items())))


def _check_env(_inst: object, _attr: object, value: Mapping[str, str]) -> None:
    for key, val in value.items():
        if not isinstance(key, str) or not isinstance(val, str):
            raise TypeError(f"env entries must be strings, got {key!r}: {val!r}")


def _check_environment(_inst: object, _attr: object, value: str) -> None:
    if value not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {sorted(ENVIRONMENTS)}, got {value!r}")


@attrs.frozen
class RunnerContext:
    """What an attestation records about where it was crafted (state and predicate ``runner*``/``env``)."""

    type: RunnerType = attrs.field(converter=RunnerType)
    job_url: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    # Excluded from the hash (a mapping is unhashable); still compared by ``==``.
    env: Mapping[str, str] = attrs.field(
        factory=dict, converter=_sorted_env, validator=_check_env, hash=False
    )
    environment: str = attrs.field(default=UNKNOWN, validator=_check_environment)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "jobUrl": self.job_url,
            "env": dict(self.env),
            "environment": self.environment,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunnerContext:
        """Parse what :meth:`to_dict` wrote; a malformed record is a corrupt state (:class:`StateError`)."""
        if not isinstance(data, Mapping):
            raise StateError(
                f"invalid runner context in state: expected an object, got {type(data).__name__}"
            )
        try:
            env = data.get("env") or {}
            if not isinstance(env, Mapping):
                raise TypeError("env must be an object")
            return cls(
                type=data["type"],
                job_url=data.get("jobUrl", ""),
                env=dict(env),
                environment=data.get("environment", UNKNOWN),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"invalid runner context in state: {exc}") from exc
