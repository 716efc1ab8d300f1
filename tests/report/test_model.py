"""The report built from a verification: policy gates, checks not run, claims of a bundle that did not
verify, and the Markdown size limit."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.report.markdown import MAX_BYTES
from crafter._internal.report.model import Evaluation, Violation
from crafter.errors import SignatureError
from crafter.report import failure_report, render_markdown, report_bundle
from crafter.signing.keys import public_key_from_pem
from tests.report.conftest import Release

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def gated_violation(statement: dict[str, Any]) -> None:
    p = statement["predicate"]
    p["policyEvaluations"]["sbom"][1]["violations"] = [
        {"subject": "licenses", "message": "GPL-3.0-only is banned"}
    ]
    p["policyEvaluations"]["tests"][0]["skipped"] = True
    p["policyEvaluations"]["tests"][0]["skipReasons"] = ["no test suite"]
    p.update(
        policyHasViolations=True,
        policyHasGatedViolations=True,
        policyViolationsCount=1,
        policySkippedCount=1,
        policyPassedCount=1,
        policyAttBlocked=True,
    )


def test_policy_gates_violations_and_skips(release: Release) -> None:
    bundle = release.resign("gated.sigstore.json", gated_violation)
    report = report_bundle(str(bundle), public_key=public_key_from_pem(release.pub), now=NOW)
    assert report.verified and report.exit_code == 0  # recorded violations are not verification failures
    assert report.generated_at == "2026-12-01T09:30:00Z"
    cl = report.chainloop
    assert cl is not None
    assert (cl.policy.status, cl.policy.blocked, cl.policy.violations, cl.policy.skipped) == (
        "BLOCKED",
        True,
        1,
        1,
    )
    by_name = {e.policy: e for e in cl.evaluations}
    assert by_name["cyclonedx-banned-licenses"] == Evaluation(
        policy="cyclonedx-banned-licenses",
        material="sbom",
        status="violated",
        gate="failed",
        reference=by_name["cyclonedx-banned-licenses"].reference,
        description="No component of the CycloneDX SBOM declares a banned license",
        violations=(Violation("licenses", "GPL-3.0-only is banned"),),
    )
    assert by_name["cyclonedx-banned-licenses"].reference.startswith(
        "builtin://cyclonedx-banned-licenses sha256:"
    )
    assert (by_name["junit-all-passed"].status, by_name["junit-all-passed"].gate) == ("skipped", "")
    assert by_name["junit-all-passed"].skip_reasons == ("no test suite",)
    assert (by_name["sbom-min-components"].status, by_name["sbom-min-components"].gate) == ("passed", "")
    markdown = render_markdown(report)
    assert (
        "**`BLOCKED`** (`ADVISORY`): 3 evaluations, 1 with violations, 1 skipped, 1 passed; the attestation was **blocked**."
        in markdown
    )
    assert (
        "| `cyclonedx-banned-licenses` | `sbom` | ❌ violated | ❌ failed | `licenses: GPL-3.0-only is banned` |"
        in markdown
    )


def test_enforced_strategy_gates_every_evaluation(release: Release) -> None:
    bundle = release.resign(
        "enforced.sigstore.json", lambda s: s["predicate"].update(policyCheckBlockingStrategy="ENFORCED")
    )
    report = report_bundle(str(bundle), public_key=public_key_from_pem(release.pub))
    assert report.chainloop is not None
    assert {e.gate for e in report.chainloop.evaluations} == {"held"}


def test_checks_given_and_not_given(release: Release) -> None:
    key = public_key_from_pem(release.pub)
    plain = report_bundle(str(release.bundle), public_key=key)
    assert [(c.name, c.status) for c in plain.checks] == [
        ("signature", "passed"),
        ("statement", "passed"),
        ("materials", "not run"),
        ("contract", "not run"),
        ("replay", "not run"),
    ]
    full = report_bundle(
        str(release.bundle),
        public_key=key,
        materials=[release.work / "sbom.cdx.json"],
        contract=release.work / "contract.yaml",
        replay=True,
        replay_materials=[release.work / n for n in ("junit.xml", "hello-1.0.0.py")],
    )
    assert [(c.name, c.status) for c in full.checks][2:] == [
        (f"material {release.work / 'sbom.cdx.json'}", "passed"),
        ("contract", "passed"),
        ("replay", "passed"),
    ]
    assert [(r.policy, r.status) for r in full.replay] == [
        ("sbom-min-components", "same"),
        ("cyclonedx-banned-licenses", "same"),
        ("junit-all-passed", "same"),
    ]


def test_contract_not_met(release: Release, tmp_path: Path) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text(
        (release.work / "contract.yaml")
        .read_text()
        .replace(
            "    - name: build-ref", "    - name: provenance\n      type: ARTIFACT\n    - name: build-ref"
        )
    )
    report = report_bundle(
        str(release.bundle), public_key=public_key_from_pem(release.pub), contract=contract
    )
    assert (report.verified, report.exit_code) == (False, 7)
    assert "provenance" in report.failure
    assert ("contract", "failed") in [(c.name, c.status) for c in report.checks]


def test_bundle_that_does_not_verify_shows_its_claim(release: Release, tmp_path: Path) -> None:
    from crafter.signing.keys import generate_key_pair

    _, other = generate_key_pair(tmp_path / "other", b"pw")
    report = report_bundle(str(release.bundle), public_key=public_key_from_pem(other))
    assert (report.verified, report.attested, report.exit_code) == (False, False, 11)
    assert "bad signature" in report.failure
    assert report.signer == () and report.checks[0].status == "failed"
    assert report.chainloop is not None and len(report.chainloop.materials) == 4  # claimed, marked so
    markdown = render_markdown(report)
    assert markdown.index("[!CAUTION]") < markdown.index("**Not attested.**") < markdown.index("## Summary")


@pytest.mark.parametrize("content", ["not json", '{"mediaType": 1}', '{"dsseEnvelope": {"payload": "!!"}}'])
def test_unreadable_bundle_is_a_failure_without_claims(tmp_path: Path, content: str) -> None:
    bundle = tmp_path / "b.json"
    bundle.write_text(content)
    report = failure_report(str(bundle), SignatureError("not a bundle"))
    assert (report.attested, report.chainloop, report.subjects, report.exit_code) == (False, None, (), 11)


def test_markdown_stays_under_githubs_limit(release: Release) -> None:
    def huge(statement: dict[str, Any]) -> None:
        statement["predicate"]["materials"] = [
            {
                "name": f"file-{i}.bin",
                "digest": {"sha256": f"{i:064x}"},
                "annotations": {
                    "chainloop.material.name": f"m{i}",
                    "chainloop.material.type": "ARTIFACT",
                    **{f"k{j}": "v" * 600 for j in range(14)},
                },
            }
            for i in range(300)
        ]

    bundle = release.resign("huge.sigstore.json", huge)
    report = report_bundle(str(bundle), public_key=public_key_from_pem(release.pub))
    markdown = render_markdown(report)
    assert len(markdown.encode()) <= MAX_BYTES
    shown = markdown.count("| `m")
    assert 5 <= shown < 300
    assert (
        f"*… {300 - shown:,} more materials not shown here (300 in all; the HTML report lists every one).*"
        in markdown
    )
    assert "… (91 more characters)" in markdown  # long values clipped, saying by how much
    assert "<br>… 2 more" in markdown  # annotations beyond 12 per material counted
