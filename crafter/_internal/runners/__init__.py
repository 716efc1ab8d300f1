"""CI runner context and git HEAD collection: what an attestation records about where it was made.

See docs/ci-context.md for the user-facing description (detection order, recorded variables, job URLs).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crafter._internal.runners.context import (
        CREDENTIAL_VARS,
        detect_pull_request,
        discover_runner,
        enforce_runner,
        resolve_context,
        runner_for_type,
        runners,
    )
    from crafter._internal.runners.git import (
        GitHead,
        Remote,
        github_pr_head_sha,
        head_subject,
        read_head,
        sanitize_remote_url,
    )
    from crafter._internal.runners.interface import (
        MANAGED,
        SELF_HOSTED,
        UNKNOWN,
        Runner,
        RunnerContext,
        RunnerType,
    )

# Names are imported on first use: reading a state file needs GitHead, not the CI runner tables.
_HOME = {
    **dict.fromkeys(
        (
            "CREDENTIAL_VARS",
            "detect_pull_request",
            "discover_runner",
            "enforce_runner",
            "resolve_context",
            "runner_for_type",
            "runners",
        ),
        "context",
    ),
    **dict.fromkeys(
        ("GitHead", "Remote", "github_pr_head_sha", "head_subject", "read_head", "sanitize_remote_url"), "git"
    ),
    **dict.fromkeys(
        ("MANAGED", "SELF_HOSTED", "UNKNOWN", "Runner", "RunnerContext", "RunnerType"), "interface"
    ),
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'crafter._internal.runners' has no attribute {name!r}")
    return getattr(importlib.import_module(f"crafter._internal.runners.{module}"), name)


__all__ = [
    "CREDENTIAL_VARS",
    "MANAGED",
    "SELF_HOSTED",
    "UNKNOWN",
    "GitHead",
    "Remote",
    "Runner",
    "RunnerContext",
    "RunnerType",
    "detect_pull_request",
    "discover_runner",
    "enforce_runner",
    "github_pr_head_sha",
    "head_subject",
    "read_head",
    "resolve_context",
    "runner_for_type",
    "runners",
    "sanitize_remote_url",
]
