"""Remote state (``--state oci://``) against a local state directory, on a real registry (Debian's docker-registry
on 127.0.0.1, started here).

Through the library, as a CI job's ``crafter add`` spends it past start-up: ``--runners`` separate processes
(each its own directories) add ``--adds`` STRING materials each, one part per add, at the same time; then
``status`` (every part read and merged) and ``push`` (read, sign, close, delete) of that attestation. The
baseline is the same adds, one process, on a local state directory. Printed: seconds per add (remote vs
local), status and push seconds, and the parts per second a status reads.

Usage: ``python bench/remote_state.py [--runners 16] [--adds 20]`` (needs docker-registry on PATH).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

from _common import machine

ADDS = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from crafter._internal.crafter import Crafter
    home, state, aid, n = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    (home / "work").mkdir(parents=True, exist_ok=True)
    c = Crafter(state_dir=home / "state", cwd=home / "work", state=state or None, insecure=True)
    if not aid:
        aid = c.init(project="bench").attestation_id
    start = time.perf_counter()
    for j in range(n):
        c.record([f"{home.name} value {j}"], name=f"{home.name}-{j}", attestation_id=aid)
    print(time.perf_counter() - start)
    """
)


def start_registry(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    root.mkdir(parents=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (root / "config.yml").write_text(
        f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(root / "config.yml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
            return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("docker-registry did not start")


def adds(home: Path, state: str, aid: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", ADDS, str(home), state, aid, str(n)], stdout=subprocess.PIPE, text=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", type=int, default=16)
    parser.add_argument("--adds", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("docker-registry") is None:
        sys.exit("docker-registry not found: apt-get install docker-registry")
    from crafter._internal.crafter import Crafter
    from crafter._internal.push_rules import PushRequest, SigningRequest
    from crafter.signing.keys import generate_key_pair

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        registry, host = start_registry(root / "registry")
        try:
            local = adds(root / "local", "", "", args.adds)
            local_per_add = float(local.communicate()[0]) / args.adds

            state = f"oci://{host}/bench/state"
            init = Crafter(state_dir=root / "init", cwd=root, state=state, insecure=True)
            aid = init.init(project="bench").attestation_id
            start = time.perf_counter()
            procs = [adds(root / f"r{i:02d}", state, aid, args.adds) for i in range(args.runners)]
            per_runner = [float(p.communicate()[0]) for p in procs]
            wall = time.perf_counter() - start
            remote_per_add = sum(per_runner) / (args.runners * args.adds)

            reader = Crafter(state_dir=root / "reader", cwd=root, state=state, insecure=True)
            start = time.perf_counter()
            status = reader.status(aid)
            status_s = time.perf_counter() - start
            recorded = sum(1 for m in status.materials if m.set)
            key, _ = generate_key_pair(root / "k", b"pw")
            start = time.perf_counter()
            reader.push(
                PushRequest(
                    signing=SigningRequest(key=str(key), password=b"pw"),
                    attestation_id=aid,
                    bundle=root / "b.json",
                )
            )
            push_s = time.perf_counter() - start
        finally:
            registry.terminate()
            registry.wait()
    parts = args.runners * args.adds
    print(
        f"{args.runners} runners x {args.adds} adds = {parts} parts, {recorded} recorded, in {wall:.1f} s wall"
    )
    print(
        f"add (one part):   remote {remote_per_add * 1000:.0f} ms, local {local_per_add * 1000:.0f} ms "
        f"(ratio {remote_per_add / local_per_add:.1f}; under {args.runners} concurrent runners)"
    )
    print(f"status (read and merge {parts} parts): {status_s:.2f} s ({parts / status_s:.0f} parts/s)")
    print(f"push (read, sign, close, delete):     {push_s:.2f} s")


if __name__ == "__main__":
    main()
