"""Per-runner detection, recorded variables, job URLs and environment (reference section 4.2)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from crafter._internal.runners import MANAGED, SELF_HOSTED, UNKNOWN, Runner, RunnerType, resolve_context
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
from crafter._internal.runners.tekton import TektonPipeline
from crafter.errors import ExitCode, RunnerError

# Secrets a CI job typically has in its environment; none may ever reach a recorded context.
SECRETS = {
    "GITHUB_TOKEN": "ghs_SECRETgithubtoken",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "SECRETidtokenrequest",
    "ACTIONS_RUNTIME_TOKEN": "SECRETruntime",
    "CI_JOB_TOKEN": "glcbt-SECRETjobtoken",
    "CI_JOB_JWT_V2": "SECRETjwt",
    "SYSTEM_ACCESSTOKEN": "SECRETazure",
    "AWS_SECRET_ACCESS_KEY": "SECRETaws",
    "CIRCLE_OIDC_TOKEN": "SECRETcircle",
    "NPM_TOKEN": "SECRETnpm",
}
NOISE = {"PATH": "/usr/bin:/bin", "SHELL": "/bin/bash", "LANG": "C.UTF-8", **SECRETS}

TEKTON_YES = "/tekton/results"


def tekton(exists: bool = True) -> TektonPipeline:
    return TektonPipeline(path_exists=lambda p: exists and p == TEKTON_YES)


# runner, a realistic environment, exactly what must be recorded from it, its job URL
CASES: list[tuple[Runner, dict[str, str], dict[str, str], str]] = [
    (
        GitHubAction(),
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTOR": "octocat",
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REPOSITORY": "acme/widget",
            "GITHUB_REPOSITORY_OWNER": "acme",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_SHA": "a" * 40,
            "RUNNER_NAME": "GitHub Actions 2",
            "RUNNER_OS": "Linux",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_HEAD_REF": "",  # empty optional: not recorded
            "GITHUB_EVENT_PATH": "/home/runner/work/_temp/_github_workflow/event.json",
            "GITHUB_WORKSPACE": "/home/runner/work/widget",  # not in the list: not recorded
        },
        {
            "GITHUB_ACTOR": "octocat",
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REPOSITORY": "acme/widget",
            "GITHUB_REPOSITORY_OWNER": "acme",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_SHA": "a" * 40,
            "RUNNER_NAME": "GitHub Actions 2",
            "RUNNER_OS": "Linux",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_EVENT_PATH": "/home/runner/work/_temp/_github_workflow/event.json",
        },
        "https://github.com/acme/widget/actions/runs/4242",
    ),
    (
        GitLabPipeline(),
        {
            "CI": "true",
            "GITLAB_CI": "true",
            "GITLAB_USER_EMAIL": "dev@example.com",
            "GITLAB_USER_LOGIN": "dev",
            "CI_SERVER_URL": "https://gitlab.com",
            "CI_PROJECT_URL": "https://gitlab.com/acme/widget",
            "CI_COMMIT_SHA": "b" * 40,
            "CI_JOB_URL": "https://gitlab.com/acme/widget/-/jobs/77",
            "CI_PIPELINE_URL": "https://gitlab.com/acme/widget/-/pipelines/9",
            "CI_RUNNER_VERSION": "16.0.1",
            "CI_COMMIT_REF_NAME": "main",
            "CI_PROJECT_PATH": "acme/widget",
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_MERGE_REQUEST_IID": "12",
            "CI_MERGE_REQUEST_PROJECT_PATH": "acme/widget",
            "CI_REGISTRY_PASSWORD": "SECRETregistry",
        },
        {
            "GITLAB_USER_EMAIL": "dev@example.com",
            "GITLAB_USER_LOGIN": "dev",
            "CI_SERVER_URL": "https://gitlab.com",
            "CI_PROJECT_URL": "https://gitlab.com/acme/widget",
            "CI_COMMIT_SHA": "b" * 40,
            "CI_JOB_URL": "https://gitlab.com/acme/widget/-/jobs/77",
            "CI_PIPELINE_URL": "https://gitlab.com/acme/widget/-/pipelines/9",
            "CI_RUNNER_VERSION": "16.0.1",
            "CI_COMMIT_REF_NAME": "main",
            "CI_PROJECT_PATH": "acme/widget",
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_MERGE_REQUEST_IID": "12",
            "CI_MERGE_REQUEST_PROJECT_PATH": "acme/widget",
        },
        "https://gitlab.com/acme/widget/-/jobs/77",
    ),
    (
        AzurePipeline(),
        {
            "TF_BUILD": "True",
            "BUILD_BUILDURI": "vstfs:///Build/Build/42",
            "BUILD_REQUESTEDFOR": "Dev Eloper",
            "BUILD_REQUESTEDFOREMAIL": "dev@example.com",
            "BUILD_BUILDID": "42",
            "BUILD_BUILDNUMBER": "20240501.1",
            "BUILD_REASON": "IndividualCI",
            "SYSTEM_TEAMFOUNDATIONSERVERURI": "https://dev.azure.com/acme/",
            "SYSTEM_TEAMPROJECT": "Widget Project",
            "SYSTEM_JOBID": "12f1170f-54f2-53f3-20dd-22fc7dff55f9",
        },
        {
            "TF_BUILD": "True",
            "BUILD_BUILDURI": "vstfs:///Build/Build/42",
            "BUILD_REQUESTEDFOR": "Dev Eloper",
            "BUILD_REQUESTEDFOREMAIL": "dev@example.com",
            "BUILD_BUILDID": "42",
            "BUILD_BUILDNUMBER": "20240501.1",
            "BUILD_REASON": "IndividualCI",
        },
        "https://dev.azure.com/acme/Widget%20Project/_build/results"
        "?buildId=42&j=12f1170f-54f2-53f3-20dd-22fc7dff55f9&view=logs",
    ),
    (
        JenkinsJob(),
        {
            "JENKINS_HOME": "/var/jenkins_home",
            "JENKINS_URL": "https://jenkins.example.com/",
            "BUILD_URL": "https://jenkins.example.com/job/widget/7/",
            "JOB_NAME": "widget",
            "WORKSPACE": "/var/jenkins_home/workspace/widget",
            "NODE_NAME": "built-in",
            "GIT_BRANCH": "origin/main",
            "GIT_COMMIT": "c" * 40,
        },
        {
            "BUILD_URL": "https://jenkins.example.com/job/widget/7/",
            "JOB_NAME": "widget",
            "WORKSPACE": "/var/jenkins_home/workspace/widget",
            "NODE_NAME": "built-in",
            "GIT_BRANCH": "origin/main",
            "GIT_COMMIT": "c" * 40,
        },
        "https://jenkins.example.com/job/widget/7/",
    ),
    (
        CircleCIBuild(),
        {
            "CI": "true",
            "CIRCLECI": "true",
            "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/widget/123",
            "CIRCLE_JOB": "build",
            "CIRCLE_BRANCH": "main",
            "CIRCLE_NODE_TOTAL": "1",
            "CIRCLE_NODE_INDEX": "0",
            "CIRCLE_SHA1": "d" * 40,
        },
        {
            "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/widget/123",
            "CIRCLE_JOB": "build",
            "CIRCLE_BRANCH": "main",
            "CIRCLE_NODE_TOTAL": "1",
            "CIRCLE_NODE_INDEX": "0",
        },
        "https://circleci.com/gh/acme/widget/123",
    ),
    (
        DaggerPipeline(),
        {
            "CHAINLOOP_DAGGER_CLIENT": "v0.6.0",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_HEAD_REF": "feature",
            "GITHUB_BASE_REF": "main",
            "GITHUB_ACTOR": "octocat",  # a GitHub var Dagger does not record
        },
        {
            "CHAINLOOP_DAGGER_CLIENT": "v0.6.0",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_HEAD_REF": "feature",
            "GITHUB_BASE_REF": "main",
        },
        "",
    ),
    (
        TeamCityPipeline(),
        {
            "TEAMCITY_PROJECT_NAME": "Widget",
            "BUILD_URL": "https://teamcity.example.com/viewLog.html?buildId=5",
            "TEAMCITY_VERSION": "2024.03",
            "BUILD_NUMBER": "5",
            "HOME": "/home/buildagent",
            "USER": "buildagent",
        },
        {
            "TEAMCITY_PROJECT_NAME": "Widget",
            "BUILD_URL": "https://teamcity.example.com/viewLog.html?buildId=5",
            "TEAMCITY_VERSION": "2024.03",
            "BUILD_NUMBER": "5",
            "HOME": "/home/buildagent",
            "USER": "buildagent",
        },
        "https://teamcity.example.com/viewLog.html?buildId=5",
    ),
    (
        tekton(),
        {
            "HOSTNAME": "build-run-abc-pod",
            "TEKTON_TASKRUN_NAME": "build-run-abc",
            "TEKTON_NAMESPACE": "ci",
            "TEKTON_PIPELINERUN_NAME": "release-run-1",
            "KUBERNETES_SERVICE_HOST": "10.0.0.1",
        },
        {
            "HOSTNAME": "build-run-abc-pod",
            "TEKTON_TASKRUN_NAME": "build-run-abc",
            "TEKTON_NAMESPACE": "ci",
            "TEKTON_PIPELINERUN_NAME": "release-run-1",
        },
        "tekton://ci/pipelineruns/release-run-1",
    ),
    (ChainloopSandbox(), {"CHAINLOOP_SANDBOX": "1"}, {}, ""),
    (Generic(), {}, {}, ""),
]
IDS = [case[0].type.value for case in CASES]

# The reference's table (section 4.2), written out independently of the implementation.
EXPECTED_VARS: dict[RunnerType, tuple[tuple[str, ...], tuple[str, ...]]] = {
    RunnerType.GITHUB_ACTION: (
        (
            "GITHUB_ACTOR",
            "GITHUB_REF",
            "GITHUB_REPOSITORY",
            "GITHUB_REPOSITORY_OWNER",
            "GITHUB_RUN_ID",
            "GITHUB_SHA",
            "RUNNER_NAME",
            "RUNNER_OS",
        ),
        ("GITHUB_EVENT_NAME", "GITHUB_HEAD_REF", "GITHUB_BASE_REF", "GITHUB_EVENT_PATH"),
    ),
    RunnerType.GITLAB_PIPELINE: (
        (
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
        ),
        (
            "CI_RUNNER_DESCRIPTION",
            "CI_PIPELINE_SOURCE",
            "CI_MERGE_REQUEST_IID",
            "CI_MERGE_REQUEST_TITLE",
            "CI_MERGE_REQUEST_DESCRIPTION",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
            "CI_MERGE_REQUEST_PROJECT_URL",
            "CI_MERGE_REQUEST_PROJECT_PATH",
        ),
    ),
    RunnerType.AZURE_PIPELINE: (
        ("BUILD_REQUESTEDFOR", "BUILD_BUILDID", "BUILD_BUILDNUMBER", "BUILD_BUILDURI"),
        (
            "BUILD_REQUESTEDFOREMAIL",
            "BUILD_REPOSITORY_URI",
            "BUILD_REPOSITORY_NAME",
            "BUILD_REASON",
            "TF_BUILD",
        ),
    ),
    RunnerType.JENKINS_JOB: (
        ("JOB_NAME", "BUILD_URL", "WORKSPACE", "NODE_NAME"),
        ("GIT_BRANCH", "GIT_COMMIT", "AGENT_WORKDIR"),
    ),
    RunnerType.CIRCLECI_BUILD: (
        ("CIRCLE_BUILD_URL", "CIRCLE_JOB", "CIRCLE_BRANCH", "CIRCLE_NODE_TOTAL", "CIRCLE_NODE_INDEX"),
        (),
    ),
    RunnerType.DAGGER_PIPELINE: (
        ("CHAINLOOP_DAGGER_CLIENT",),
        (
            "GITHUB_EVENT_NAME",
            "GITHUB_HEAD_REF",
            "GITHUB_BASE_REF",
            "GITHUB_EVENT_PATH",
            "CI_PIPELINE_SOURCE",
            "CI_MERGE_REQUEST_IID",
            "CI_MERGE_REQUEST_TITLE",
            "CI_MERGE_REQUEST_DESCRIPTION",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
            "CI_MERGE_REQUEST_PROJECT_URL",
            "CI_MERGE_REQUEST_PROJECT_PATH",
            "CI_SERVER_URL",
            "CI_PROJECT_PATH",
            "GITLAB_USER_LOGIN",
        ),
    ),
    RunnerType.TEAMCITY_PIPELINE: (
        ("BUILD_URL", "TEAMCITY_PROJECT_NAME"),
        ("TEAMCITY_VERSION", "BUILD_NUMBER", "USER", "TEAMCITY_GIT_VERSION", "BUILD_VCS_NUMBER", "HOME"),
    ),
    RunnerType.TEKTON_PIPELINE: (
        ("TEKTON_TASKRUN_NAME", "TEKTON_NAMESPACE"),
        (
            "HOSTNAME",
            "TEKTON_TASK_NAME",
            "TEKTON_PIPELINE_NAME",
            "TEKTON_PIPELINERUN_NAME",
            "TEKTON_PIPELINE_TASK_NAME",
        ),
    ),
    RunnerType.CHAINLOOP_SANDBOX: ((), ()),
    RunnerType.RUNNER_TYPE_UNSPECIFIED: ((), ()),
}


def with_noise(env: Mapping[str, str]) -> dict[str, str]:
    return {**NOISE, **env}


@pytest.mark.parametrize(("runner", "env", "recorded", "url"), CASES, ids=IDS)
def test_detected_in_its_own_environment(
    runner: Runner, env: dict[str, str], recorded: object, url: str
) -> None:
    assert runner.detect(with_noise(env))


@pytest.mark.parametrize(("runner", "env", "recorded", "url"), CASES, ids=IDS)
def test_records_exactly_the_listed_variables(
    runner: Runner, env: dict[str, str], recorded: dict[str, str], url: str
) -> None:
    ctx = resolve_context(runner, with_noise(env), ())
    assert dict(ctx.env) == recorded
    assert list(ctx.env) == sorted(recorded)
    assert ctx.type is runner.type


@pytest.mark.parametrize(("runner", "env", "recorded", "url"), CASES, ids=IDS)
def test_no_secret_is_ever_recorded(runner: Runner, env: dict[str, str], recorded: object, url: str) -> None:
    rendered = json.dumps(resolve_context(runner, with_noise(env), ()).to_dict())
    for name, value in SECRETS.items():
        assert name not in rendered
        assert value not in rendered
    assert "SECRETregistry" not in rendered


@pytest.mark.parametrize(("runner", "env", "recorded", "url"), CASES, ids=IDS)
def test_job_url(runner: Runner, env: dict[str, str], recorded: object, url: str) -> None:
    assert runner.job_url(with_noise(env)) == url
    assert resolve_context(runner, with_noise(env), ()).job_url == url


@pytest.mark.parametrize("runner", [case[0] for case in CASES], ids=IDS)
def test_variable_lists_match_the_reference(runner: Runner) -> None:
    required, optional = EXPECTED_VARS[runner.type]
    assert runner.required_vars == required
    assert runner.optional_vars == optional
    assert not set(runner.recorded_vars) & set(SECRETS)


@pytest.mark.parametrize(
    ("runner", "env"),
    [
        (GitHubAction(), {"CI": "true", "GITHUB_REPOSITORY": "a/b", "GITHUB_RUN_ID": "1"}),
        (GitLabPipeline(), {"GITLAB_CI": "true", "CI_JOB_URL": "https://gitlab.com/a/b/-/jobs/1"}),
        (AzurePipeline(), {"TF_BUILD": "True", "BUILD_BUILDURI": "vstfs:///Build/Build/1"}),
        (JenkinsJob(), {"JENKINS_HOME": "/var/jenkins", "BUILD_URL": "https://j/job/1/"}),
        (CircleCIBuild(), {"CI": "true", "CIRCLECI": "true"}),
        (DaggerPipeline(), {"CHAINLOOP_DAGGER_CLIENT": "v1"}),
        (TeamCityPipeline(), {"TEAMCITY_PROJECT_NAME": "p"}),
        (ChainloopSandbox(), {"CHAINLOOP_SANDBOX": "1"}),
    ],
    ids=lambda v: v.type.value if isinstance(v, Runner) else "",
)
def test_detection_needs_every_marker(runner: Runner, env: dict[str, str]) -> None:
    assert runner.detect(env)
    assert not runner.detect({})
    assert not runner.detect(SECRETS)
    for name in env:
        assert not runner.detect({k: v for k, v in env.items() if k != name}), f"detected without {name}"
        assert not runner.detect({**env, name: ""}), f"detected with empty {name}"


def test_circleci_is_detected_by_value() -> None:
    assert not CircleCIBuild().detect({"CI": "1", "CIRCLECI": "true"})
    assert not CircleCIBuild().detect({"CI": "true", "CIRCLECI": "yes"})


def test_tekton_detection_uses_the_injected_filesystem_check() -> None:
    seen: list[str] = []

    def exists(path: str) -> bool:
        seen.append(path)
        return True

    assert TektonPipeline(path_exists=exists).detect({})
    assert seen == ["/tekton/results"]
    assert not tekton(exists=False).detect({"TEKTON_TASKRUN_NAME": "x", "TEKTON_NAMESPACE": "y"})


def test_generic_always_detects() -> None:
    assert Generic().detect({})


def test_missing_required_variables_are_all_named() -> None:
    env = {"CI": "true", "GITHUB_REPOSITORY": "acme/widget", "GITHUB_RUN_ID": "1", "GITHUB_ACTOR": ""}
    with pytest.raises(RunnerError) as info:
        resolve_context(GitHubAction(), env, ())
    assert str(info.value) == (
        "error while resolving runner environment variables: "
        "environment variable GITHUB_ACTOR cannot be resolved; "
        "environment variable GITHUB_REF cannot be resolved; "
        "environment variable GITHUB_REPOSITORY_OWNER cannot be resolved; "
        "environment variable GITHUB_SHA cannot be resolved; "
        "environment variable RUNNER_NAME cannot be resolved; "
        "environment variable RUNNER_OS cannot be resolved"
    )
    assert info.value.exit_code is ExitCode.RUNNER


WITH_REQUIRED = [case for case in CASES if case[0].required_vars]


@pytest.mark.parametrize(
    ("runner", "env", "recorded", "url"), WITH_REQUIRED, ids=[c[0].type.value for c in WITH_REQUIRED]
)
def test_each_missing_required_variable_is_an_error(
    runner: Runner, env: dict[str, str], recorded: object, url: str
) -> None:
    for name in runner.required_vars:
        broken = {k: v for k, v in env.items() if k != name}
        if not runner.detect(broken):
            continue  # the variable is also a detection marker: that case is "not detected", tested above
        with pytest.raises(RunnerError, match=f"environment variable {name} cannot be resolved$"):
            resolve_context(runner, broken, ())


def test_tekton_missing_vars_hint_explains_how_to_set_them() -> None:
    with pytest.raises(RunnerError) as info:
        resolve_context(tekton(), {"HOSTNAME": "x-pod"}, ())
    assert "TEKTON_TASKRUN_NAME cannot be resolved" in str(info.value)
    assert "TEKTON_NAMESPACE cannot be resolved" in str(info.value)
    assert info.value.hint is not None
    assert "$(context.taskRun.name)" in info.value.hint


def test_github_job_url_follows_enterprise_server() -> None:
    env = {"GITHUB_REPOSITORY": "a/b", "GITHUB_RUN_ID": "9", "GITHUB_SERVER_URL": "https://ghe.example.com/"}
    assert GitHubAction().job_url(env) == "https://ghe.example.com/a/b/actions/runs/9"
    assert GitHubAction().job_url({"GITHUB_REPOSITORY": "a/b"}) == ""
    # A server URL that is not an http(s) URL is ignored.
    env["GITHUB_SERVER_URL"] = "javascript:alert(1)"
    assert GitHubAction().job_url(env) == "https://github.com/a/b/actions/runs/9"


def test_job_url_must_be_an_http_link() -> None:
    assert JenkinsJob().job_url({"BUILD_URL": "not a url"}) == ""
    assert AzurePipeline().job_url({"BUILD_BUILDID": "1"}) == ""


@pytest.mark.parametrize(
    ("env", "url"),
    [
        (
            {"TEKTON_NAMESPACE": "ci", "TEKTON_PIPELINERUN_NAME": "pr1", "TEKTON_TASKRUN_NAME": "tr1"},
            "tekton://ci/pipelineruns/pr1",
        ),
        ({"TEKTON_NAMESPACE": "ci", "TEKTON_TASKRUN_NAME": "tr1"}, "tekton://ci/taskruns/tr1"),
        ({"TEKTON_NAMESPACE": "ci", "HOSTNAME": "tr2-pod"}, "tekton://ci/taskruns/tr2"),
        ({"TEKTON_NAMESPACE": "ci", "HOSTNAME": "tr3-pod-retry2"}, "tekton://ci/taskruns/tr3"),
        ({"TEKTON_NAMESPACE": "ci", "HOSTNAME": "hashed0123456789"}, ""),
        ({"TEKTON_TASKRUN_NAME": "tr1"}, ""),
        (
            {
                "TEKTON_NAMESPACE": "ci",
                "TEKTON_PIPELINERUN_NAME": "pr1",
                "TEKTON_DASHBOARD_URL": "https://tekton.example.com/",
            },
            "https://tekton.example.com/#/namespaces/ci/pipelineruns/pr1",
        ),
        (
            {
                "TEKTON_NAMESPACE": "ci",
                "TEKTON_TASKRUN_NAME": "tr1",
                "TEKTON_DASHBOARD_URL": "https://t.example",
            },
            "https://t.example/#/namespaces/ci/taskruns/tr1",
        ),
    ],
)
def test_tekton_job_url(env: dict[str, str], url: str) -> None:
    assert tekton().job_url(env) == url


@pytest.mark.parametrize(
    ("runner", "env", "expected"),
    [
        (GitHubAction(), {"RUNNER_ENVIRONMENT": "github-hosted"}, MANAGED),
        (GitHubAction(), {"RUNNER_ENVIRONMENT": "self-hosted"}, SELF_HOSTED),
        (GitHubAction(), {}, UNKNOWN),
        (GitHubAction(), {"RUNNER_ENVIRONMENT": "other"}, UNKNOWN),
        (tekton(), {"GOOGLE_CLOUD_PROJECT": "p", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}, MANAGED),
        (tekton(), {"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"}, MANAGED),
        (tekton(), {"AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"}, MANAGED),
        (tekton(), {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, SELF_HOSTED),
        (tekton(), {}, UNKNOWN),
        (GitLabPipeline(), {"CI_SERVER_HOST": "gitlab.com"}, UNKNOWN),
        (Generic(), {"RUNNER_ENVIRONMENT": "github-hosted"}, UNKNOWN),
    ],
)
def test_environment(runner: Runner, env: dict[str, str], expected: str) -> None:
    assert runner.environment(env) == expected


def test_environment_is_recorded_but_its_inputs_are_not() -> None:
    env = {**CASES[0][1], "RUNNER_ENVIRONMENT": "github-hosted"}
    ctx = resolve_context(GitHubAction(), env, ())
    assert ctx.environment == MANAGED
    assert "RUNNER_ENVIRONMENT" not in ctx.env
