"""Start-up cost: ``crafter add`` of a STRING and ``crafter --help`` against ``python -c pass``.

Target: 4 times ``python -c pass`` or less. Usage: ``python bench/startup.py [--runs 15]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from _common import PYTHON, crafter_exe, machine, median_of, report, run_timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    crafter = crafter_exe()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CRAFTER_STATE_DIR": str(Path(tmp) / "state")}
        subprocess.run(
            [crafter, "init", "--workflow", "bench"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        base = median_of(args.runs, lambda: run_timed([PYTHON, "-c", "pass"]))
        counter = iter(range(10**6))
        add = median_of(
            args.runs,
            lambda: run_timed(
                [crafter, "add", "--kind", "STRING", "--name", f"s{next(counter)}", "--value", "x"], env=env
            ),
        )
        helptime = median_of(args.runs, lambda: run_timed([crafter, "--help"], env=env))
        report("crafter add (STRING) vs python -c pass", add, base, 4.0)
        report("crafter --help vs python -c pass", helptime, base, 4.0)


if __name__ == "__main__":
    main()
