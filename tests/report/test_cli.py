"""``crafter report``: formats by extension, verify's options and exit codes, the report written also when
verification fails (the failure first), any in-toto statement (the sigstore-conformance bundles)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from crafter._internal.cli.main import cli, main
from crafter._internal.cli.verify import VERIFY_OPTIONS
from tests.conftest import run_cli
from tests.report.conftest import Release
from tests.verify.conformance import arguments, case_dir


def test_markdown_on_stdout_for_a_verified_bundle(
    release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        capsys,
        "report",
        str(release.bundle),
        "--key",
        str(release.pub),
        "--contract",
        str(release.work / "contract.yaml"),
    )
    assert code == 0
    assert out.startswith("# ✅ Attestation report: verified\n")
    assert "| contract | ✅ passed |" in out
    assert "| replay | ➖ not run |" in out
    for name in ("`build-ref`", "`release-file`", "`sbom`", "`tests`", "`demo-build-42`", "`hello-1.0.0.py`"):
        assert name in out
    assert "| `cyclonedx-banned-licenses` | `sbom` | ✅ passed | ✅ held |" in out
    assert "| release_channel | `stable` |" not in out  # producer keys are code spans too
    assert "| `release_channel` | `stable` |" in out


@pytest.mark.parametrize("suffix", [".html", ".md", ".HTML"])
def test_output_file_format_from_its_extension(
    release: Release, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / f"report{suffix}"
    code, out, err = run_cli(
        capsys, "report", str(release.bundle), "--key", str(release.pub), "-o", str(target)
    )
    assert (code, out) == (0, "")
    assert f"Report written to {target}: verified" in err
    text = target.read_text()
    if suffix.lower() == ".html":
        assert text.startswith("<!DOCTYPE html>") and "<h1>Attestation report: verified</h1>" in text
    else:
        assert text.startswith("# ✅ Attestation report: verified")


@pytest.mark.parametrize("name", ["report.txt", "report", "report.json"])
def test_other_extension_is_a_usage_error_before_verifying(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / name
    code, _, err = run_cli(capsys, "report", str(tmp_path / "absent.json"), "-o", str(target))
    assert code == 2
    assert "written as .html or .md" in err
    assert not target.exists()


def test_material_mismatch_writes_the_report_failure_first(
    release: Release, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "hello-1.0.0.py"
    other.write_text("print('not the release')\n")
    target = tmp_path / "r.md"
    args = ["--key", str(release.pub), "--material", str(other)]
    code, _, err = run_cli(capsys, "report", str(release.bundle), *args, "-o", str(target))
    verify_code, _, verify_err = run_cli(capsys, "verify", str(release.bundle), *args)
    assert code == verify_code == 12
    assert "Report written to" in err and "verification FAILED (exit 12)" in err
    assert err.splitlines()[-2:] == verify_err.splitlines()[-2:]  # the same Error: and Hint: lines
    text = target.read_text()
    head = text.split("## Summary")[0]
    assert head.startswith("# ❌ Attestation report: verification FAILED\n")
    assert "> [!CAUTION]\n> **Verification FAILED (exit 12):**" in head and "release-file" in head
    assert "| ❌ failed |" in text
    assert "## Materials (4)" in text  # the rest of the report is there too


def test_bad_signature_report_shows_the_claim_as_not_attested(
    release: Release, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other_pub = tmp_path / "other.pub"
    from crafter.signing.keys import generate_key_pair

    generate_key_pair(tmp_path / "other", b"pw")
    target = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", str(release.bundle), "--key", str(other_pub), "-o", str(target))
    assert code == 11
    assert "bad signature" in err
    html = target.read_text()
    first = html.index('class="banner failed"')
    assert first < html.index("Not attested") < html.index('id="summary"')
    assert "Verification FAILED (exit 11)" in html
    assert "<title>FAILED: attestation report of hello-1.0.0.sigstore.json</title>" in html
    assert "hello-1.0.0.py" in html  # the claimed subjects and materials, marked as claims


def test_usage_error_writes_no_report(
    release: Release, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "r.md"
    code, _, err = run_cli(
        capsys,
        "report",
        str(release.bundle),
        "--key",
        str(release.pub),
        "--certificate",
        str(release.pub),
        "-o",
        str(target),
    )
    assert code == 2 and "mutually exclusive" in err
    assert not target.exists()


def test_report_takes_every_verify_option() -> None:
    runner = CliRunner()
    names = {o.name for o in cli.commands["report"].params}
    assert {o.name for o in cli.commands["verify"].params} - names == {"output"}
    assert len(VERIFY_OPTIONS) == len(cli.commands["verify"].params) - 2  # BUNDLE and -o table|json
    help_text = runner.invoke(cli, ["report", "--help"]).output
    assert "--certificate-identity" in help_text and "-o, --output FILE" in help_text


def test_third_party_intoto_statement(capsys: pytest.CaptureFixture[str]) -> None:
    case = case_dir("happy-path-intoto-in-dsse-v3")
    args = arguments(case, digest=False)
    args = [a for i, a in enumerate(args) if a != "--material" and (i == 0 or args[i - 1] != "--material")]
    code, out, _ = run_cli(capsys, "report", *args[1:])
    assert code == 0, out
    assert out.startswith("# ✅ Attestation report: verified")
    assert "| trust | ✅ passed |" in out
    assert "## Materials" not in out and "## Policies" not in out  # no Chainloop sections
    assert re.search(r"\| identity \| `https://github\.com/sigstore-conformance/", out)


def test_third_party_bundle_that_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = case_dir("dsse-mismatch-sig_fail")
    args = arguments(case, digest=False)
    args = [a for i, a in enumerate(args) if a != "--material" and (i == 0 or args[i - 1] != "--material")]
    target = tmp_path / "r.md"
    code, _, _ = run_cli(capsys, "report", *args[1:], "-o", str(target))
    verify_code = main(args)
    capsys.readouterr()
    assert code == verify_code == 11
    assert target.read_text().startswith("# ❌ Attestation report: verification FAILED")


def test_message_signature(capsys: pytest.CaptureFixture[str]) -> None:
    case = case_dir("managed-key-happy-path")
    args = arguments(case, digest=False)
    code, out, _ = run_cli(capsys, "report", *args[1:])
    assert code == 0
    artifact = Path(args[args.index("--material") + 1])
    digest = "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert f"| artifact | ✅ passed | `{artifact} ({digest})` |" in out


def test_nothing_verified_writes_no_report(
    release: Release, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "r.html"
    code, _, err = run_cli(
        capsys, "report", str(release.bundle), "--key", str(tmp_path / "absent.pub"), "-o", str(target)
    )
    assert code == 8 and "absent.pub" in err  # the key cannot be read: a user's error, not the bundle's
    assert not target.exists()


def test_message_signature_over_another_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = case_dir("managed-key-happy-path")
    args = arguments(case, digest=False)
    other = tmp_path / "other.txt"
    other.write_text("not the signed file\n")
    args[args.index("--material") + 1] = str(other)
    target = tmp_path / "r.md"
    code, _, _ = run_cli(capsys, "report", *args[1:], "-o", str(target))
    assert code == main(args) == 12
    capsys.readouterr()
    text = target.read_text()
    assert text.startswith("# ❌ Attestation report: verification FAILED")
    assert "| artifact | ❌ failed |" in text and "is not the signed artifact" in text
