"""Peak memory of ``crafter add`` on hostile or large structured inputs.

- a 2 GiB sparse file that starts like a CycloneDX SBOM (the rest is zeros, never written to disk), added with
  ``--kind SBOM_CYCLONEDX_JSON`` and by auto-detection;
- a JUnit XML report of about 40 MB (generated), added with ``--kind JUNIT_XML`` and by auto-detection.

Each line prints the exit code, the wall time and the child's peak resident memory (ru_maxrss, measured by
the kernel). Usage: ``python bench/large_inputs.py [--sparse-gib 2] [--junit-mb 40]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from _common import crafter_exe, machine

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


def measure(label: str, cmd: list[str], env: dict[str, str]) -> None:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    first = err[0][:100] if err else ""
    print(f"{label:<46} exit {code:3d}  {elapsed:6.2f} s  peak {usage.ru_maxrss / 1024:8.1f} MiB  {first}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sparse-gib", type=int, default=2)
    parser.add_argument("--junit-mb", type=int, default=40)
    args = parser.parse_args()
    crafter = crafter_exe()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "CRAFTER_STATE_DIR": str(work / "state")}
        subprocess.run(
            [crafter, "init", "--workflow", "bench", "--project", "bench"],
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
            [crafter, "add", "--kind", "SBOM_CYCLONEDX_JSON", "--name", "a", "--value", str(big)],
            env,
        )
        measure(f"{sparse}, detected", [crafter, "add", "--name", "b", "--value", str(big)], env)
        measure(
            f"JUnit {args.junit_mb} MB, --kind JUNIT_XML",
            [crafter, "add", "--kind", "JUNIT_XML", "--name", "c", "--value", str(report)],
            env,
        )
        measure(
            f"JUnit {args.junit_mb} MB, detected",
            [crafter, "add", "--name", "d", "--value", str(report)],
            env,
        )


if __name__ == "__main__":
    main()
