"""Peak memory of ``crafter add`` on hostile or large structured inputs.

- a 2 GiB sparse file that starts like a CycloneDX SBOM (the rest is zeros, never written to disk), added with
  ``--kind SBOM_CYCLONEDX_JSON`` and by auto-detection;
- a JUnit XML report of about 40 MB (generated), added with ``--kind JUNIT_XML`` and by auto-detection.

Each line prints the exit code, the wall time and the peak resident memory of the ``crafter add`` process
(``VmHWM``, the kernel's high-water mark, read by the process as it exits). ``--source DIR`` runs crafter from
another source tree, e.g. an older revision exported with ``git archive REV crafter | tar -x -C DIR``, for
before/after figures. Usage: ``python bench/large_inputs.py [--sparse-gib 2] [--junit-mb 40] [--source DIR]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from _common import PYTHON, machine

# crafter add, writing its peak resident memory (KiB) to the file named by BENCH_PEAK_FILE as it exits.
RUN = """
import atexit, os, sys

def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(kib)

atexit.register(peak)
from crafter._internal.cli.main import main
sys.exit(main(sys.argv[1:]))
"""
CYCLONEDX_PREFIX = b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": ['


def sparse_cyclonedx(path: Path, size: int) -> None:
    """A CycloneDX-looking prefix, then a hole up to ``size`` bytes (no disk blocks for the zeros)."""
    path.write_bytes(CYCLONEDX_PREFIX)
    os.truncate(path, size)


def junit(path: Path, size_mb: int) -> int:
    """A JUnit report of about ``size_mb`` MB: suites of 1,000 cases, every 50th failing; returns the cases."""
    cases = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n')
        suite = 0
        while fh.tell() < size_mb * 1_000_000:
            fh.write(f'  <testsuite name="pkg.module{suite}.TestClass" tests="1000" time="1.5">\n')
            for i in range(1000):
                if i % 50 == 0:
                    fh.write(
                        f'    <testcase name="test_case_{i}" classname="pkg.module{suite}.TestClass" time="0.01">'
                        f'<failure message="assert {i} == 0">Traceback line {i}</failure></testcase>\n'
                    )
                else:
                    fh.write(
                        f'    <testcase name="test_case_{i}" classname="pkg.module{suite}.TestClass" time="0.01"/>\n'
                    )
                cases += 1
            fh.write("  </testsuite>\n")
            suite += 1
        fh.write("</testsuites>\n")
    return cases


def measure(label: str, args: list[str], env: dict[str, str]) -> None:
    peak_file = Path(env["CRAFTER_STATE_DIR"]).parent / "peak-kib"
    start = time.perf_counter()
    proc = subprocess.run(
        [PYTHON, "-c", RUN, *args],
        cwd=peak_file.parent,  # not this checkout: "-c" puts the working directory first on sys.path
        env={**env, "BENCH_PEAK_FILE": str(peak_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    err = proc.stderr.strip().splitlines()
    first = err[0][:100] if err else ""
    peak = int(peak_file.read_text()) / 1024
    print(f"{label:<46} exit {proc.returncode:3d}  {elapsed:6.2f} s  peak {peak:8.1f} MiB  {first}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sparse-gib", type=int, default=2)
    parser.add_argument("--junit-mb", type=int, default=40)
    parser.add_argument("--source", type=Path, help="run crafter from this source tree")
    args = parser.parse_args()
    print(machine() + (f", crafter from {args.source}" if args.source else ""))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "CRAFTER_STATE_DIR": str(work / "state")}
        if args.source:
            env["PYTHONPATH"] = str(args.source.resolve())
        subprocess.run(
            [
                PYTHON,
                "-c",
                RUN.replace("atexit.register(peak)", ""),
                "init",
                "--workflow",
                "bench",
                "--project",
                "bench",
            ],
            cwd=work,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        big = work / "big.cdx.json"
        sparse_cyclonedx(big, args.sparse_gib << 30)
        report = work / "junit.xml"
        cases = junit(report, args.junit_mb)
        print(f"JUnit report: {report.stat().st_size / 1e6:.1f} MB, {cases} test cases")
        sparse = f"{args.sparse_gib} GiB sparse CycloneDX-looking"
        measure(
            f"{sparse}, --kind SBOM_CYCLONEDX_JSON",
            ["add", "--kind", "SBOM_CYCLONEDX_JSON", "--name", "a", "--value", str(big)],
            env,
        )
        measure(f"{sparse}, detected", ["add", "--name", "b", "--value", str(big)], env)
        measure(
            f"JUnit {args.junit_mb} MB, --kind JUNIT_XML",
            ["add", "--kind", "JUNIT_XML", "--name", "c", "--value", str(report)],
            env,
        )
        measure(
            f"JUnit {args.junit_mb} MB, detected",
            ["add", "--name", "d", "--value", str(report)],
            env,
        )


if __name__ == "__main__":
    main()
