"""Recording 100 files and signing them, against python in-toto doing the same with a key.

- Library, in one process: ``Crafter`` init, one ``add`` of the 100 files, ``push`` against
  ``in_toto.runlib.in_toto_run`` (materials = the directory) and writing the signed link (target 1.0 or less).
- CLI: ``crafter init``, one ``crafter add`` given the 100 files, ``crafter push`` against one
  ``in-toto-run -m DIR --no-command`` (target 3.0 or less).
- Also reported: 100 separate ``crafter add`` processes.

Both sign with the same ECDSA P-256 key (an unencrypted PKCS#8 PEM file, which both read).
Usage: ``python bench/intoto.py [--runs 5] [--files 100] [--file-kib 16]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _common import BIN, crafter_exe, machine, median_of, report, run_timed
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def make_files(directory: Path, count: int, kib: int) -> list[Path]:
    directory.mkdir()
    paths = []
    for i in range(count):
        p = directory / f"file-{i:03d}.bin"
        p.write_bytes(os.urandom(kib * 1024))
        paths.append(p)
    return paths


def write_key(work: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    plain = work / "key.pem"
    plain.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return plain


def library_crafter(work: Path, files: list[Path], key: Path, cwd: Path | None = None) -> float:
    from crafter import Crafter

    state = Path(tempfile.mkdtemp(dir=work))
    start = time.perf_counter()
    c = Crafter(state_dir=state, cwd=cwd or work)
    c.init(workflow="bench", project="bench")
    c.add([str(p) for p in files], kind="ARTIFACT")
    c.push(key=str(key), bundle=state / "out.sigstore.json")
    return time.perf_counter() - start


def library_intoto(work: Path, directory: Path, key: Path) -> float:
    from in_toto.runlib import in_toto_run
    from securesystemslib.signer import CryptoSigner

    out = Path(tempfile.mkdtemp(dir=work))
    start = time.perf_counter()
    private = serialization.load_pem_private_key(key.read_bytes(), None)
    signer = CryptoSigner(private)  # type: ignore[arg-type]
    link = in_toto_run("bench", [str(directory)], [], [], signer=signer)
    link.dump(str(out / "bench.link"))
    return time.perf_counter() - start


def _crafter_steps(work: Path, steps: list[list[str]]) -> float:
    """Run crafter commands in ``work`` (outside any git repository, as in-toto records none)."""
    state = Path(tempfile.mkdtemp(dir=work))
    env = {**os.environ, "CRAFTER_STATE_DIR": str(state / "st")}
    start = time.perf_counter()
    for step in steps:
        subprocess.run([crafter_exe(), *step], env=env, check=True, stdout=subprocess.DEVNULL, cwd=work)
    return time.perf_counter() - start


def cli_crafter(work: Path, files: list[Path], key: Path) -> float:
    return _crafter_steps(
        work,
        [
            ["init", "--workflow", "bench", "--project", "bench"],
            ["add", "--kind", "ARTIFACT", *map(str, files)],
            ["push", "--key", str(key), "--bundle", str(work / "cli.sigstore.json")],
        ],
    )


def cli_crafter_separate(work: Path, files: list[Path], key: Path) -> float:
    adds = [["add", "--kind", "ARTIFACT", str(p)] for p in files]
    return _crafter_steps(
        work,
        [
            ["init", "--workflow", "bench"],
            *adds,
            ["push", "--key", str(key), "--bundle", str(work / "s.json")],
        ],
    )


def cli_intoto(work: Path, directory: Path, key: Path) -> float:
    out = Path(tempfile.mkdtemp(dir=work))
    cmd = [
        str(BIN / "in-toto-run"),
        "-n",
        "bench",
        "-m",
        str(directory),
        "--signing-key",
        str(key),
        "--no-command",
        "--metadata-directory",
        str(out),
    ]
    return run_timed(cmd, cwd=out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--file-kib", type=int, default=16)
    args = parser.parse_args()
    if shutil.which(str(BIN / "in-toto-run")) is None:
        raise SystemExit("python in-toto is the baseline: pip install in-toto")
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = make_files(work / "files", args.files, args.file_kib)
        plain = ours = write_key(work)
        library_crafter(work, files, ours)  # warm imports and caches for both sides
        library_intoto(work, work / "files", plain)
        lib_ours = median_of(args.runs, lambda: library_crafter(work, files, ours))
        lib_base = median_of(args.runs, lambda: library_intoto(work, work / "files", plain))
        report(f"library: {args.files} files + sign vs in_toto_run", lib_ours, lib_base, 1.0)
        in_git = median_of(
            args.runs, lambda: library_crafter(work, files, ours, Path(__file__).resolve().parent)
        )
        print(f"{'  the same inside a git repository (git HEAD recorded)':<58} ours {in_git:8.3f} s")
        cli_ours = median_of(args.runs, lambda: cli_crafter(work, files, ours))
        cli_base = median_of(args.runs, lambda: cli_intoto(work, work / "files", plain))
        report(f"CLI: init + add {args.files} files + push vs in-toto-run -m", cli_ours, cli_base, 3.0)
        separate = cli_crafter_separate(work, files, ours)
        print(
            f"{'CLI: init + ' + str(args.files) + ' separate adds + push':<58} ours {separate:8.3f} s  "
            f"({separate / cli_base:5.2f} x in-toto-run -m; no target)"
        )


if __name__ == "__main__":
    main()
