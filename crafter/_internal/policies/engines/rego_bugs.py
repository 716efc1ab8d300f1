"""regopy's known built-in bugs: which built-ins, the error each causes, and the rewrite that avoids it.

regopy 1.5.2 (the newest release) gets a few built-ins wrong, and has no hook to replace a built-in. A policy
written for OPA then fails under regopy with an error that does not say why (``Unable to parse time``, or a
result that is not JSON). When a policy that calls one of these built-ins fails with the matching error, the
engine names the bug and the rewrite in the error (:func:`explain`). Each entry was checked on regopy 1.5.2
and on OPA: the rewrite gives OPA's answer under both (tests/policies/test_regopy_bugs.py). The same table is
in docs/policies/rego.md.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

REGOPY = "regopy 1.5.2"
OPA_BACKEND = "evaluate with OPA itself: --rego-backend opa"


@attrs.frozen
class RegopyBug:
    """One bug: the built-ins it affects, the text of the error it causes, what is wrong, and the rewrite
    (None for a built-in regopy does not implement: only the OPA backend has it)."""

    builtins: tuple[str, ...]
    marker: str  # a text of the error message the bug causes
    what: str
    rewrite: str | None


KNOWN = (
    RegopyBug(
        builtins=("time.parse_rfc3339_ns", "time.parse_ns"),
        marker="Unable to parse time",
        what="cannot parse UTC timestamps written with Z (2024-01-02T03:04:05Z), only with a numeric offset "
        "(+00:00)",
        rewrite='write the offset out: time.parse_rfc3339_ns(replace(ts, "Z", "+00:00"))',
    ),
    RegopyBug(
        builtins=("sprintf",),
        marker="not JSON",
        what="formats a string computed by another built-in (concat, upper, replace, sprintf, ...) with "
        "unescaped quotes around it when the format has other text: "
        'sprintf("missing %s", [concat(", ", names)]) gives missing "a, b"',
        rewrite='build the message with concat: concat("", ["missing ", concat(", ", names)])',
    ),
    RegopyBug(
        builtins=("sprintf",),
        marker="must be number but got number",
        what="refuses a number with a fraction for %d (OPA writes %!d(float64=1.5))",
        rewrite="format numbers that may have a fraction with %v",
    ),
    RegopyBug(
        builtins=(
            "strings.render_template",
            "json.verify_schema",
            "json.match_schema",
            "graphql.is_valid",
            "graphql.parse",
            "graphql.parse_and_verify",
            "graphql.parse_query",
            "graphql.parse_schema",
            "graphql.schema_is_valid",
            "rego.metadata.rule",
            "rego.metadata.chain",
            "providers.aws.sign_req",
        ),
        marker="not supported",
        what="is not implemented",
        rewrite=None,
    ),
)


def explain(message: str, calls: Iterable[str]) -> tuple[str, str] | None:
    """For an evaluation error ``message`` of a module that calls ``calls``: the bug that explains it, as
    (what to add to the message, hint), or None when no known bug matches both.

    (No line: the module as evaluated has the boilerplate injected, so its lines are not the author's.)
    """
    called = set(calls)
    for bug in KNOWN:
        name = next((name for name in bug.builtins if name in called), None)
        if name is None or bug.marker not in message:
            continue
        if bug.rewrite is None:
            return f"{REGOPY} does not implement {name}", OPA_BACKEND
        # "likely": the same error has other causes (a timestamp that is not one at all)
        return f"likely a known {REGOPY} bug: {name} {bug.what}", f"{bug.rewrite}; or {OPA_BACKEND}"
    return None
