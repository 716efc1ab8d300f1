"""Large inputs keep memory small: kind detection looks at a bounded prefix and suffix, JSON is parsed in memory
only up to its cap (refused beyond, with a one-line MaterialError), and XML reports are parsed as they are
read, so a 40 MB JUnit report does not become a 40 MB tree.

The CLI runs in a subprocess whose address space is capped (``RLIMIT_AS``, 1 GiB): a regression that reads a
2 GiB file into memory fails with the cap instead of exhausting the machine, and the child's peak resident
memory (``VmHWM``, the kernel's high-water mark of its resident set) is asserted. The 2 GiB files are sparse: a prefix (and a
suffix) written, the rest a hole that takes no disk space.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crafter._internal.materials.fileio import MAX_PARSED_BYTES
from crafter._internal.materials.interface import SNIFF_BYTES, Sample
from crafter._internal.materials.registry import default_registry
from crafter._internal.materials.reports import cobertura_report, junit_suites
from crafter.errors import ExitCode
from tests.conftest import RUNNER_MARKERS
from tests.hostile.child import RUN_CLI

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 1 << 30  # RLIMIT_AS of the child: far below what reading a 2 GiB file whole would take
HANG_TIMEOUT = 120.0
MAX_PEAK_MIB = 100  # the child's peak resident memory (crafter add of a small file: about 25 MiB)
SPARSE = 2 << 30
CYCLONEDX_HEAD = b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": ['

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc/self/status: Linux")


def sparse(path: Path, head: bytes, size: int = SPARSE, tail: bytes = b"") -> Path:
    """``head``, a hole, then ``tail``: ``size`` bytes on paper, a few KiB on disk."""
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(size - len(tail))
        fh.seek(size - len(tail))
        fh.write(tail)
    assert path.stat().st_size == size
    assert path.stat().st_blocks * 512 < 1 << 20  # really sparse: nothing like 2 GiB was written
    return path


def junit_report(path: Path, megabytes: int) -> dict[str, int]:
    """A JUnit report of about ``megabytes`` MB: suites of 1,000 cases, one in 50 failing, one in 100
    skipped, one nested suite per suite; returns the totals it holds."""
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n')
        suite = 0
        while fh.tell() < megabytes * 1_000_000:
            fh.write(f'<testsuite name="pkg.m{suite}.T" time="1.5">\n')
            for i in range(1000):
                name = f'name="test_{i}" classname="pkg.m{suite}.T" time="0.01"'
                if i % 50 == 0:
                    fh.write(
                        f'<testcase {name}><failure message="assert {i}">trace {i}</failure></testcase>\n'
                    )
                    totals["failures"] += 1
                elif i % 100 == 1:
                    fh.write(f"<testcase {name}><skipped/></testcase>\n")
                    totals["skipped"] += 1
                else:
                    fh.write(f"<testcase {name}/>\n")
                totals["tests"] += 1
            fh.write(f'<testsuite name="nested{suite}"><testcase name="n"/></testsuite>\n</testsuite>\n')
            totals["tests"] += 1
            suite += 1
        fh.write("</testsuites>\n")
    return totals


def cobertura(path: Path, megabytes: int) -> int:
    """A Cobertura report of about ``megabytes`` MB in packages of 50 classes; returns the package count."""
    packages = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write(
            '<?xml version="1.0"?>\n<coverage line-rate="0.5" branch-rate="0" version="1" timestamp="1">'
        )
        fh.write("<sources><source>/src</source></sources><packages>\n")
        while fh.tell() < megabytes * 1_000_000:
            fh.write(f'<package name="p{packages}" line-rate="0.5"><classes>')
            for c in range(50):
                lines = "".join(f'<line number="{n}" hits="{n % 2}"/>' for n in range(40))
                fh.write(
                    f'<class name="C{c}" filename="p/C{c}.java" line-rate="0.5"><lines>{lines}</lines></class>'
                )
            fh.write("</classes></package>\n")
            packages += 1
        fh.write("</packages></coverage>\n")
    return packages


class Cli:
    """``crafter`` in a subprocess with its address space capped; records the peak RSS of each call."""

    def __init__(self, tmp_path: Path) -> None:
        self.work = tmp_path / "work"
        self.work.mkdir()
        self.env = {k: v for k, v in os.environ.items() if k not in RUNNER_MARKERS}
        self.env.update(
            CRAFTER_STATE_DIR=str(tmp_path / "state"),
            GIT_CEILING_DIRECTORIES=str(tmp_path),
            PYTHONPATH=str(ROOT),
        )

    def __call__(self, *args: str, max_seconds: float = 30.0) -> tuple[int, str, str, float]:
        """Exit code, stdout, stderr and the child's peak resident memory in MiB."""

        def cap() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

        start = time.monotonic()
        peak_file = self.work.parent / "peak-kib"
        peak_file.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [sys.executable, "-c", RUN_CLI, *args],
            cwd=self.work,
            env={**self.env, "CRAFTER_TEST_PEAK_FILE": str(peak_file)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=cap,
        )
        try:
            out, err = proc.communicate(timeout=HANG_TIMEOUT)  # a hung child fails the test, never the suite
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        elapsed = time.monotonic() - start
        assert elapsed < max_seconds, f"crafter {' '.join(args)} took {elapsed:.1f} s"
        assert "Traceback" not in err and "MemoryError" not in err, err
        return proc.returncode, out, err, int(peak_file.read_text()) / 1024

    def materials(self) -> dict[str, dict[str, object]]:
        code, out, err, _ = self("status", "-o", "json")
        assert code == 0, err
        return {m["name"]: m for m in json.loads(out)["materials"]}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    made = Cli(tmp_path)
    assert made("init", "--workflow", "w", "--project", "p")[0] == 0
    return made


# --- sniffing: a bounded look -------------------------------------------------------------------------------


def test_sample_reads_a_bounded_prefix_and_suffix(tmp_path: Path) -> None:
    path = sparse(tmp_path / "big.cdx.json", CYCLONEDX_HEAD)
    sample = Sample.of(str(path))
    assert (len(sample.prefix), len(sample.suffix), sample.size) == (SNIFF_BYTES, SNIFF_BYTES, SPARSE)
    registry = default_registry()
    # Starts like CycloneDX but does not end like JSON: no JSON kind is even tried.
    assert not registry.get("SBOM_CYCLONEDX_JSON").sniff(sample)
    closed = sparse(tmp_path / "closed.cdx.json", CYCLONEDX_HEAD, tail=b"]}\n")
    assert registry.get("SBOM_CYCLONEDX_JSON").sniff(Sample.of(str(closed)))


# --- JSON: refused beyond the cap, before anything is read ---------------------------------------------------


@pytest.mark.parametrize("tail", [b"", b"]}\n"], ids=["zeros", "json-looking-tail"])
def test_2gib_cyclonedx_looking_file_with_its_kind_is_a_material_error(
    cli: Cli, tmp_path: Path, tail: bytes
) -> None:
    path = sparse(tmp_path / "big.cdx.json", CYCLONEDX_HEAD, tail=tail)
    code, _, err, peak = cli("add", "--kind", "SBOM_CYCLONEDX_JSON", "--name", "sbom", "--value", str(path))
    assert code == ExitCode.MATERIAL
    assert err.splitlines()[0] == (
        f"Error: {path}: file too large to parse ({SPARSE} bytes, limit {MAX_PARSED_BYTES})"
    )
    assert peak < MAX_PEAK_MIB
    assert "sbom" not in cli.materials()


@pytest.mark.parametrize(
    ("kind", "head"),
    [("JUNIT_XML", b"\x1f\x8b\x08\x00"), ("HELM_CHART", b"\x1f\x8b\x08\x00"), ("JUNIT_XML", b"PK\x03\x04")],
)
def test_2gib_archive_looking_file_is_a_material_error(
    cli: Cli, tmp_path: Path, kind: str, head: bytes
) -> None:
    path = sparse(tmp_path / "big.tgz", head)
    code, _, err, peak = cli("add", "--kind", kind, "--name", "archive", "--value", str(path))
    assert code == ExitCode.MATERIAL
    assert "file too large to parse" in err.splitlines()[0]
    assert peak < MAX_PEAK_MIB


def test_2gib_cyclonedx_looking_file_detected_is_an_artifact(cli: Cli, tmp_path: Path) -> None:
    # Not JSON (it does not end like JSON): hashed in a stream as an ARTIFACT, in constant memory.
    path = sparse(tmp_path / "big.cdx.json", CYCLONEDX_HEAD)
    code, _, err, peak = cli("add", "--name", "big", "--value", str(path), max_seconds=60)
    assert code == 0, err
    assert peak < MAX_PEAK_MIB
    assert cli.materials()["big"]["type"] == "ARTIFACT"


def test_json_looking_file_over_the_cap_detected_is_an_artifact(cli: Cli, tmp_path: Path) -> None:
    # Starts and ends like CycloneDX, but over the parse cap: the kind refuses it, detection moves on.
    path = sparse(tmp_path / "big.cdx.json", CYCLONEDX_HEAD, size=MAX_PARSED_BYTES + 1, tail=b"]}\n")
    code, _, err, peak = cli("add", "--name", "big", "--value", str(path))
    assert code == 0, err
    assert peak < MAX_PEAK_MIB
    assert cli.materials()["big"]["type"] == "ARTIFACT"


# --- XML: parsed as it is read -------------------------------------------------------------------------------


def test_40mb_junit_report_in_bounded_memory(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    totals = junit_report(path, 40)
    assert path.stat().st_size > 40_000_000
    for kind_args in (("--kind", "JUNIT_XML"), ()):
        name = "tests" if kind_args else "detected"
        code, _, err, peak = cli("add", *kind_args, "--name", name, "--value", str(path))
        assert code == 0, err
        assert peak < MAX_PEAK_MIB  # was 445 MiB when the report was parsed as one tree
    recorded = cli.materials()
    for name in ("tests", "detected"):
        annotations = recorded[name]["annotations"]
        assert isinstance(annotations, dict)
        assert recorded[name]["type"] == "JUNIT_XML"
        assert annotations["chainloop.material.junit.tests"] == str(totals["tests"])
        assert annotations["chainloop.material.junit.failures"] == str(totals["failures"])
        assert annotations["chainloop.material.junit.skipped"] == str(totals["skipped"])
        assert annotations["chainloop.material.junit.errors"] == "0"


def test_20mb_cobertura_report_in_bounded_memory(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "coverage.xml"
    cobertura(path, 20)
    code, _, err, peak = cli("add", "--kind", "COBERTURA_XML", "--name", "coverage", "--value", str(path))
    assert code == 0, err
    assert peak < MAX_PEAK_MIB


def test_projections_read_from_a_file_equal_those_of_the_bytes(tmp_path: Path) -> None:
    """The incremental parse gives the same projections as the bytes in memory (policies read files)."""
    junit = tmp_path / "junit.xml"
    junit_report(junit, 1)
    data = junit.read_bytes()
    suites = junit_suites(data)
    with junit.open("rb") as fh:
        assert junit_suites(fh) == suites
    assert sum(s["tests"] for s in suites) == data.count(b"<testcase ")
    assert all(len(s["suites"]) == 1 for s in suites)  # the nested suite of each suite
    coverage = tmp_path / "coverage.xml"
    packages = cobertura(coverage, 1)
    report = cobertura_report(io.BytesIO(coverage.read_bytes()))
    assert len(report["packages"]) == packages
    assert report["sources"] == ["/src"]
    assert all(len(p["classes"]) == 50 for p in report["packages"])
