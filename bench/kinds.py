"""``crafter add`` of a large file of each file kind that bench/materials.py does not cover: time and peak memory.

Each file is generated here (about ``--size-mb`` MB, valid for its kind) and added with ``--kind`` to an
attestation without policies; the baseline, in the same run, is ``sha256sum``-like hashing of the same file
in a fresh Python (reading it once, which every kind does). Printed per kind: size, items, seconds, peak
resident memory (the kernel's high-water mark of the process), and its ratio to the file's size.

The XML and tag-value SBOMs are read by their formats' libraries and cost far more per megabyte: they are
generated smaller (``--sbom-items``). The JSON kinds with a schema are in bench/materials.py; ARTIFACT at
1 GiB is in bench/hashing.py.

Usage: ``python bench/kinds.py [--size-mb 100] [--sbom-items 10000] [--kinds JUNIT_XML,...]``.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import subprocess
import tarfile
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from _common import PYTHON, crafter_exe, machine

HASH = "import hashlib, sys\nh = hashlib.sha256()\nwith open(sys.argv[1], 'rb') as f:\n    while b := f.read(1 << 20):\n        h.update(b)"


def _lines_to(path: Path, head: str, items: Iterator[str], tail: str, size: int) -> int:
    """Write ``head``, items until the file reaches ``size`` bytes, ``tail``; the number of items."""
    count = 0
    with path.open("w", encoding="utf-8") as f:
        f.write(head)
        written = len(head)
        for item in items:
            f.write(item)
            written += len(item)
            count += 1
            if written >= size:
                break
        f.write(tail)
    return count


def _counter() -> Iterator[int]:
    i = 0
    while True:
        yield i
        i += 1


def junit(path: Path, size: int) -> int:
    cases = (
        f'    <testcase classname="pkg.Class{i % 1000}" name="test_{i}" time="0.001"/>\n' for i in _counter()
    )
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n  <testsuite name="big" tests="0" time="1.0">\n'
    return _lines_to(path, head, cases, "  </testsuite>\n</testsuites>\n", size)


def jacoco(path: Path, size: int) -> int:
    counters = "".join(
        f'<counter type="{t}" missed="1" covered="2"/>' for t in ("INSTRUCTION", "LINE", "METHOD", "CLASS")
    )
    classes = (
        f'  <package name="p{i}"><class name="p{i}/C"><method name="m" desc="()V" line="1">{counters}</method>'
        f"{counters}</class>{counters}</package>\n"
        for i in _counter()
    )
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<report name="big">\n  <sessioninfo id="s" start="1" dump="2"/>\n'
    return _lines_to(path, head, classes, f"  {counters}\n</report>\n", size)


def cobertura(path: Path, size: int) -> int:
    lines = "".join(f'<line number="{n}" hits="1" branch="false"/>' for n in range(1, 21))
    packages = (
        f'    <package name="p{i}" line-rate="1.0" branch-rate="1.0" complexity="1"><classes>'
        f'<class name="p{i}.C" filename="p{i}/C.java" line-rate="1.0" branch-rate="1.0" complexity="1">'
        f"<methods/><lines>{lines}</lines></class></classes></package>\n"
        for i in _counter()
    )
    head = (
        '<?xml version="1.0" ?>\n<coverage line-rate="1.0" branch-rate="1.0" lines-covered="1" lines-valid="1"'
        ' branches-covered="0" branches-valid="0" complexity="1" version="1" timestamp="1">\n'
        "  <sources><source>src</source></sources>\n  <packages>\n"
    )
    return _lines_to(path, head, packages, "  </packages>\n</coverage>\n", size)


def gitleaks(path: Path, size: int) -> int:
    findings = (
        ("" if i == 0 else ",")
        + json.dumps(
            {
                "Description": "Generic API Key",
                "StartLine": i,
                "EndLine": i,
                "Match": f"api_key = {i:032x}",
                "Secret": f"{i:032x}",
                "File": f"config/f{i}.env",
                "RuleID": "generic-api-key",
                "Fingerprint": f"config/f{i}.env:generic-api-key:{i}",
            }
        )
        + "\n"
        for i in _counter()
    )
    return _lines_to(path, "[\n", findings, "]\n", size)


def _statement(size: int, predicate_type: str) -> tuple[bytes, int]:
    n = max(1, size // 200)
    subjects = [{"name": f"f{i}", "digest": {"sha256": f"{i:064x}"}} for i in range(n)]
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": predicate_type,
        "predicate": {
            "buildDefinition": {"buildType": "https://example.com/build", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://example.com/builder"}},
        },
    }
    return json.dumps(statement).encode(), n


def _envelope(path: Path, size: int, predicate_type: str, bundle: bool = False) -> int:
    payload, n = _statement(size * 3 // 4, predicate_type)  # base64 grows it by a third
    envelope = {
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(b"not checked at add").decode()}],
    }
    doc: dict[str, object] = envelope
    if bundle:  # a Sigstore bundle 0.3 around it (signatures are verified by crafter verify, not at add)
        doc = {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": "bench"}, "tlogEntries": []},
            "dsseEnvelope": envelope,
        }
    path.write_text(json.dumps(doc))
    return n


def attestation(path: Path, size: int) -> int:
    return _envelope(path, size, "chainloop.dev/attestation/v0.2")


def slsa(path: Path, size: int) -> int:
    return _envelope(path, size, "https://slsa.dev/provenance/v1", bundle=True)


def helm(path: Path, size: int) -> int:
    """A chart with many templates (a chart is small by nature: up to --size-mb / 10)."""
    count = 0
    with tarfile.open(path, "w:gz") as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(f"big/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("Chart.yaml", b"apiVersion: v2\nname: big\nversion: 1.0.0\n")
        add("values.yaml", b"image: {repository: nginx, tag: '1.25'}\n")
        total = 0
        while total < size // 10:
            body = (
                os.urandom(32 << 10).hex().encode()
            )  # incompressible: the archive is as large as its content
            add(f"templates/t{count}.yaml", b"# " + body + b"\n")
            total += len(body)
            count += 1
    return count


def artifact(path: Path, size: int) -> int:
    with path.open("wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    return 1


def cyclonedx_xml(path: Path, items: int) -> int:
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    bom = Bom()
    bom.metadata.component = Component(name="app", version="1.0", type=ComponentType.APPLICATION)
    for i in range(items):
        bom.components.add(
            Component(name=f"pkg{i}", version="1.0.0", type=ComponentType.LIBRARY, bom_ref=f"c{i}")
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library's advice on the dependency graph
        path.write_text(make_outputter(bom, OutputFormat.XML, SchemaVersion.V1_6).output_as_string())
    return items


def spdx_tag_value(path: Path, items: int) -> int:
    head = [
        "SPDXVersion: SPDX-2.3",
        "DataLicense: CC0-1.0",
        "SPDXID: SPDXRef-DOCUMENT",
        "DocumentName: big",
        "DocumentNamespace: https://example.com/big",
        "Creator: Tool: bench-1.0",
        "Created: 2026-01-01T00:00:00Z",
        "",
    ]
    body = []
    for i in range(items):
        body += [
            f"PackageName: pkg{i}",
            f"SPDXID: SPDXRef-Package-{i}",
            "PackageVersion: 1.0.0",
            "PackageDownloadLocation: NOASSERTION",
            "FilesAnalyzed: false",
            "PackageLicenseConcluded: NOASSERTION",
            "PackageLicenseDeclared: NOASSERTION",
            "PackageCopyrightText: NOASSERTION",
            "",
        ]
    path.write_text(
        "\n".join([*head, *body, "Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-0", ""])
    )
    return items


#: kind -> (file name, generator, unit, whether the generator takes an item count instead of a size)
KINDS: dict[str, tuple[str, Callable[[Path, int], int], str, bool]] = {
    "JUNIT_XML": ("junit.xml", junit, "test cases", False),
    "JACOCO_XML": ("jacoco.xml", jacoco, "packages", False),
    "COBERTURA_XML": ("cobertura.xml", cobertura, "packages", False),
    "GITLEAKS_JSON": ("gitleaks.json", gitleaks, "findings", False),
    "ATTESTATION": ("envelope.json", attestation, "subjects", False),
    "SLSA_PROVENANCE": ("provenance.sigstore.json", slsa, "subjects", False),
    "HELM_CHART": ("chart.tgz", helm, "templates", False),
    "EVIDENCE": ("evidence.bin", artifact, "file", False),
    "SBOM_CYCLONEDX_XML": ("bom.cdx.xml", cyclonedx_xml, "components", True),
    "SBOM_SPDX_TAG_VALUE": ("bom.spdx", spdx_tag_value, "packages", True),
}


def timed_peak(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Seconds, peak resident MiB and exit code of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    assert proc.stderr is not None
    proc.stderr.close()
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def generate_apart(kind: str, path: Path, amount: int) -> int:
    """Generate in a child process: a child forked from a process that grew while generating would start
    with its high-water mark, and the peak measured would be the generator's."""
    out = subprocess.run(
        [PYTHON, __file__, "--generate", kind, str(path), str(amount)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100)
    parser.add_argument("--sbom-items", type=int, default=10000)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--generate", nargs=3, metavar=("KIND", "PATH", "AMOUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        kind, path, amount = args.generate
        print(KINDS[kind][1](Path(path), int(amount)))
        return
    crafter = crafter_exe()
    print(machine())
    print(
        f"{'kind':<22}{'file':>10}  {'items':>22}  {'add':>8}  {'hash':>7}  {'peak':>9}  {'peak / file':>11}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "CRAFTER_STATE_DIR": str(root / "state")}
        subprocess.run([crafter, "init"], env=env, cwd=root, check=True, stdout=subprocess.DEVNULL)
        for kind in args.kinds.split(","):
            name, _, unit, by_items = KINDS[kind]
            path = root / name
            count = generate_apart(kind, path, args.sbom_items if by_items else int(args.size_mb * (1 << 20)))
            size_mb = path.stat().st_size / (1 << 20)
            hashed = timed_peak([PYTHON, "-c", HASH, str(path)], env, root)[0]
            seconds, peak, code = timed_peak(
                [
                    crafter,
                    "add",
                    "--kind",
                    kind,
                    "--value",
                    str(path),
                    "--name",
                    kind.lower().replace("_", "-"),
                ],
                env,
                root,
            )
            outcome = f"{seconds:7.2f}s" if code == 0 else f"exit {code}"
            print(
                f"{kind:<22}{size_mb:8.1f}MB  {count:>11,} {unit:<10}  {outcome:>8}  {hashed:6.2f}s  "
                f"{peak:6.0f}MiB  {peak / max(size_mb, 1e-9):10.1f}x",
                flush=True,
            )
            path.unlink()


if __name__ == "__main__":
    main()
