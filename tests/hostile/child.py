"""``crafter`` in a child process that reports its own peak memory.

``RUN_CLI`` (for ``python -c``) runs the CLI and, as it exits, writes its peak resident memory (``VmHWM``,
KiB) to the file named by ``CRAFTER_TEST_PEAK_FILE``. Measured in the child rather than with ``wait4``'s
``ru_maxrss``, which also counts what the forking pytest process had resident, a figure that grows with
the tests run before. Linux only (``/proc/self/status``)."""

from __future__ import annotations

RUN_CLI = """
import atexit, os, sys

def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["CRAFTER_TEST_PEAK_FILE"], "w") as out:
        out.write(kib)

atexit.register(peak)
from crafter._internal.cli.main import main
sys.exit(main(sys.argv[1:]))
"""
