"""What the action writes for GitHub: annotation escaping, annotations per violation, workspace paths, and
the summary made from push's JSON when crafter report cannot make one."""

from __future__ import annotations

from pathlib import Path

from crafter._internal.cli.action import push_summary
from crafter._internal.cli.action_github import (
    Annotation,
    annotation_line,
    policy_annotations,
    workspace_path,
)


def test_annotations_escape_as_github_reads_them() -> None:
    line = annotation_line(Annotation("error", "policy a,b: c", "50% done\nnext\r", "dir/x,y:z.json"))
    assert line == "::error file=dir/x%2Cy%3Az.json,title=policy a%2Cb%3A c::50%25 done%0Anext%0D"
    assert annotation_line(Annotation("warning", "t", "m")) == "::warning title=t::m"


def test_violations_become_errors_when_gated_else_warnings() -> None:
    evaluations = [
        {"name": "licenses", "materialName": "sbom", "gate": True, "violations": [{"message": "GPL"}]},
        {
            "name": "cves",
            "materialName": "sbom",
            "violations": [{"message": "CVE-1"}, {"message": "x", "suppress": True}],
        },
        {"name": "git", "violations": [{"message": "dirty"}]},
        {"name": "ok", "materialName": "sbom"},
    ]
    found = policy_annotations(
        evaluations, gate_failures=["licenses"], bypassed=False, files={"sbom": "a/s.json"}
    )
    assert found == [
        Annotation("error", "crafter policy licenses (gate)", "material sbom: GPL", "a/s.json"),
        Annotation("warning", "crafter policy cves", "material sbom: CVE-1", "a/s.json"),
        Annotation("warning", "crafter policy git", "the attestation: dirty", ""),
    ]
    bypassed = policy_annotations(evaluations, gate_failures=["licenses"], bypassed=True, files={})
    assert [a.level for a in bypassed] == ["warning"] * 3  # --exception-bypass-policy-check: nothing blocks


def test_workspace_paths_are_relative_files_inside_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "ws" / "reports").mkdir(parents=True)
    (tmp_path / "ws" / "reports" / "s.json").write_text("{}")
    (tmp_path / "outside.json").write_text("{}")
    ws = str(tmp_path / "ws")
    assert workspace_path("reports/s.json", ws, tmp_path / "ws") == "reports/s.json"
    assert workspace_path(str(tmp_path / "ws" / "reports" / "s.json"), ws) == "reports/s.json"
    assert workspace_path("../outside.json", ws, tmp_path / "ws") == ""  # GitHub links workspace files only
    assert workspace_path("reports", ws, tmp_path / "ws") == ""  # a directory
    assert workspace_path("reports/s.json", "", tmp_path / "ws") == ""  # not in a runner


def test_the_summary_from_json_shows_policies_and_escapes_what_policies_wrote() -> None:
    data = {
        "attestationID": "id-1",
        "digest": "sha256:ab",
        "bundle": "/b.json",
        "stored": ["oci://r/x@sha256:cd"],
        "statement": {"subject": [{"name": "app|1.tgz", "digest": {"sha256": "ef"}}], "predicate": {}},
        "policyStatus": {"status": "gated", "evaluations": 2, "violations": 1},
        "policyEvaluations": [
            {"name": "lic", "materialName": "sbom", "gate": True, "violations": [{"message": "<script>x|y"}]},
            {"name": "old", "skipped": True, "skipReasons": ["no SBOM"]},
        ],
    }
    text = push_summary(data, 4)
    assert text.startswith("### crafter attestation signed, **blocked by a policy gate**\n")
    assert "| Stored | `oci://r/x@sha256:cd` |" in text
    assert "| app\\|1.tgz | `sha256:ef` |" in text
    assert "| lic | sbom | 1 violation(s) (gate)<br>• &lt;script&gt;x\\|y |" in text
    assert "| old | (attestation) | skipped: no SBOM |" in text
    assert "<script>" not in text
    with_report = push_summary(data, 4, "# Attestation report\n")
    assert with_report.endswith(
        "| Bundle | `/b.json` |\n| Stored | `oci://r/x@sha256:cd` |\n\n# Attestation report\n"
    )
