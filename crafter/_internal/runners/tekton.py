"""Tekton Pipelines: detected by the ``/tekton/results`` directory every TaskRun step has.

Chainloop asks the Kubernetes API (with the pod's service-account token) for the pod's ``tekton.dev/*``
labels and *synthesises* ``TEKTON_*`` variables from them. We do not call the Kubernetes API: crafter makes
no network calls to collect context, and reading a service-account token is not something an attestation
tool should do. Instead we record the same variable names only when the pod really has them in its
environment; a Task exposes them with Tekton's context variables, for example::

    env:
      - name: TEKTON_TASKRUN_NAME
        value: $(context.taskRun.name)
      - name: TEKTON_NAMESPACE
        value: $(context.taskRun.namespace)
      - name: TEKTON_PIPELINERUN_NAME
        value: $(context.pipelineRun.name)

(see docs/ci-context.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from crafter._internal.runners.interface import MANAGED, SELF_HOSTED, UNKNOWN, Runner, RunnerType, http_url

#: The directory Tekton mounts into every step container.
RESULTS_DIR = "/tekton/results"

PathExists = Callable[[str], bool]


def _taskrun_from_hostname(hostname: str) -> str:
    # Tekton names a TaskRun's pod "<taskrun>-pod" (or "<taskrun>-pod-retryN"); longer names are hashed and
    # cannot be mapped back, so those give "".
    if (idx := hostname.find("-pod-retry")) > 0:
        return hostname[:idx]
    if hostname.endswith("-pod") and len(hostname) > len("-pod"):
        return hostname[: -len("-pod")]
    return ""


class TektonPipeline(Runner):
    type = RunnerType.TEKTON_PIPELINE
    display_name = "Tekton"
    required_vars = ("TEKTON_TASKRUN_NAME", "TEKTON_NAMESPACE")
    optional_vars = (
        "HOSTNAME",
        "TEKTON_TASK_NAME",
        "TEKTON_PIPELINE_NAME",
        "TEKTON_PIPELINERUN_NAME",
        "TEKTON_PIPELINE_TASK_NAME",
    )
    missing_vars_hint = (
        "crafter does not query the Kubernetes API; set them in the step's env from Tekton's context, "
        "e.g. TEKTON_TASKRUN_NAME=$(context.taskRun.name) and TEKTON_NAMESPACE=$(context.taskRun.namespace)"
    )

    def __init__(self, path_exists: PathExists = os.path.exists) -> None:
        # Injected so tests (and callers on machines that happen to have /tekton) control detection.
        self._path_exists = path_exists

    def detect(self, environ: Mapping[str, str]) -> bool:
        return self._path_exists(RESULTS_DIR)

    def job_url(self, environ: Mapping[str, str]) -> str:
        namespace = environ.get("TEKTON_NAMESPACE", "")
        pipelinerun = environ.get("TEKTON_PIPELINERUN_NAME", "")
        taskrun = environ.get("TEKTON_TASKRUN_NAME", "") or _taskrun_from_hostname(
            environ.get("HOSTNAME", "")
        )
        if not namespace:
            return ""
        if pipelinerun:
            kind, name = "pipelineruns", pipelinerun
        elif taskrun:
            kind, name = "taskruns", taskrun
        else:
            return ""
        # TEKTON_DASHBOARD_URL is read for the link only, never recorded.
        dashboard = http_url(environ.get("TEKTON_DASHBOARD_URL", "")).rstrip("/")
        if dashboard:
            return f"{dashboard}/#/namespaces/{namespace}/{kind}/{name}"
        return f"tekton://{namespace}/{kind}/{name}"

    def environment(self, environ: Mapping[str, str]) -> str:
        # Chainloop's heuristic: workload-identity variables injected by GKE, EKS and AKS mean a managed
        # cluster; any other Kubernetes pod is self-hosted. Only their presence is looked at.
        if any(
            environ.get(name)
            for name in ("GOOGLE_CLOUD_PROJECT", "AWS_WEB_IDENTITY_TOKEN_FILE", "AZURE_FEDERATED_TOKEN_FILE")
        ):
            return MANAGED
        if environ.get("KUBERNETES_SERVICE_HOST"):
            return SELF_HOSTED
        return UNKNOWN
