"""One rule decides whether policies block a release: the predicate's ``policyAttBlocked`` and push's gate
(exit code 4) both come from :class:`PolicyOutcome`, so they agree on every set of evaluations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from crafter._internal.policy_record import PolicyOutcome
from crafter._internal.push_rules import PushResult, gate_failures
from crafter._internal.statement import policy_fields


def evaluation(name: str, *, violated: bool, gate: bool, suppressed: bool = False) -> dict[str, Any]:
    e: dict[str, Any] = {"name": name, "type": "STRING", "policyReference": {"name": name}, "skipped": False}
    if violated:
        e["violations"] = [{"subject": name, "message": "no", **({"suppress": True} if suppressed else {})}]
    if gate:
        e["gate"] = True
    return e


def test_enforced_strategy_blocks_on_any_violation() -> None:
    evaluations = [evaluation("a", violated=True, gate=False), evaluation("b", violated=False, gate=True)]
    assert PolicyOutcome.of(evaluations).gate_failures == ()
    enforced = PolicyOutcome.of(evaluations, block_on_violation=True)
    assert enforced.gate_failures == ("a",) and enforced.blocked
    assert not PolicyOutcome.of(evaluations, block_on_violation=True, bypass=True).blocked
    suppressed = [evaluation("a", violated=True, gate=True, suppressed=True)]
    assert PolicyOutcome.of(suppressed, block_on_violation=True).gate_failures == ()


@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.booleans(), st.booleans(), st.booleans()), max_size=6),
    st.booleans(),
    st.booleans(),
)
def test_the_predicate_and_the_gate_agree(
    rows: list[tuple[str, bool, bool, bool]], block_on_violation: bool, bypass: bool
) -> None:
    evaluations = [evaluation(n, violated=v, gate=g, suppressed=s) for n, v, g, s in rows]
    fields = policy_fields(evaluations, block_on_violation=block_on_violation, bypass=bypass)
    failures = gate_failures(evaluations, block_on_violation=block_on_violation)
    result = PushResult(
        attestation_id="a",
        bundle_path=Path("b"),
        statement={},
        payload_digest="sha256:" + "0" * 64,
        gate_failures=tuple(failures),
        bypassed=bypass,
    )
    assert fields["policyAttBlocked"] == (result.gate_error() is not None)
