"""JUNIT_XML, JACOCO_XML and COBERTURA_XML: reference fixtures, projections and hostile inputs."""

from __future__ import annotations

import io
import json
import struct
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crafter._internal.materials.archives import ArchiveLimits
from crafter._internal.materials.interface import ANN_SIZE, CraftOptions, Sample
from crafter._internal.materials.reports import (
    ANN_JUNIT_ERRORS,
    ANN_JUNIT_FAILURES,
    ANN_JUNIT_SKIPPED,
    ANN_JUNIT_TESTS,
    MAX_SUITE_DEPTH,
    CoberturaKind,
    JacocoKind,
    JUnitKind,
    cobertura_report,
    jacoco_report,
    junit_suites,
    xml_root_name,
)
from crafter.errors import MaterialError

OPTS = CraftOptions()

JUNIT_DIGEST = "sha256:e9c941b25c06d8bd98205122cbc827504c6d03d37b7f4afd7ed03b3eeec789e2"
TESTS_ZIP_DIGEST = "sha256:1b00f89a6f23f2e99c207ce90e11dcd41ac4e754d44e81f50f295e858692e96b"
TESTS_TGZ_DIGEST = "sha256:4bbcac1524331f7d27c66b658242cbba9c9e6b46aa8ee573ca15191c4b465cb5"
JACOCO_DIGEST = "sha256:d622d9dbebbd6f2bd7bf9a867e91bbd2662ebd4ea500d9f518e76f5f3d86c8e0"
COBERTURA_DIGEST = "sha256:00b1d466b66effb5b42b02adcaa63c99fcf3df4d7e54f66e0e481bf4a15fdd38"
COBERTURA_EMPTY_DIGEST = "sha256:2eff9000cf627712f8fbc36bf956ab30caaa62a23a47857ef3947d829686f53a"

SUITE_XML = b"""<?xml version="1.0"?>
<testsuite name="unit" time="1.5">
  <testcase name="ok" classname="a.B" time="0.5"/>
  <testcase name="broken" classname="a.B"><failure message="expected 1">trace</failure></testcase>
  <testcase name="crash" classname="a.B"><error>boom</error><failure message="also"/></testcase>
  <testcase name="later" classname="a.C"><skipped message="not today"/></testcase>
</testsuite>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<testsuites><testsuite name="&lol9;"><testcase name="x"/></testsuite></testsuites>
"""


def _xxe(target: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE testsuites [<!ENTITY xxe SYSTEM "file://{target}">]>\n'
        '<testsuites><testsuite name="&xxe;"><testcase name="x"/></testsuite></testsuites>\n'
    ).encode()


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tgz(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# --- JUnit: reference fixtures ------------------------------------------------------------------------------


def test_junit_xml_fixture(materials_dir: Path) -> None:
    crafted = JUnitKind().craft(str(materials_dir / "junit.xml"), OPTS)
    assert crafted.kind == "JUNIT_XML"
    assert crafted.digest == JUNIT_DIGEST
    assert crafted.filename == "junit.xml"
    assert crafted.size == 1289
    assert crafted.annotations == {
        ANN_JUNIT_TESTS: "9",
        ANN_JUNIT_FAILURES: "1",
        ANN_JUNIT_ERRORS: "0",
        ANN_JUNIT_SKIPPED: "0",
        ANN_SIZE: "1289",
    }


@pytest.mark.parametrize(
    ("name", "digest", "size"),
    [("tests.zip", TESTS_ZIP_DIGEST, 35958), ("tests.tar.gz", TESTS_TGZ_DIGEST, 26789)],
)
def test_junit_archive_fixtures(materials_dir: Path, name: str, digest: str, size: int) -> None:
    crafted = JUnitKind().craft(str(materials_dir / name), OPTS)
    # The archive's own bytes are the material.
    assert (crafted.digest, crafted.filename, crafted.size) == (digest, name, size)
    assert crafted.annotations[ANN_JUNIT_TESTS] == "47"
    assert crafted.annotations[ANN_JUNIT_FAILURES] == "2"
    assert crafted.annotations[ANN_JUNIT_ERRORS] == "0"
    assert crafted.annotations[ANN_JUNIT_SKIPPED] == "0"
    suites = junit_suites((materials_dir / name).read_bytes())
    assert len(suites) == 13


def test_junit_invalid_fixture(materials_dir: Path) -> None:
    with pytest.raises(
        MaterialError, match=r"junit-invalid\.xml: invalid JUnit XML file: not well-formed XML"
    ):
        JUnitKind().craft(str(materials_dir / "junit-invalid.xml"), OPTS)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("jacoco.xml", "root element is <report>, expected <testsuites> or <testsuite>"),
        ("cobertura.xml", "root element is <coverage>"),
        ("simple.txt", "invalid JUnit XML file: not well-formed XML"),
        ("random.json", "invalid JUnit XML file: not well-formed XML"),
        ("valid-chart.tgz", "invalid JUnit XML file, no suites found"),
        ("empty.txt", "file is empty"),
    ],
)
def test_junit_rejects_other_files(materials_dir: Path, name: str, error: str) -> None:
    with pytest.raises(MaterialError, match=error):
        JUnitKind().craft(str(materials_dir / name), OPTS)


def test_junit_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MaterialError, match="file not found"):
        JUnitKind().craft(str(tmp_path / "nope.xml"), OPTS)


# --- JUnit: the policy projection ---------------------------------------------------------------------------


def test_junit_suites_projection_with_nested_suites(materials_dir: Path) -> None:
    suites = junit_suites((materials_dir / "junit.xml").read_bytes())
    assert [s["name"] for s in suites] == ["Tests.Registration", "Tests.Authentication"]
    auth = suites[1]
    assert (auth["tests"], auth["failures"], auth["errors"], auth["skipped"]) == (6, 1, 0, 0)
    assert auth["time"] == 9.076816
    assert [s["name"] for s in auth["suites"]] == ["Tests.Authentication.Login"]
    assert auth["suites"][0]["tests"] == 3
    assert auth["testcases"][2] == {
        "name": "testCase9",
        "classname": "Tests.Authentication",
        "status": "failed",
        "message": "Assertion error message",
        "time": 0.982,
    }
    json.dumps(suites, allow_nan=False)  # JSON-able, as policies receive it


def test_junit_statuses_and_testsuite_root() -> None:
    (suite,) = junit_suites(SUITE_XML)
    assert [(c["name"], c["status"], c["message"]) for c in suite["testcases"]] == [
        ("ok", "passed", ""),
        ("broken", "failed", "expected 1"),
        ("crash", "error", "boom"),  # error wins over failure; the text stands in for a missing message
        ("later", "skipped", "not today"),
    ]
    assert (suite["tests"], suite["failures"], suite["errors"], suite["skipped"]) == (4, 1, 1, 1)
    assert suite["time"] == 1.5


def test_junit_time_falls_back_to_the_sum_of_cases() -> None:
    xml = b'<testsuite name="s"><testcase name="a" time="0.25"/><testcase name="b" time="NaN"/></testsuite>'
    (suite,) = junit_suites(xml)
    assert suite["time"] == 0.25
    assert suite["testcases"][1]["time"] == 0.0


def test_junit_namespaced_elements() -> None:
    xml = b'<j:testsuites xmlns:j="urn:x"><j:testsuite><j:testcase name="t"/></j:testsuite></j:testsuites>'
    assert junit_suites(xml)[0]["tests"] == 1


@pytest.mark.parametrize("xml", [b"<testsuites/>", b"<testsuites><other/></testsuites>"])
def test_junit_no_suites(tmp_path: Path, xml: bytes) -> None:
    assert junit_suites(xml) == []
    with pytest.raises(MaterialError, match="invalid JUnit XML file, no suites found"):
        JUnitKind().craft(_write(tmp_path, "r.xml", xml), OPTS)


def test_junit_suites_nested_too_deeply() -> None:
    depth = MAX_SUITE_DEPTH + 1
    xml = b"<testsuite>" * depth + b"</testsuite>" * depth
    with pytest.raises(MaterialError, match="nested more than"):
        junit_suites(xml)


# --- JUnit: archives ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("pack", [_zip, _tgz])
def test_junit_archive_skips_other_entries(tmp_path: Path, pack: object) -> None:
    assert callable(pack)
    data = pack(
        {
            "reports/TEST-a.xml": SUITE_XML,
            "reports/notes.txt": b"not xml at all",
            "reports/config.xml": b"<config/>",  # XML that is not a report: skipped, as Chainloop does
        }
    )
    crafted = JUnitKind().craft(_write(tmp_path, "reports.bin", data), OPTS)
    assert crafted.annotations[ANN_JUNIT_TESTS] == "4"


@pytest.mark.parametrize("pack", [_zip, _tgz])
def test_junit_archive_without_reports(tmp_path: Path, pack: object) -> None:
    assert callable(pack)
    path = _write(tmp_path, "a.bin", pack({"readme.md": b"hello"}))
    with pytest.raises(MaterialError, match="no suites found"):
        JUnitKind().craft(path, OPTS)


def test_junit_empty_zip(tmp_path: Path) -> None:
    with pytest.raises(MaterialError, match="no suites found"):
        JUnitKind().craft(_write(tmp_path, "e.zip", _zip({})), OPTS)


@pytest.mark.parametrize("pack", [_zip, _tgz])
def test_junit_archive_malformed_entry_is_named(tmp_path: Path, pack: object) -> None:
    assert callable(pack)
    path = _write(tmp_path, "a.bin", pack({"ok.xml": SUITE_XML, "bad.xml": b"<testsuite>"}))
    with pytest.raises(MaterialError, match=r"invalid JUnit XML file 'bad\.xml' in archive: not well-formed"):
        JUnitKind().craft(path, OPTS)


@pytest.mark.parametrize("pack", [_zip, _tgz])
@pytest.mark.parametrize("name", ["../evil.xml", "a/../../evil.xml", "/etc/evil.xml"])
def test_junit_archive_path_traversal_refused(tmp_path: Path, pack: object, name: str) -> None:
    assert callable(pack)
    path = _write(tmp_path, "a.bin", pack({name: SUITE_XML}))
    with pytest.raises(MaterialError, match="unsafe entry path in archive"):
        JUnitKind().craft(path, OPTS)


@pytest.mark.parametrize("pack", [_zip, _tgz])
def test_junit_archive_uncompressed_size_limit(tmp_path: Path, pack: object) -> None:
    assert callable(pack)
    # 4 MiB of spaces compresses to a few KiB: a small bomb against a 1 MiB budget.
    bomb = b"<testsuites>" + b" " * (4 << 20) + b"</testsuites>"
    path = _write(tmp_path, "bomb.bin", pack({"big.xml": bomb}))
    assert Path(path).stat().st_size < 64 << 10
    kind = JUnitKind(limits=ArchiveLimits(max_total_size=1 << 20))
    with pytest.raises(MaterialError, match="archive exceeds the maximum uncompressed size"):
        kind.craft(path, OPTS)
    # Skipped entries count too: they are decompressed all the same.
    path = _write(tmp_path, "bomb2.bin", pack({"ok.xml": SUITE_XML, "big.bin": bomb}))
    with pytest.raises(MaterialError, match="archive exceeds the maximum uncompressed size"):
        kind.craft(path, OPTS)


@pytest.mark.parametrize("pack", [_zip, _tgz])
def test_junit_archive_entry_limit(tmp_path: Path, pack: object) -> None:
    assert callable(pack)
    path = _write(tmp_path, "many.bin", pack({f"r{i}.xml": SUITE_XML for i in range(5)}))
    assert (
        JUnitKind(limits=ArchiveLimits(max_entries=5)).craft(path, OPTS).annotations[ANN_JUNIT_TESTS] == "20"
    )
    with pytest.raises(MaterialError, match=r"archive exceeds the maximum number of entries \(4\)"):
        JUnitKind(limits=ArchiveLimits(max_entries=4)).craft(path, OPTS)


def test_zip_entry_count_is_checked_before_parsing(tmp_path: Path) -> None:
    # An end-of-central-directory record announcing 60000 entries: refused before zipfile reads them.
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 60000, 60000, 0, 0, 0)
    with pytest.raises(MaterialError, match="maximum number of entries"):
        JUnitKind().craft(_write(tmp_path, "many.zip", eocd), OPTS)


def test_tar_pax_header_bomb_is_capped(tmp_path: Path) -> None:
    # A 4 MiB PAX header compresses to almost nothing and is read whole by tarfile: the stream cap stops it.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("r.xml")
        info.size = len(SUITE_XML)
        info.pax_headers = {"comment": "x" * (4 << 20)}
        tf.addfile(info, io.BytesIO(SUITE_XML))
    path = _write(tmp_path, "pax.tgz", buf.getvalue())
    assert JUnitKind().craft(path, OPTS).annotations[ANN_JUNIT_TESTS] == "4"
    kind = JUnitKind(limits=ArchiveLimits(max_entries=10, max_total_size=1 << 20))
    with pytest.raises(MaterialError, match="archive exceeds the maximum uncompressed size"):
        kind.craft(path, OPTS)


@settings(max_examples=200)
@given(
    st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"<testsuites>"]),
    st.binary(max_size=200),
)
def test_junit_suites_only_raises_material_errors(prefix: bytes, tail: bytes) -> None:
    try:
        suites = junit_suites(prefix + tail)
    except MaterialError:
        return
    json.dumps(suites, allow_nan=False)


def test_junit_corrupt_archives(tmp_path: Path) -> None:
    with pytest.raises(MaterialError, match="invalid zip archive"):
        JUnitKind().craft(_write(tmp_path, "c.zip", b"PK\x03\x04" + b"\x00" * 40), OPTS)
    with pytest.raises(MaterialError, match=r"invalid tar\.gz archive"):
        JUnitKind().craft(_write(tmp_path, "c.tgz", b"\x1f\x8b\x08\x00garbage"), OPTS)


# --- hostile XML --------------------------------------------------------------------------------------------


def test_billion_laughs_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "lol.xml", BILLION_LAUGHS)
    with pytest.raises(MaterialError, match="XML entity declarations are not allowed"):
        JUnitKind().craft(path, OPTS)
    for kind in (JacocoKind(), CoberturaKind()):
        with pytest.raises(MaterialError, match="entity declarations are not allowed"):
            kind.craft(path, OPTS)


def test_billion_laughs_inside_an_archive_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "lol.zip", _zip({"lol.xml": BILLION_LAUGHS}))
    with pytest.raises(
        MaterialError, match=r"'lol\.xml' in archive: XML entity declarations are not allowed"
    ):
        JUnitKind().craft(path, OPTS)


def test_external_entity_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    path = _write(tmp_path, "xxe.xml", _xxe(secret))
    with pytest.raises(MaterialError, match="entity declarations are not allowed") as info:
        JUnitKind().craft(path, OPTS)
    assert "TOP-SECRET" not in str(info.value)


def test_external_dtd_is_never_fetched() -> None:
    # JaCoCo and Cobertura reports declare a DTD; it is accepted but never loaded (no network, no file).
    xml = b'<!DOCTYPE testsuite SYSTEM "http://127.0.0.1:9/x.dtd"><testsuite><testcase/></testsuite>'
    assert junit_suites(xml)[0]["tests"] == 1


# --- JaCoCo -------------------------------------------------------------------------------------------------


def test_jacoco_fixture(materials_dir: Path) -> None:
    crafted = JacocoKind().craft(str(materials_dir / "jacoco.xml"), OPTS)
    assert (crafted.kind, crafted.digest, crafted.filename) == ("JACOCO_XML", JACOCO_DIGEST, "jacoco.xml")
    assert crafted.annotations == {ANN_SIZE: "4084"}
    report = jacoco_report((materials_dir / "jacoco.xml").read_bytes())
    assert report["counters"][0] == {"type": "INSTRUCTION", "missed": 30, "covered": 10}
    assert [c["type"] for c in report["counters"]] == [
        "INSTRUCTION",
        "BRANCH",
        "LINE",
        "COMPLEXITY",
        "METHOD",
        "CLASS",
    ]


@pytest.mark.parametrize(
    ("xml", "error"),
    [
        (b'<report name="x"><package name="p"/></report>', "invalid JaCoCo report file, no counters found"),
        (b'<report><counter type="LINE" missed="1" covered="2"/></report>', "no INSTRUCTION counter"),
        (b'<report><counter type="INSTRUCTION" missed="x"/></report>', "attribute missed is not an integer"),
        (b"<testsuites/>", "root element is <testsuites>, expected <report>"),
        (b"<report>", "not well-formed XML"),
    ],
)
def test_jacoco_invalid(tmp_path: Path, xml: bytes, error: str) -> None:
    with pytest.raises(MaterialError, match=error):
        JacocoKind().craft(_write(tmp_path, "j.xml", xml), OPTS)


def test_jacoco_rejects_other_fixtures(materials_dir: Path) -> None:
    for name in ("junit.xml", "cobertura.xml"):
        with pytest.raises(MaterialError, match="invalid JaCoCo report file"):
            JacocoKind().craft(str(materials_dir / name), OPTS)


# --- Cobertura ----------------------------------------------------------------------------------------------


def test_cobertura_fixture(materials_dir: Path) -> None:
    crafted = CoberturaKind().craft(str(materials_dir / "cobertura.xml"), OPTS)
    assert (crafted.kind, crafted.digest, crafted.filename) == (
        "COBERTURA_XML",
        COBERTURA_DIGEST,
        "cobertura.xml",
    )
    report = cobertura_report((materials_dir / "cobertura.xml").read_bytes())
    assert report["line-rate"] == 0.6667
    assert report["lines-covered"] == 4
    assert report["sources"] == ["src/main/java"]
    cls = report["packages"][0]["classes"][0]
    assert cls["filename"] == "com/example/app/Calculator.java"
    assert cls["methods"][1]["lines"][0] == {
        "number": 9,
        "hits": 1,
        "branch": True,
        "condition-coverage": "50% (1/2)",
    }
    json.dumps(report, allow_nan=False)


def test_cobertura_empty_report_is_accepted(materials_dir: Path) -> None:
    # line-rate="NaN" (0/0): a project with nothing to measure, valid evidence (Chainloop accepts it too).
    crafted = CoberturaKind().craft(str(materials_dir / "cobertura-empty.xml"), OPTS)
    assert crafted.digest == COBERTURA_EMPTY_DIGEST
    report = cobertura_report((materials_dir / "cobertura-empty.xml").read_bytes())
    assert report["line-rate"] is None
    assert report["packages"] == []


def test_cobertura_zero_coverage_with_packages_is_accepted(tmp_path: Path) -> None:
    xml = b'<coverage line-rate="0"><packages><package name="p"/></packages></coverage>'
    assert CoberturaKind().craft(_write(tmp_path, "c.xml", xml), OPTS).kind == "COBERTURA_XML"


@pytest.mark.parametrize(
    ("xml", "error"),
    [
        (
            b'<coverage line-rate="0"><packages/></coverage>',
            "invalid Cobertura report file, missing coverage data",
        ),
        (b"<coverage/>", "missing coverage data"),  # an absent line-rate is 0, as Go decodes it
        (b'<coverage line-rate="high"/>', "attribute line-rate is not a number"),
        (b'<report><counter type="INSTRUCTION"/></report>', "root element is <report>, expected <coverage>"),
    ],
)
def test_cobertura_invalid(tmp_path: Path, xml: bytes, error: str) -> None:
    with pytest.raises(MaterialError, match=error):
        CoberturaKind().craft(_write(tmp_path, "c.xml", xml), OPTS)


def test_cobertura_rejects_other_fixtures(materials_dir: Path) -> None:
    for name in ("junit.xml", "jacoco.xml"):
        with pytest.raises(MaterialError, match="invalid Cobertura report file"):
            CoberturaKind().craft(str(materials_dir / name), OPTS)


# --- sniffing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "root"),
    [
        ('<?xml version="1.0"?>\n<testsuites>', "testsuites"),
        ("\n  <!-- generated -->\n<testsuite name='x'>", "testsuite"),
        (
            '<?xml version="1.0"?><!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.0//EN" "r.dtd"><report',
            "report",
        ),
        ('<!DOCTYPE x [<!ENTITY a "b">]><coverage/>', "coverage"),
        ("<ns:testsuites xmlns:ns='u'>", "testsuites"),
        ("{}", None),
        ("", None),
        ("<!-- unterminated", None),
    ],
)
def test_xml_root_name(text: str, root: str | None) -> None:
    assert xml_root_name(text) == root


@given(st.text(max_size=300))
def test_xml_root_name_never_raises(text: str) -> None:
    xml_root_name(text)


@pytest.mark.parametrize(
    ("name", "junit", "jacoco", "cobertura"),
    [
        ("junit.xml", True, False, False),
        ("junit-invalid.xml", False, False, False),  # root <testsuites2>
        ("tests.zip", True, False, False),
        ("tests.tar.gz", True, False, False),
        ("valid-chart.tgz", True, False, False),  # any gzip: JUnit's craft then says no
        ("jacoco.xml", False, True, False),
        ("cobertura.xml", False, False, True),
        ("simple.txt", False, False, False),
    ],
)
def test_sniff(materials_dir: Path, name: str, junit: bool, jacoco: bool, cobertura: bool) -> None:
    sample = Sample.of(str(materials_dir / name))
    assert (JUnitKind().sniff(sample), JacocoKind().sniff(sample), CoberturaKind().sniff(sample)) == (
        junit,
        jacoco,
        cobertura,
    )


def test_sniff_never_claims_non_files() -> None:
    sample = Sample.of("<testsuites>")
    assert not JUnitKind().sniff(sample)
