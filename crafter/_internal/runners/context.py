"""Runner discovery, contract enforcement and the resolution of the recorded environment (sections 4.1, 4.3).

Discovery order is fixed (Chainloop probes a Go map, so its order is random when several runners match):

1. Dagger, because a Dagger pipeline usually runs *inside* GitHub Actions or GitLab CI and would otherwise be
   taken for them;
2. GitHub Actions, GitLab CI, Azure Pipelines, Jenkins, CircleCI, TeamCity, Tekton;
3. Chainloop's sandbox;
4. Generic, which always matches.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from crafter._internal.runners.ci import (
    AzurePipeline,
    ChainloopSandbox,
    CircleCIBuild,
    DaggerPipeline,
    Generic,
    GitHubAction,
    GitLabPipeline,
    JenkinsJob,
    TeamCityPipeline,
)
from crafter._internal.runners.interface import Runner, RunnerContext, RunnerType
from crafter._internal.runners.tekton import PathExists, TektonPipeline
from crafter.errors import RunnerError

#: Variables a contract's env allow-list may not name: well-known CI credentials. An allow-list comes from a
#: contract, possibly someone else's; copying a token into an attestation (often public) would leak it.
CREDENTIAL_VARS: frozenset[str] = frozenset(
    {
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "CI_JOB_TOKEN",
        "CI_JOB_JWT",
        "CI_JOB_JWT_V1",
        "CI_JOB_JWT_V2",
        "CI_REGISTRY_PASSWORD",
        "CI_DEPLOY_PASSWORD",
        "GITLAB_OIDC",
        "SYSTEM_ACCESSTOKEN",
        "CIRCLE_OIDC_TOKEN",
        "CIRCLE_OIDC_TOKEN_V2",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AZURE_CLIENT_SECRET",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "CHAINLOOP_TOKEN",
        "CHAINLOOP_SIGNING_PASSWORD",
        "CHAINLOOP_REGISTRY_PASSWORD",
        "CRAFTER_SIGNING_PASSWORD",
    }
)


def runners(*, path_exists: PathExists = os.path.exists) -> tuple[Runner, ...]:
    """Every runner, in discovery order (Generic last)."""
    return (
        DaggerPipeline(),
        GitHubAction(),
        GitLabPipeline(),
        AzurePipeline(),
        JenkinsJob(),
        CircleCIBuild(),
        TeamCityPipeline(),
        TektonPipeline(path_exists),
        ChainloopSandbox(),
        Generic(),
    )


def discover_runner(environ: Mapping[str, str], *, path_exists: PathExists = os.path.exists) -> Runner:
    """The first runner, in the documented order, whose detection matches ``environ``; Generic otherwise."""
    for runner in runners(path_exists=path_exists):
        if runner.detect(environ):
            return runner
    raise AssertionError("unreachable: the generic runner always matches")  # pragma: no cover


def runner_for_type(runner_type: RunnerType | str, *, path_exists: PathExists = os.path.exists) -> Runner:
    """The runner an attestation recorded, to re-check its environment in later commands."""
    wanted = RunnerType(runner_type)
    for runner in runners(path_exists=path_exists):
        if runner.type is wanted:
            return runner
    raise AssertionError(f"no runner for {wanted}")  # pragma: no cover - every type has a runner


def enforce_runner(expected: RunnerType | str, detected: Runner, dry_run: bool) -> None:
    """Fail when the contract requires a runner other than the one detected.

    ``RUNNER_TYPE_UNSPECIFIED`` means any runner; a dry run is never enforced (so a contract can be tried on a
    laptop).
    """
    wanted = RunnerType(expected)
    if dry_run or wanted is RunnerType.RUNNER_TYPE_UNSPECIFIED or detected.type is wanted:
        return
    raise RunnerError(
        f"the contract requires runner {wanted.value} but this is {detected.type.value} "
        f"({detected.display_name})",
        hint="run it in that CI, or use crafter init --dry-run to try it locally",
    )


def resolve_context(
    runner: Runner,
    environ: Mapping[str, str],
    env_allow_list: Iterable[str] = (),
    *,
    skip_runner_vars: bool = False,
) -> RunnerContext:
    """The runner context to record: the runner's variables plus the contract's allow-listed ones.

    Only names the runner lists (or the allow-list names) are read; every other variable is ignored. Missing
    required runner variables and missing or empty allow-listed variables are :class:`RunnerError`\\ s that
    name all of them at once. ``skip_runner_vars`` keeps only the allow-list (Chainloop's org setting
    ``skipRunnerEnvVars``).
    """
    if not runner.detect(environ):
        raise RunnerError(
            f'couldn\'t detect the environment "{runner.type.value}" ({runner.display_name}): '
            "the runner environment doesn't match the required runner type",
            hint="is the crafting process happening in the target environment?",
        )
    env: dict[str, str] = {}
    if not skip_runner_vars:
        missing = [name for name in runner.required_vars if not environ.get(name)]
        if missing:
            details = "; ".join(f"environment variable {name} cannot be resolved" for name in missing)
            raise RunnerError(
                f"error while resolving runner environment variables: {details}",
                hint=runner.missing_vars_hint,
            )
        env.update({name: environ[name] for name in runner.recorded_vars if environ.get(name)})

    allow = list(dict.fromkeys(env_allow_list))  # de-duplicated, contract order kept for messages
    refused = [name for name in allow if name in CREDENTIAL_VARS]
    if refused:
        names = ", ".join(f'"{name}"' for name in refused)
        raise RunnerError(
            f"the contract's env allow-list names credentials that crafter never records: {names}",
            hint="remove them from envAllowList; record a non-secret identifier instead",
        )
    absent = [name for name in allow if not environ.get(name)]
    if absent:
        names = ", ".join(f'"{name}"' for name in absent)
        raise RunnerError(
            f"required env variables not present {names}",
            hint="the contract's envAllowList requires them to be set and non-empty",
        )
    env.update({name: environ[name] for name in allow})
    return RunnerContext(
        type=runner.type,
        job_url=runner.job_url(environ),
        env=env,
        environment=runner.environment(environ),
    )


def detect_pull_request(runner: Runner, environ: Mapping[str, str]) -> bool:
    """True when this run is for a pull or merge request (reference section 4.5), from the environment only.

    GitHub: ``GITHUB_EVENT_NAME`` is ``pull_request`` or ``pull_request_target``. GitLab:
    ``CI_PIPELINE_SOURCE`` is ``merge_request_event`` (then ``CI_MERGE_REQUEST_IID`` must be set). Dagger
    checks GitHub's variables, then GitLab's. Other runners: never.
    """
    kind = runner.type
    github_pr = environ.get("GITHUB_EVENT_NAME") in ("pull_request", "pull_request_target")
    if kind in (RunnerType.GITHUB_ACTION, RunnerType.DAGGER_PIPELINE) and github_pr:
        return True
    if (
        kind in (RunnerType.GITLAB_PIPELINE, RunnerType.DAGGER_PIPELINE)
        and environ.get("CI_PIPELINE_SOURCE") == "merge_request_event"
    ):
        if not environ.get("CI_MERGE_REQUEST_IID"):
            raise RunnerError(
                "merge request pipeline without CI_MERGE_REQUEST_IID",
                hint="GitLab sets it in merge request pipelines; check that the job does not clear it",
            )
        return True
    return False
