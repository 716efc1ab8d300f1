"""The CI systems detected from environment variables alone (reference section 4.2).

Each class states, as data, when it is detected and which variables it records; the lists follow Chainloop's
runners exactly so attestations carry the same ``env`` keys. Chainloop's OIDC exchanges (GitHub's ID token,
GitLab's JWT) and platform commit verification need the network and are out of scope here: we never
authenticate a runner, so ``environment`` is only what the environment claims (documented in
docs/ci-context.md).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from crafter._internal.runners.interface import (
    MANAGED,
    SELF_HOSTED,
    UNKNOWN,
    Runner,
    RunnerType,
    http_url,
    non_empty,
)

# GitHub's pull-request context and GitLab's merge-request context, shared by the runners that can see them.
GITHUB_PR_VARS: tuple[str, ...] = (
    "GITHUB_EVENT_NAME",
    "GITHUB_HEAD_REF",
    "GITHUB_BASE_REF",
    "GITHUB_EVENT_PATH",
)
GITLAB_MR_VARS: tuple[str, ...] = (
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_TITLE",
    "CI_MERGE_REQUEST_DESCRIPTION",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "CI_MERGE_REQUEST_PROJECT_URL",
    "CI_MERGE_REQUEST_PROJECT_PATH",
)


class _EnvDetected(Runner):
    """A runner detected when all of ``detect_vars`` are non-empty; its job URL is one variable (or none)."""

    detect_vars: ClassVar[tuple[str, ...]]
    job_url_var: ClassVar[str | None] = None

    def detect(self, environ: Mapping[str, str]) -> bool:
        return non_empty(environ, *self.detect_vars)

    def job_url(self, environ: Mapping[str, str]) -> str:
        if self.job_url_var is None:
            return ""
        return http_url(environ.get(self.job_url_var, ""))


class GitHubAction(_EnvDetected):
    type = RunnerType.GITHUB_ACTION
    display_name = "GitHub Actions"
    detect_vars = ("CI", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    required_vars = (
        "GITHUB_ACTOR",
        "GITHUB_REF",
        "GITHUB_REPOSITORY",
        "GITHUB_REPOSITORY_OWNER",
        "GITHUB_RUN_ID",
        "GITHUB_SHA",
        "RUNNER_NAME",
        "RUNNER_OS",
    )
    optional_vars = GITHUB_PR_VARS
    missing_vars_hint = "GitHub sets these variables on every job; check that the step does not clear them"

    def job_url(self, environ: Mapping[str, str]) -> str:
        repo, run_id = environ.get("GITHUB_REPOSITORY", ""), environ.get("GITHUB_RUN_ID", "")
        if not repo or not run_id:
            return ""
        # Chainloop hard-codes github.com; GITHUB_SERVER_URL is github.com there too and is the right host on
        # GitHub Enterprise Server.
        server = http_url(environ.get("GITHUB_SERVER_URL", "")).rstrip("/") or "https://github.com"
        return f"{server}/{repo}/actions/runs/{run_id}"

    def environment(self, environ: Mapping[str, str]) -> str:
        # GitHub's runner sets RUNNER_ENVIRONMENT (documented). Chainloop reads the same claim from the OIDC
        # token, which the job cannot forge; here it is only what the environment says.
        return {"github-hosted": MANAGED, "self-hosted": SELF_HOSTED}.get(
            environ.get("RUNNER_ENVIRONMENT", ""), UNKNOWN
        )


class GitLabPipeline(_EnvDetected):
    type = RunnerType.GITLAB_PIPELINE
    display_name = "GitLab CI"
    detect_vars = ("GITLAB_CI", "CI_JOB_URL")
    job_url_var = "CI_JOB_URL"
    required_vars = (
        "GITLAB_USER_EMAIL",
        "GITLAB_USER_LOGIN",
        "CI_SERVER_URL",
        "CI_PROJECT_URL",
        "CI_COMMIT_SHA",
        "CI_JOB_URL",
        "CI_PIPELINE_URL",
        "CI_RUNNER_VERSION",
        "CI_COMMIT_REF_NAME",
        "CI_PROJECT_PATH",
    )
    optional_vars = ("CI_RUNNER_DESCRIPTION", "CI_PIPELINE_SOURCE", *GITLAB_MR_VARS)
    missing_vars_hint = (
        "GitLab sets these predefined variables on every job; check that the job does not clear them"
    )
    # environment(): GitLab exposes no variable that tells a hosted runner from a self-managed one (Chainloop
    # reads it from the OIDC token), so it stays "unknown".


class AzurePipeline(_EnvDetected):
    type = RunnerType.AZURE_PIPELINE
    display_name = "Azure Pipelines"
    detect_vars = ("TF_BUILD", "BUILD_BUILDURI")
    required_vars = ("BUILD_REQUESTEDFOR", "BUILD_BUILDID", "BUILD_BUILDNUMBER", "BUILD_BUILDURI")
    optional_vars = (
        "BUILD_REQUESTEDFOREMAIL",
        "BUILD_REPOSITORY_URI",
        "BUILD_REPOSITORY_NAME",
        "BUILD_REASON",
        "TF_BUILD",
    )
    missing_vars_hint = "Azure Pipelines sets these predefined variables on every job"

    def job_url(self, environ: Mapping[str, str]) -> str:
        # <collection URI>/<team project>/_build/results?buildId=..&j=<job id>&view=logs, as Chainloop builds
        # it (query keys sorted, like Go's url.Values.Encode).
        server = urlsplit(http_url(environ.get("SYSTEM_TEAMFOUNDATIONSERVERURI", "")))
        if not server.netloc:
            return ""
        path = posixpath.join(server.path or "/", environ.get("SYSTEM_TEAMPROJECT", ""), "_build/results")
        query = urlencode(
            sorted(
                {
                    "buildId": environ.get("BUILD_BUILDID", ""),
                    "j": environ.get("SYSTEM_JOBID", ""),
                    "view": "logs",
                }.items()
            )
        )
        return urlunsplit((server.scheme, server.netloc, quote(path), query, ""))


class JenkinsJob(_EnvDetected):
    type = RunnerType.JENKINS_JOB
    display_name = "Jenkins"
    detect_vars = ("JENKINS_HOME", "BUILD_URL")
    job_url_var = "BUILD_URL"
    required_vars = ("JOB_NAME", "BUILD_URL", "WORKSPACE", "NODE_NAME")
    optional_vars = ("GIT_BRANCH", "GIT_COMMIT", "AGENT_WORKDIR")
    missing_vars_hint = "Jenkins sets these variables for every build; check the agent's environment"


class CircleCIBuild(Runner):
    type = RunnerType.CIRCLECI_BUILD
    display_name = "CircleCI"
    required_vars = (
        "CIRCLE_BUILD_URL",
        "CIRCLE_JOB",
        "CIRCLE_BRANCH",
        "CIRCLE_NODE_TOTAL",
        "CIRCLE_NODE_INDEX",
    )
    missing_vars_hint = "CircleCI sets these built-in variables on every job"

    def detect(self, environ: Mapping[str, str]) -> bool:
        # CircleCI is the one runner Chainloop detects by value, not presence.
        return environ.get("CI") == "true" and environ.get("CIRCLECI") == "true"

    def job_url(self, environ: Mapping[str, str]) -> str:
        return http_url(environ.get("CIRCLE_BUILD_URL", ""))


class DaggerPipeline(_EnvDetected):
    """Chainloop's Dagger module; it may run inside GitHub Actions or GitLab CI, hence their PR/MR vars."""

    type = RunnerType.DAGGER_PIPELINE
    display_name = "Dagger"
    detect_vars = ("CHAINLOOP_DAGGER_CLIENT",)
    required_vars = ("CHAINLOOP_DAGGER_CLIENT",)
    optional_vars = (
        *GITHUB_PR_VARS,
        "CI_PIPELINE_SOURCE",
        *GITLAB_MR_VARS,
        "CI_SERVER_URL",
        "CI_PROJECT_PATH",
        "GITLAB_USER_LOGIN",
    )


class TeamCityPipeline(_EnvDetected):
    type = RunnerType.TEAMCITY_PIPELINE
    display_name = "TeamCity"
    detect_vars = ("TEAMCITY_PROJECT_NAME",)
    job_url_var = "BUILD_URL"
    required_vars = ("BUILD_URL", "TEAMCITY_PROJECT_NAME")
    optional_vars = (
        "TEAMCITY_VERSION",
        "BUILD_NUMBER",
        "USER",
        "TEAMCITY_GIT_VERSION",
        "BUILD_VCS_NUMBER",
        "HOME",
    )
    missing_vars_hint = (
        "where the agent does not set BUILD_URL, define it as an environment parameter, e.g. "
        "env.BUILD_URL = %teamcity.serverUrl%/viewLog.html?buildId=%teamcity.build.id%"
    )


class ChainloopSandbox(_EnvDetected):
    """Chainloop's hosted sandbox: detected so a contract naming it can be honoured; records nothing."""

    type = RunnerType.CHAINLOOP_SANDBOX
    display_name = "Chainloop sandbox"
    detect_vars = ("CHAINLOOP_SANDBOX",)


class Generic(Runner):
    """Anywhere else (a laptop, an unknown CI): always detected, records nothing, has no job URL."""

    type = RunnerType.RUNNER_TYPE_UNSPECIFIED
    display_name = "generic"

    def detect(self, environ: Mapping[str, str]) -> bool:
        return True
