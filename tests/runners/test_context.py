"""Discovery order, the env allow-list, contract enforcement and the RunnerContext model."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crafter._internal.runners import (
    CREDENTIAL_VARS,
    Runner,
    RunnerContext,
    RunnerType,
    detect_pull_request,
    discover_runner,
    enforce_runner,
    resolve_context,
    runner_for_type,
    runners,
)
from crafter._internal.runners.ci import Generic, GitHubAction, GitLabPipeline, JenkinsJob
from crafter.errors import ExitCode, RunnerError, StateError

GITHUB = {"CI": "true", "GITHUB_REPOSITORY": "acme/widget", "GITHUB_RUN_ID": "1"}
GITHUB_FULL = {
    **GITHUB,
    "GITHUB_ACTOR": "octocat",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_REPOSITORY_OWNER": "acme",
    "GITHUB_SHA": "a" * 40,
    "RUNNER_NAME": "r",
    "RUNNER_OS": "Linux",
}
GITLAB = {"GITLAB_CI": "true", "CI_JOB_URL": "https://gitlab.com/a/b/-/jobs/1"}
DAGGER = {"CHAINLOOP_DAGGER_CLIENT": "v0.6.0"}
JENKINS = {"JENKINS_HOME": "/var/jenkins", "BUILD_URL": "https://j.example/job/1/"}
TEAMCITY = {"TEAMCITY_PROJECT_NAME": "p", "BUILD_URL": "https://tc.example/viewLog.html?buildId=1"}
AZURE = {"TF_BUILD": "True", "BUILD_BUILDURI": "vstfs:///Build/Build/1"}
CIRCLE = {"CI": "true", "CIRCLECI": "true"}


def no_tekton(_path: str) -> bool:
    return False


def tekton_here(path: str) -> bool:
    return path == "/tekton/results"


def test_discovery_order_is_fixed() -> None:
    assert [r.type for r in runners(path_exists=no_tekton)] == [
        RunnerType.DAGGER_PIPELINE,
        RunnerType.GITHUB_ACTION,
        RunnerType.GITLAB_PIPELINE,
        RunnerType.AZURE_PIPELINE,
        RunnerType.JENKINS_JOB,
        RunnerType.CIRCLECI_BUILD,
        RunnerType.TEAMCITY_PIPELINE,
        RunnerType.TEKTON_PIPELINE,
        RunnerType.CHAINLOOP_SANDBOX,
        RunnerType.RUNNER_TYPE_UNSPECIFIED,
    ]


@pytest.mark.parametrize(
    ("env", "tekton", "expected"),
    [
        ({}, False, RunnerType.RUNNER_TYPE_UNSPECIFIED),
        (GITHUB, False, RunnerType.GITHUB_ACTION),
        ({**GITHUB, **DAGGER}, False, RunnerType.DAGGER_PIPELINE),  # Dagger inside GitHub Actions
        ({**GITLAB, **DAGGER}, False, RunnerType.DAGGER_PIPELINE),  # Dagger inside GitLab CI
        ({**GITHUB, **GITLAB}, False, RunnerType.GITHUB_ACTION),
        ({**GITLAB, **AZURE}, False, RunnerType.GITLAB_PIPELINE),
        ({**AZURE, **JENKINS}, False, RunnerType.AZURE_PIPELINE),
        ({**JENKINS, **TEAMCITY}, False, RunnerType.JENKINS_JOB),  # both have BUILD_URL
        ({**CIRCLE, **TEAMCITY}, False, RunnerType.CIRCLECI_BUILD),
        (TEAMCITY, False, RunnerType.TEAMCITY_PIPELINE),
        (GITHUB, True, RunnerType.GITHUB_ACTION),  # a GitHub job in a pod with /tekton: GitHub first
        ({}, True, RunnerType.TEKTON_PIPELINE),
        ({"CHAINLOOP_SANDBOX": "1"}, True, RunnerType.TEKTON_PIPELINE),
        ({"CHAINLOOP_SANDBOX": "1"}, False, RunnerType.CHAINLOOP_SANDBOX),
        ({"CI": "true"}, False, RunnerType.RUNNER_TYPE_UNSPECIFIED),
    ],
)
def test_discovery_when_several_match(env: dict[str, str], tekton: bool, expected: RunnerType) -> None:
    assert discover_runner(env, path_exists=tekton_here if tekton else no_tekton).type is expected


def test_discovery_reads_only_the_given_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GITHUB.items():
        monkeypatch.setenv(key, value)
    env: dict[str, str] = {}
    assert discover_runner(env, path_exists=no_tekton).type is RunnerType.RUNNER_TYPE_UNSPECIFIED
    assert env == {}
    before = dict(os.environ)
    discover_runner(GITHUB, path_exists=no_tekton)
    assert dict(os.environ) == before


def test_runner_for_type_recreates_the_recorded_runner() -> None:
    for runner_type in RunnerType:
        assert runner_for_type(runner_type, path_exists=no_tekton).type is runner_type
    assert runner_for_type("GITLAB_PIPELINE").type is RunnerType.GITLAB_PIPELINE


# --- enforcement ---------------------------------------------------------------------------------------


def test_enforcement_mismatch_names_both_runners() -> None:
    with pytest.raises(RunnerError) as info:
        enforce_runner(RunnerType.GITHUB_ACTION, Generic(), dry_run=False)
    assert str(info.value) == (
        "the contract requires runner GITHUB_ACTION but this is RUNNER_TYPE_UNSPECIFIED (generic)"
    )
    assert info.value.hint == "run it in that CI, or use crafter init --dry-run to try it locally"
    assert info.value.exit_code is ExitCode.RUNNER


def test_enforcement_mismatch_between_two_cis() -> None:
    with pytest.raises(
        RunnerError, match=r"^the contract requires runner JENKINS_JOB but this is GITLAB_PIPELINE "
    ):
        enforce_runner(RunnerType.JENKINS_JOB, GitLabPipeline(), dry_run=False)


def test_enforcement_passes() -> None:
    enforce_runner(RunnerType.GITHUB_ACTION, GitHubAction(), dry_run=False)
    enforce_runner("GITHUB_ACTION", GitHubAction(), dry_run=False)
    enforce_runner(RunnerType.RUNNER_TYPE_UNSPECIFIED, JenkinsJob(), dry_run=False)
    enforce_runner(RunnerType.RUNNER_TYPE_UNSPECIFIED, Generic(), dry_run=False)
    enforce_runner(RunnerType.GITHUB_ACTION, Generic(), dry_run=True)  # dry run: never enforced


def test_enforcement_rejects_an_unknown_type_name() -> None:
    with pytest.raises(ValueError, match="GITHUB_ACTIONS"):
        enforce_runner("GITHUB_ACTIONS", GitHubAction(), dry_run=False)


# --- env allow-list -------------------------------------------------------------------------------------


def test_allow_list_values_are_merged_and_sorted() -> None:
    env = {**GITHUB_FULL, "CUSTOM_VAR_2": "two", "CUSTOM_VAR_1": "one", "UNLISTED": "x"}
    ctx = resolve_context(GitHubAction(), env, ["CUSTOM_VAR_2", "CUSTOM_VAR_1"])
    assert ctx.env["CUSTOM_VAR_1"] == "one"
    assert ctx.env["CUSTOM_VAR_2"] == "two"
    assert "UNLISTED" not in ctx.env
    assert list(ctx.env) == sorted(ctx.env)


def test_allow_list_on_the_generic_runner() -> None:
    ctx = resolve_context(Generic(), {"PROJECT": "widget", "TOKEN": "x"}, ["PROJECT"])
    assert dict(ctx.env) == {"PROJECT": "widget"}
    assert ctx.job_url == ""
    assert ctx.environment == "unknown"


def test_missing_allow_listed_variable() -> None:
    with pytest.raises(RunnerError) as info:
        resolve_context(Generic(), {}, ["CUSTOM_VAR_1"])
    assert str(info.value) == 'required env variables not present "CUSTOM_VAR_1"'
    assert info.value.exit_code is ExitCode.RUNNER


def test_every_missing_or_empty_allow_listed_variable_is_named() -> None:
    env = {"A": "set", "B": "", "D": "set"}
    with pytest.raises(RunnerError) as info:
        resolve_context(Generic(), env, ["A", "B", "C", "D", "C"])
    assert str(info.value) == 'required env variables not present "B", "C"'


def test_runner_variables_are_checked_before_the_allow_list() -> None:
    with pytest.raises(RunnerError, match="GITHUB_ACTOR cannot be resolved"):
        resolve_context(GitHubAction(), GITHUB, ["MISSING"])


def test_skip_runner_vars_keeps_only_the_allow_list() -> None:
    ctx = resolve_context(GitHubAction(), {**GITHUB, "X": "1"}, ["X"], skip_runner_vars=True)
    assert dict(ctx.env) == {"X": "1"}
    assert ctx.job_url == "https://github.com/acme/widget/actions/runs/1"


@pytest.mark.parametrize("name", sorted(CREDENTIAL_VARS))
def test_allow_list_may_not_name_a_credential(name: str) -> None:
    with pytest.raises(RunnerError, match=f'credentials that crafter never records: "{name}"'):
        resolve_context(Generic(), {name: "SECRET"}, [name])


def test_resolving_outside_the_runner_fails() -> None:
    with pytest.raises(RunnerError, match='couldn\'t detect the environment "GITHUB_ACTION"'):
        resolve_context(GitHubAction(), {}, ())


def test_resolution_does_not_mutate_its_inputs() -> None:
    env = {**GITHUB_FULL, "X": "1"}
    allow = ["X"]
    before_env, before_allow = dict(env), list(allow)
    resolve_context(GitHubAction(), env, allow)
    assert env == before_env
    assert allow == before_allow


# --- pull requests --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("runner", "env", "expected"),
    [
        (GitHubAction(), {"GITHUB_EVENT_NAME": "pull_request"}, True),
        (GitHubAction(), {"GITHUB_EVENT_NAME": "pull_request_target"}, True),
        (GitHubAction(), {"GITHUB_EVENT_NAME": "push"}, False),
        (GitLabPipeline(), {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "3"}, True),
        (GitLabPipeline(), {"CI_PIPELINE_SOURCE": "push"}, False),
        (GitLabPipeline(), {"GITHUB_EVENT_NAME": "pull_request"}, False),
        (runner_for_type("DAGGER_PIPELINE"), {"GITHUB_EVENT_NAME": "pull_request"}, True),
        (
            runner_for_type("DAGGER_PIPELINE"),
            {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "3"},
            True,
        ),
        (Generic(), {"GITHUB_EVENT_NAME": "pull_request"}, False),
    ],
)
def test_detect_pull_request(runner: Runner, env: dict[str, str], expected: bool) -> None:
    assert detect_pull_request(runner, env) is expected


def test_merge_request_without_iid_is_an_error() -> None:
    with pytest.raises(RunnerError, match="CI_MERGE_REQUEST_IID"):
        detect_pull_request(GitLabPipeline(), {"CI_PIPELINE_SOURCE": "merge_request_event"})


# --- RunnerContext --------------------------------------------------------------------------------------


def test_context_to_dict_uses_camel_case() -> None:
    ctx = RunnerContext(
        type=RunnerType.GITHUB_ACTION, job_url="https://x", env={"B": "2", "A": "1"}, environment="managed"
    )
    assert ctx.to_dict() == {
        "type": "GITHUB_ACTION",
        "jobUrl": "https://x",
        "env": {"A": "1", "B": "2"},
        "environment": "managed",
    }
    assert list(ctx.to_dict()["env"]) == ["A", "B"]


def test_context_is_immutable_and_hashable() -> None:
    source = {"A": "1"}
    ctx = RunnerContext(type="JENKINS_JOB", env=source)
    source["A"] = "changed"
    assert ctx.env["A"] == "1"
    with pytest.raises(TypeError):
        ctx.env["A"] = "2"  # type: ignore[index]
    assert hash(ctx) == hash(RunnerContext(type="JENKINS_JOB", env={"A": "1"}))
    assert ctx == RunnerContext(type="JENKINS_JOB", env={"A": "1"})
    assert ctx != RunnerContext(type="JENKINS_JOB", env={"A": "2"})


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"type": "NOT_A_RUNNER"},
        {"type": "GITHUB_ACTION", "env": ["A"]},
        {"type": "GITHUB_ACTION", "env": {"A": 1}},
        {"type": "GITHUB_ACTION", "environment": "cloud"},
        {"type": "GITHUB_ACTION", "jobUrl": 3},
        ["GITHUB_ACTION"],
    ],
)
def test_context_from_dict_rejects_malformed_records(data: object) -> None:
    with pytest.raises(StateError, match="invalid runner context in state"):
        RunnerContext.from_dict(data)  # type: ignore[arg-type]


def test_context_from_dict_does_not_mutate_its_input() -> None:
    data = {"type": "GITLAB_PIPELINE", "jobUrl": "", "env": {"Z": "1", "A": "2"}, "environment": "unknown"}
    snapshot = {**data, "env": dict(data["env"])}  # type: ignore[arg-type]
    RunnerContext.from_dict(data)
    assert data == snapshot
    assert list(data["env"]) == ["Z", "A"]  # type: ignore[arg-type]


@given(
    runner_type=st.sampled_from(list(RunnerType)),
    job_url=st.text(),
    env=st.dictionaries(st.text(min_size=1), st.text()),
    environment=st.sampled_from(["managed", "self-hosted", "unknown"]),
)
def test_context_round_trip(
    runner_type: RunnerType, job_url: str, env: dict[str, str], environment: str
) -> None:
    ctx = RunnerContext(type=runner_type, job_url=job_url, env=env, environment=environment)
    assert RunnerContext.from_dict(ctx.to_dict()) == ctx
