"""Error messages never disclose the content of a file crafter reads by reference or as a material.

A contract or policy group can attach a "policy" that is any file (``file:///etc/shadow``), and a material
can be any file (``crafter add --kind JUNIT_XML /etc/shadow``). Whatever the file holds, the error is one
line naming the file, the position and the kind of the problem, with the documented exit code, and neither a
marker string written in the file nor any other line of it appears anywhere in stdout or stderr, also with
``--debug`` (docs/security.md, "Error messages"). Contracts are the user's own input and keep quoting.
Every file is generated here.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pytest

from crafter._internal.cli.main import main
from crafter._internal.document_reader import KeyLines, load_json, parse_document
from crafter._internal.materials.reports import jacoco_report, junit_suites
from crafter._internal.policies.documents import parse_policy, redaction
from crafter._internal.redaction import Redaction
from crafter._internal.resources import policies_dir
from crafter.errors import ExitCode, MaterialError, PolicyError
from tests.conftest import run_cli

MARKER = "SECRET-7f3a"
POLICY_HEAD = "apiVersion: chainloop.dev/v1\nkind: Policy\nmetadata:\n  name: p\n"
SCRIPT = "  policies:\n    - kind: SBOM_CYCLONEDX_JSON\n      embedded: 'package main'\n"

# -- generated secrets -----------------------------------------------------------------------------------------

#: name -> (bytes, what the error must say: a position and a kind, as a regular expression)
SECRETS: dict[str, tuple[bytes, str]] = {
    "shadow": (
        f"root:$6${MARKER}$hash:19000:0:99999:7:::\n"
        "daemon:*:19000:0:99999:7:::\n"
        "backupuser:$6$0Xy1$9ZsQ:19000:0:99999:7:::\n".encode(),
        r"unknown key at line \d+$",
    ),
    "secret.json": (
        json.dumps({f"{MARKER}-key": f"{MARKER}-value", "token": {"access": MARKER}}, indent=1).encode(),
        r"unknown key at line 2$",
    ),
    "syntax.yaml": (
        f"password: hunter2-{MARKER}\ntokens: [{MARKER}, alpha-bravo\nprivate: key-material\n".encode(),
        r"invalid YAML at line 3, column \d+: unclosed flow sequence",
    ),
    "tag.yaml": (
        f"password: !{MARKER} hunter2\n".encode(),
        r"invalid YAML at line 1, column 11: unknown tag$",
    ),
    "escape.yaml": (
        f'password: "hunter2\\q{MARKER}"\n'.encode(),
        r"invalid YAML at line 1, column \d+: unknown escape sequence",
    ),
    "alias.yaml": (
        f"password: *{MARKER}\n".encode(),
        r"invalid YAML at line 1, column \d+: undefined alias$",
    ),
    "dup.yaml": (f"{MARKER}: one\n{MARKER}: two\n".encode(), r"duplicate key \(line 2; first on line 1\)$"),
    "int.yaml": (f"pin: !!int {MARKER}\n".encode(), r"invalid YAML: a value its type cannot hold"),
    "char.yaml": (f"password: @{MARKER}\n".encode(), r"invalid YAML at line 1, column 11: a character that"),
    "nonutf8.bin": (b"\xff\xfe" + MARKER.encode() + b"\x80\x81 hunter2\n", r"not UTF-8 text"),
    # A document shaped like a policy, its secrets where crafter's own names belong.
    "policy-values.yaml": (
        f"{POLICY_HEAD}spec:\n  type: {MARKER}\n{SCRIPT}".encode(),
        r"spec\.type \(line 6\): not one of the accepted values$",
    ),
    "policy-keys.yaml": (
        f"{POLICY_HEAD}  {MARKER}: x\nspec:\n{SCRIPT}".encode(),
        r"unknown key at line 5 in metadata$",
    ),
    "policy-annotation.yaml": (
        f"{POLICY_HEAD}  annotations:\n    {MARKER}: [1]\nspec:\n{SCRIPT}".encode(),
        r"metadata\.annotations\.\* \(line 6\): expected string, got array$",
    ),
    "policy-engine.yaml": (
        f"{POLICY_HEAD}spec:\n{SCRIPT}      engine: {MARKER}\n".encode(),
        r"spec\.policies\[0\]\.engine: unknown policy engine \(installed: ",
    ),
    "policy-input.yaml": (
        f"{POLICY_HEAD}spec:\n  inputs: [{{name: {MARKER.replace('-', '_')}, required: true, default: x}}]\n"
        f"{SCRIPT}".encode(),
        r"spec\.inputs\[0\] \(line 6\): an input can not be required and have a default",
    ),
}
DOCUMENTS = sorted(SECRETS)


def write_secret(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_bytes(SECRETS[name][0])
    return path


def secret_lines(data: bytes) -> list[str]:
    """What must not be shown: the marker and every line of the file (long enough to mean something)."""
    text = data.decode("utf-8", errors="replace")
    return [MARKER, *(line.strip() for line in text.splitlines() if len(line.strip()) >= 6)]


def assert_discloses_nothing(data: bytes, *outputs: str) -> None:
    shown = "\n".join(outputs)
    for secret in secret_lines(data):
        if secret.startswith(("apiVersion:", "kind:", "metadata:", "name:", "spec:", "policies:", "- kind:")):
            continue  # crafter's own format, in the policy-shaped documents
        if secret.startswith(("embedded:", "annotations:")):
            continue
        assert secret not in shown, f"{secret!r} disclosed in:\n{shown}"


def one_line(err: str, *, naming: str, says: str) -> str:
    """The error line (plus at most a hint line): naming the file, matching ``says`` (a position and kind)."""
    lines = err.strip().splitlines()
    assert lines[0].startswith("Error: "), err
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("Hint: ")), err
    assert naming in lines[0], err
    assert re.search(says, lines[0]), f"{says!r} not in {lines[0]!r}"
    return lines[0]


@pytest.fixture
def sbom(cli_env: Path) -> Path:
    path = cli_env / "work" / "sbom.cdx.json"
    path.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1}))
    return path


# -- policies by reference -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DOCUMENTS)
def test_policy_by_file_uri(name: str, cli_env: Path, sbom: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = write_secret(cli_env, name)
    code, out, err = run_cli(capsys, "policy", "eval", "--policy", secret.as_uri(), "--material", str(sbom))
    assert code == ExitCode.POLICY
    one_line(err, naming=str(secret), says=SECRETS[name][1])
    assert_discloses_nothing(SECRETS[name][0], out, err)


@pytest.mark.parametrize("name", ["shadow", "syntax.yaml", "tag.yaml", "policy-keys.yaml"])
def test_policy_by_relative_path(
    name: str, cli_env: Path, sbom: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_secret(cli_env / "work", name)
    code, out, err = run_cli(capsys, "policy", "eval", "--policy", f"./{name}", "--material", str(sbom))
    assert code == ExitCode.POLICY
    one_line(err, naming=name, says=SECRETS[name][1])
    assert_discloses_nothing(SECRETS[name][0], out, err)


@pytest.mark.parametrize("name", ["shadow", "secret.json", "tag.yaml", "policy-values.yaml"])
def test_remote_policy(
    name: str, sbom: Path, serve: Callable[[bytes], str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = serve(SECRETS[name][0])
    code, out, err = run_cli(capsys, "policy", "eval", "--policy", url, "--material", str(sbom))
    assert code == ExitCode.POLICY
    one_line(err, naming=url, says=SECRETS[name][1])
    assert_discloses_nothing(SECRETS[name][0], out, err)


def contract(cli_env: Path, text: str) -> Path:
    path = cli_env / "work" / "contract.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["shadow", "secret.json", "syntax.yaml", "dup.yaml", "nonutf8.bin"])
def test_policy_group_attached_by_a_contract(
    name: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = write_secret(cli_env, name)
    path = contract(cli_env, f"schemaVersion: v1\npolicyGroups:\n  - ref: {secret.as_uri()}\n")
    code, out, err = run_cli(capsys, "init", "--contract", str(path))
    assert code == ExitCode.POLICY
    one_line(err, naming=str(secret), says=SECRETS[name][1])
    assert_discloses_nothing(SECRETS[name][0], out, err)


@pytest.mark.parametrize("name", ["shadow", "escape.yaml", "policy-engine.yaml"])
def test_policy_attached_by_a_contract(name: str, cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = write_secret(cli_env, name)
    path = contract(cli_env, f"schemaVersion: v1\npolicies:\n  attestation:\n    - ref: {secret.as_uri()}\n")
    code, out, err = run_cli(capsys, "init", "--contract", str(path))
    assert code == ExitCode.POLICY
    one_line(err, naming=str(secret), says=SECRETS[name][1])
    assert_discloses_nothing(SECRETS[name][0], out, err)


def test_policy_named_by_a_group_named_by_a_contract(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = write_secret(cli_env, "shadow")
    group = cli_env / "work" / "group.yaml"
    group.write_text(
        "apiVersion: chainloop.dev/v1\nkind: PolicyGroup\nmetadata:\n  name: g\nspec:\n  policies:\n"
        f"    attestation:\n      - ref: {secret.as_uri()}\n"
    )
    path = contract(cli_env, "schemaVersion: v1\npolicyGroups:\n  - ref: ./group.yaml\n")
    code, out, err = run_cli(capsys, "init", "--contract", str(path))
    assert code == ExitCode.POLICY
    one_line(err, naming=str(secret), says=SECRETS["shadow"][1])
    assert_discloses_nothing(SECRETS["shadow"][0], out, err)


def test_a_contract_itself_still_quotes_what_it_says(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rule's boundary: a contract is the user's own input, its errors keep quoting it."""
    path = contract(cli_env, f"schemaVersion: v1\n{MARKER}: 1\n")
    code, _, err = run_cli(capsys, "init", "--contract", str(path))
    assert code == ExitCode.CONTRACT
    assert f"unknown key '{MARKER}'" in err


@pytest.mark.parametrize("name", ["shadow", "tag.yaml", "nonutf8.bin", "policy-values.yaml"])
def test_debug_shows_the_traceback_but_not_the_file(
    name: str, cli_env: Path, sbom: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = write_secret(cli_env, name)
    code = main(["--debug", "policy", "eval", "--policy", secret.as_uri(), "--material", str(sbom)])
    out, err = capsys.readouterr()
    assert code == ExitCode.POLICY
    assert "Traceback" in err  # --debug is for the operator: crafter's own frames...
    assert re.search(SECRETS[name][1], err, re.MULTILINE)
    assert_discloses_nothing(SECRETS[name][0], out, err)  # ...and never a parser's message quoting the file


# -- policy test cases -----------------------------------------------------------------------------------------


@pytest.fixture
def policy_dir(cli_env: Path) -> Path:
    """A copy of a shipped policy, without its cases."""
    target = cli_env / "policies" / "cdx"
    shutil.copytree(policies_dir() / "cyclonedx-banned-licenses", target)
    shutil.rmtree(target / "tests")
    (target / "tests").mkdir()
    return target


@pytest.mark.parametrize("name", ["shadow", "syntax.yaml", "tag.yaml", "dup.yaml", "nonutf8.bin"])
def test_policy_test_case_file(name: str, policy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_secret(policy_dir / "tests", name).rename(policy_dir / "tests" / "case.yaml")
    code, out, err = run_cli(capsys, "policy", "test", str(policy_dir))
    assert code == ExitCode.ERROR
    assert "case.yaml: invalid test case" in out
    assert_discloses_nothing(SECRETS[name][0], out, err)


@pytest.mark.parametrize("name", ["nonutf8.bin", "shadow"])
def test_statement_named_by_a_test_case(
    name: str, policy_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_secret(policy_dir / "tests", name)
    (policy_dir / "tests" / "case.yaml").write_text(f"statement: {name}\nexpect: {{violations: 0}}\n")
    code, out, err = run_cli(capsys, "policy", "test", str(policy_dir))
    assert code == ExitCode.ERROR
    assert f"{name}: statement" in out
    assert_discloses_nothing(SECRETS[name][0], out, err)


# -- materials -------------------------------------------------------------------------------------------------

MATERIAL_KINDS = [
    "SBOM_CYCLONEDX_JSON",
    "SBOM_SPDX_JSON",
    "JUNIT_XML",
    "JACOCO_XML",
    "COBERTURA_XML",
    "SARIF",
    "OPENVEX",
    "CSAF_VEX",
    "GITLEAKS_JSON",
    "ATTESTATION",
    "SLSA_PROVENANCE",
    "HELM_CHART",
]
MATERIAL_SECRETS = {
    "shadow": SECRETS["shadow"][0],
    "secret.json": SECRETS["secret.json"][0],
    "nonutf8.bin": SECRETS["nonutf8.bin"][0],
    "control.json": f'{{"password": "{MARKER}\x01"}}'.encode(),
    # Values and keys of the file where each kind looks for its own.
    "shaped.json": json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "metadata": {MARKER: 1},
            "components": [{"type": MARKER, "name": MARKER}],
            "spdxVersion": f"SPDX-{MARKER}",
            "SPDXID": MARKER,
            "$schema": MARKER,
            "runs": [{MARKER: MARKER}],
            "@context": MARKER,
            "document": {"category": MARKER},
            "mediaType": MARKER,
            "payloadType": MARKER,
            "payload": MARKER,
        }
    ).encode(),
    "entity.xml": f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY {MARKER} "y">]>\n<testsuite/>\n'.encode(),
    "undefined.xml": f"<testsuite>\n<testcase name='x'>&{MARKER};</testcase>\n</testsuite>\n".encode(),
    "root.xml": f"<{MARKER}>\n<testcase/>\n</{MARKER}>\n".encode(),
    "attributes.xml": f'<report><counter type="INSTRUCTION" missed="{MARKER}"/></report>\n'.encode(),
}


@pytest.mark.parametrize("kind", MATERIAL_KINDS)
@pytest.mark.parametrize("name", sorted(MATERIAL_SECRETS))
def test_material_added_with_a_kind(
    name: str, kind: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "init")[0] == ExitCode.OK
    (cli_env / "work" / name).write_bytes(MATERIAL_SECRETS[name])
    code, out, err = run_cli(capsys, "add", "--kind", kind, name)
    assert code == ExitCode.MATERIAL
    one_line(err, naming=name, says=r"invalid|not a Helm chart|not well-formed|refused")
    assert_discloses_nothing(MATERIAL_SECRETS[name], out, err)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("entity.xml", "JUNIT_XML"), ("undefined.xml", "JUNIT_XML"), ("shaped.json", "SBOM_CYCLONEDX_JSON")],
)
def test_debug_on_a_material(name: str, kind: str, cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "init")[0] == ExitCode.OK
    (cli_env / "work" / name).write_bytes(MATERIAL_SECRETS[name])
    code = main(["--debug", "add", "--kind", kind, name])
    out, err = capsys.readouterr()
    assert code == ExitCode.MATERIAL
    assert "Traceback" in err
    assert_discloses_nothing(MATERIAL_SECRETS[name], out, err)


@pytest.mark.parametrize(
    ("kind", "policy"),
    [
        ("SBOM_CYCLONEDX_JSON", "cyclonedx-banned-licenses"),
        ("SBOM_SPDX_JSON", "spdx-banned-licenses"),
        ("JUNIT_XML", "junit-all-passed"),
        ("SARIF", "sarif-no-errors"),
        ("OPENVEX", "openvex-cves-addressed"),
        (None, "cyclonedx-banned-licenses"),  # detected: ARTIFACT, which policies cannot read
    ],
)
@pytest.mark.parametrize("name", sorted(MATERIAL_SECRETS))
def test_material_evaluated_by_a_policy(
    name: str, kind: str | None, policy: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "work" / name).write_bytes(MATERIAL_SECRETS[name])
    args = ["policy", "eval", "--policy", policy, "--material", name] + (["--kind", kind] if kind else [])
    code, out, err = run_cli(capsys, *args)
    if kind is None:
        # An ARTIFACT: policies read it when it is JSON (then this policy has no script for its kind), else
        # "is not JSON, so policies cannot read it".
        assert code == ExitCode.POLICY
    else:
        assert code == ExitCode.MATERIAL
        one_line(err, naming=name, says=r"invalid|not JSON|not well-formed|refused")
    assert_discloses_nothing(MATERIAL_SECRETS[name], out, err)


def test_helm_chart_metadata(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "init")[0] == ExitCode.OK
    chart = BytesIO()
    with tarfile.open(fileobj=chart, mode="w:gz") as tar:
        for member, text in (("c/Chart.yaml", f"{MARKER}: 1\n{MARKER}: 2\n"), ("c/values.yaml", "")):
            info = tarfile.TarInfo(member)
            info.size = len(text)
            tar.addfile(info, BytesIO(text.encode()))
    (cli_env / "work" / "chart.tgz").write_bytes(chart.getvalue())
    code, out, err = run_cli(capsys, "add", "--kind", "HELM_CHART", "chart.tgz")
    assert code == ExitCode.MATERIAL
    one_line(
        err, naming="chart.tgz", says=r"invalid Chart\.yaml file: duplicate key \(line 2; first on line 1\)$"
    )
    assert MARKER not in out + err


# -- the library: what each formatter says -----------------------------------------------------------------------

BROKEN_YAML = [
    f"a: [{MARKER}\n",
    f"a: {{{MARKER}: 1\n",
    f'a: "{MARKER}\n',
    f"a: '{MARKER}\n",
    f"a: !{MARKER} x\n",
    f"a: !{MARKER}!x 1\n",
    f"a: *{MARKER}\n",
    f"a: &{MARKER} 1\nb: &{MARKER} 2\n",
    f'a: "\\x{MARKER}"\n',
    f'a: "\\u{MARKER}"\n',
    f'a: "{MARKER}\\q"\n',
    f"a: @{MARKER}\n",
    f"a: `{MARKER}\n",
    f"a: {MARKER}: b\n",
    f"a:\n  - {MARKER}\n b: 1\n",
    f"- {MARKER}\n{MARKER}: 1\n",
    f"%{MARKER} x\n---\na: 1\n",
    f"? [{MARKER}]\n: 1\n",
    f"a: !!binary {MARKER}\n",
    f"a: !!int {MARKER}\n",
    f"a: !!float {MARKER}\n",
    f"a: !!timestamp {MARKER}\n",
    f"a: !!map {MARKER}\n",
    f"a: |\n  {MARKER}\n {MARKER}\n",
    f"a: &{MARKER} [*{MARKER}]\n",
    f"{MARKER}: 1\n{MARKER}: 2\n",
    f"a: {MARKER}\x07\n",
    f"a: 1\n---\nb: {MARKER}\n",
]


@pytest.mark.parametrize("text", BROKEN_YAML)
def test_yaml_errors_name_positions_and_kinds_only(text: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_document(text, "p.yaml", PolicyError, redaction=Redaction())
    message = caught.value.message
    assert message.startswith("p.yaml: ") and "\n" not in message
    assert MARKER not in message and MARKER not in str(caught.value.hint)
    assert caught.value.__cause__ is None  # nothing a --debug traceback could show


BROKEN_JSON = [
    f'{{"a": "{MARKER}\x01"}}',
    f'{{"a": "\\{MARKER}"}}',
    f'{{"a": "\\u{MARKER}"}}',
    f'{{"{MARKER}": 1, "{MARKER}": 2}}',
    f'{{"a": {MARKER}}}',
    f'{{"a": 1}} {MARKER}',
    f'{{"a": "{MARKER}',
    f'[{"9" * 5000}, "{MARKER}"]',
]


@pytest.mark.parametrize("text", BROKEN_JSON)
def test_json_errors_name_positions_and_kinds_only(text: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_json(text, "p.json", PolicyError, redaction=Redaction())
    assert MARKER not in caught.value.message and "\n" not in caught.value.message
    assert caught.value.__cause__ is None


def test_json_syntax_error_gives_line_and_column() -> None:
    with pytest.raises(PolicyError) as caught:
        load_json(f'{{\n  "a": 1,\n  "b": "{MARKER}\x01"\n}}', "p.json", PolicyError, redaction=Redaction())
    assert caught.value.message == "p.json: invalid JSON: line 3, column 20: control character in a string"


def test_a_known_key_is_named_an_unknown_one_is_not() -> None:
    names = Redaction(frozenset({"kind", "spec"}))
    with pytest.raises(PolicyError, match=r"^p: duplicate key 'kind' \(line 2; first on line 1\)$"):
        parse_document("kind: a\nkind: b\n", "p", PolicyError, redaction=names)
    with pytest.raises(PolicyError, match=r"^p: duplicate key in spec\.\*$"):
        parse_document(f'{{"spec": {{"{MARKER}": {{"x": 1, "x": 2}}}}}}', "p", PolicyError, redaction=names)


def test_contract_documents_keep_quoting() -> None:
    with pytest.raises(PolicyError, match=f"could not determine a constructor for the tag '!{MARKER}'"):
        parse_document(f"a: !{MARKER} x\n", "c.yaml", PolicyError)


def test_schema_errors_give_the_line_of_the_key() -> None:
    text = f"{POLICY_HEAD}spec:\n  policies:\n    - kind: SBOM_CYCLONEDX_JSON\n      embedded: x\n      {MARKER}: 1\n"
    lines = KeyLines(text)
    doc = parse_document(text, "p.yaml", PolicyError, redaction=redaction(lines))
    with pytest.raises(PolicyError) as caught:
        parse_policy(doc, "p.yaml", lambda ref: (b"", ref), ("rego",), lines=lines)
    assert caught.value.message == "p.yaml: unknown key at line 9 in spec.policies[0]"
    assert caught.value.hint is not None and "attestationPhases" in caught.value.hint  # crafter's own names


def test_key_lines_of_json_and_of_text_that_is_no_document() -> None:
    lines = KeyLines(b'{\n "spec": {\n  "policies": [\n   {"kind": 1}\n  ]\n }\n}')
    assert lines(("spec", "policies", 0, "kind")) == 4
    assert lines(("spec", "nothing")) is None
    assert KeyLines(b"\xff[")(("a",)) is None


def test_xml_errors_name_no_entity_and_no_element() -> None:
    for data in (
        f"<testsuite>&{MARKER};</testsuite>".encode(),
        f"<!DOCTYPE x [<!ENTITY {MARKER} 'y'>]><testsuite/>".encode(),
        f"<{MARKER}/>".encode(),
    ):
        with pytest.raises(MaterialError) as caught:
            junit_suites(data)
        assert MARKER not in caught.value.message and caught.value.__cause__ is None
    with pytest.raises(
        MaterialError, match=r"^invalid JaCoCo report file: attribute missed is not an integer$"
    ):
        jacoco_report(f'<report><counter type="INSTRUCTION" missed="{MARKER}"/></report>'.encode())
    with pytest.raises(
        MaterialError, match=r"root element is <report>, expected <testsuites> or <testsuite>"
    ):
        junit_suites(b"<report/>")  # an element crafter reads is named
