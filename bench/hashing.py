"""``crafter add`` of a 1 GiB ARTIFACT against ``openssl dgst -sha256`` on the same file.

Prints the wall-time ratio (start-up included; target 1.25 or less) and the peak memory of ``crafter add``
(target under 100 MB). Usage: ``python bench/hashing.py [--size-mib 1024] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from _common import crafter_exe, have, machine, median_of, peak_rss_mib, report, run_timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not have("openssl"):
        raise SystemExit("openssl is needed as the baseline")
    crafter = crafter_exe()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        big = work / "big.bin"
        with big.open("wb") as fh:
            chunk = os.urandom(1 << 20)
            for _ in range(args.size_mib):
                fh.write(chunk)
        env = {**os.environ, "CRAFTER_STATE_DIR": str(work / "state")}
        subprocess.run(
            [crafter, "init", "--workflow", "bench", "--project", "bench"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        add = [crafter, "add", "--kind", "ARTIFACT", "--name", "big", "--value", str(big)]
        run_timed(["openssl", "dgst", "-sha256", str(big)])  # warm the page cache for both
        base = median_of(args.runs, lambda: run_timed(["openssl", "dgst", "-sha256", str(big)]))
        ours = median_of(args.runs, lambda: run_timed(add, env=env))
        report(f"crafter add ARTIFACT {args.size_mib} MiB vs openssl dgst", ours, base, 1.25)
        rss = peak_rss_mib(add, env=env)
        print(
            f"{'peak memory of crafter add (MiB)':<58} {rss:8.1f} MiB  (target < 95.4 MiB = 100 MB: "
            f"{'met' if rss < 95.4 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
