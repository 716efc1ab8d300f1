"""Shared helpers for the benchmarks: timing commands, peak memory, and the machine description."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

BIN = Path(sys.executable).parent
PYTHON = sys.executable


def crafter_exe() -> str:
    """The installed ``crafter`` entry point beside this interpreter (what users run)."""
    exe = BIN / "crafter"
    if not exe.exists():
        sys.exit("crafter is not installed in this environment: pip install -e . first")
    return str(exe)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def run_timed(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    """Wall time of one command; it must succeed."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_of(n: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(n))


def peak_rss_mib(cmd: Sequence[str], *, env: dict[str, str] | None = None) -> float:
    """Peak resident memory of a child process, measured by the kernel (ru_maxrss of the waited child)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {cmd}")
    return usage.ru_maxrss / 1024  # KiB on Linux


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def report(name: str, ours: float, baseline: float, target: float, unit: str = "s") -> None:
    ratio = ours / baseline if baseline else float("inf")
    verdict = "met" if ratio <= target else "NOT met"
    print(
        f"{name:<58} ours {ours:8.3f} {unit}  baseline {baseline:8.3f} {unit}  ratio {ratio:5.2f} (target <= {target}: {verdict})"
    )


__all__ = [
    "PYTHON",
    "crafter_exe",
    "have",
    "machine",
    "median_of",
    "peak_rss_mib",
    "report",
    "resource",
    "run_timed",
]
