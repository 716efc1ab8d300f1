"""``crafter add`` of large JSON materials validated against a schema: time and peak memory.

CycloneDX 1.6 SBOMs of 1,000, 10,000 and 50,000 components (shaped as syft writes them: purl, CPE, licenses,
hashes, external references, properties), then one file of about ``--size-mb`` MB (100) of each JSON kind
with a schema: CycloneDX, SPDX 2.3, SARIF 2.1.0, CSAF 2.0 (VEX), OpenVEX. All are generated here, valid, with
no policy attached. The baseline, in the same run and on the same file, is ``json.load`` of it in a fresh
Python (reading and parsing it, which any validation needs). Peak memory is the kernel's high-water mark of
the process (``ru_maxrss``), also per MB of the file, as is the time; the goal for the large files is <= 5 s
and a peak <= 5 x the file's size.

Usage: ``python bench/materials.py [--size-mb 100] [--runs 1] [--kinds cyclonedx,spdx,...]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _common import PYTHON, crafter_exe, machine

TIME_GOAL = 5.0  # seconds, for a file of --size-mb
MEMORY_GOAL = 5.0  # peak resident memory / file size
BASELINE = "import json, sys\nwith open(sys.argv[1], 'rb') as f:\n    json.load(f)"


def _hex(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


# --- generators: a document is a head, items and a tail; items are written one at a time -------------------


def cyclonedx_component(i: int) -> dict[str, Any]:
    name, version = f"package-{i}", f"{i % 13}.{i % 7}.{i % 5}"
    purl = f"pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12"
    return {
        "bom-ref": f"{purl}&package-id={_hex(i)[:16]}",
        "type": "library",
        "publisher": f"Debian Maintainers <{name}@packages.debian.org>",
        "name": name,
        "version": version,
        "licenses": [{"license": {"id": "GPL-2.0-only"}}, {"license": {"name": "LicenseRef-custom"}}],
        "cpe": f"cpe:2.3:a:{name}:{name}:{version}:*:*:*:*:*:*:*",
        "purl": purl,
        "hashes": [{"alg": "SHA-256", "content": _hex(i)}],
        "externalReferences": [
            {"type": "website", "url": f"https://salsa.debian.org/{name}"},
            {"type": "distribution", "url": f"https://deb.debian.org/debian/pool/main/{name}_{version}.deb"},
        ],
        "properties": [
            {"name": "syft:package:foundBy", "value": "dpkg-db-cataloger"},
            {"name": "syft:package:type", "value": "deb"},
            {"name": "syft:location:0:layerID", "value": "sha256:" + _hex(i)},
            {"name": "syft:location:0:path", "value": f"/usr/share/doc/{name}/copyright"},
        ],
    }


def cyclonedx(n: int) -> tuple[str, Iterator[str], str]:
    head = {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "timestamp": "2024-01-02T03:04:05Z",
            "tools": {"components": [{"type": "application", "name": "syft", "version": "1.0.0"}]},
            "component": {"type": "container", "name": "ghcr.io/acme/app", "version": "sha256:" + _hex(0)},
        },
    }
    deps = json.dumps(
        [{"ref": cyclonedx_component(i)["bom-ref"], "dependsOn": []} for i in range(min(n, 1000))]
    )
    return (
        json.dumps(head)[:-1] + ', "components": [',
        (json.dumps(cyclonedx_component(i)) for i in range(n)),
        f'], "dependencies": {deps}}}',
    )


def spdx(n: int) -> tuple[str, Iterator[str], str]:
    head = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "ghcr.io/acme/app",
        "documentNamespace": "https://anchore.com/syft/image/app-" + _hex(0),
        "creationInfo": {
            "created": "2024-01-02T03:04:05Z",
            "creators": ["Organization: Anchore", "Tool: syft-1.0.0"],
        },
        "documentDescribes": ["SPDXRef-Package-0"],
    }

    def package(i: int) -> str:
        return json.dumps(
            {
                "name": f"package-{i}",
                "SPDXID": f"SPDXRef-Package-{i}",
                "versionInfo": f"{i % 13}.{i % 7}.{i % 5}",
                "supplier": f"Organization: Maintainers of package-{i}",
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "checksums": [{"algorithm": "SHA256", "checksumValue": _hex(i)}],
                "licenseConcluded": "NOASSERTION",
                "licenseDeclared": "GPL-2.0-only",
                "copyrightText": "NOASSERTION",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": f"pkg:deb/debian/package-{i}@{i % 13}.{i % 7}.{i % 5}?arch=amd64",
                    }
                ],
                "primaryPackagePurpose": "LIBRARY" if i else "CONTAINER",
            }
        )

    relations = json.dumps(
        [
            {
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relatedSpdxElement": "SPDXRef-Package-0",
                "relationshipType": "DESCRIBES",
            },
            *(
                {
                    "spdxElementId": "SPDXRef-Package-0",
                    "relatedSpdxElement": f"SPDXRef-Package-{i}",
                    "relationshipType": "CONTAINS",
                }
                for i in range(1, min(n, 1000))
            ),
        ]
    )
    return (
        json.dumps(head)[:-1] + ', "packages": [',
        (package(i) for i in range(n)),
        f'], "relationships": {relations}}}',
    )


def sarif(n: int) -> tuple[str, Iterator[str], str]:
    def result(i: int) -> str:
        return json.dumps(
            {
                "ruleId": f"RULE{i % 200:03d}",
                "level": ("error", "warning", "note")[i % 3],
                "message": {"text": f"Possible issue number {i} found in a call to a risky function"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": f"src/module{i % 500}/file{i}.py"},
                            "region": {"startLine": i % 900 + 1, "startColumn": 5, "endLine": i % 900 + 2},
                        }
                    }
                ],
                "partialFingerprints": {"primaryLocationLineHash": _hex(i)[:32]},
            }
        )

    head = '{"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scanner", "version": "1.0.0"}}, "results": ['
    return head, (result(i) for i in range(n)), "]}]}"


def csaf(n: int) -> tuple[str, Iterator[str], str]:
    document = {
        "category": "csaf_vex",
        "csaf_version": "2.0",
        "publisher": {"category": "vendor", "name": "ACME", "namespace": "https://acme.example"},
        "title": "ACME VEX",
        "tracking": {
            "current_release_date": "2024-01-02T03:04:05Z",
            "id": "ACME-VEX-1",
            "initial_release_date": "2024-01-02T03:04:05Z",
            "revision_history": [{"date": "2024-01-02T03:04:05Z", "number": "1", "summary": "first"}],
            "status": "final",
            "version": "1",
            "generator": {"engine": {"name": "vexer", "version": "1.0"}},
        },
    }

    def vulnerability(i: int) -> str:
        return json.dumps(
            {
                "cve": f"CVE-2024-{i:05d}",
                "notes": [
                    {
                        "category": "description",
                        "text": f"A flaw in component {i} allows a remote attacker to cause a crash",
                    }
                ],
                "product_status": {"known_not_affected": [f"CSAFPID-{i}", f"CSAFPID-{i + 1}"]},
                "flags": [{"label": "vulnerable_code_not_in_execute_path", "product_ids": [f"CSAFPID-{i}"]}],
                "threats": [
                    {
                        "category": "impact",
                        "details": "The vulnerable code is not reachable",
                        "product_ids": [f"CSAFPID-{i}"],
                    }
                ],
            }
        )

    return (
        json.dumps({"document": document})[:-1] + ', "vulnerabilities": [',
        (vulnerability(i) for i in range(n)),
        "]}",
    )


def openvex(n: int) -> tuple[str, Iterator[str], str]:
    def statement(i: int) -> str:
        return json.dumps(
            {
                "vulnerability": {
                    "name": f"CVE-2024-{i:05d}",
                    "aliases": [f"GHSA-{_hex(i)[:4]}-{_hex(i)[4:8]}-{_hex(i)[8:12]}"],
                },
                "timestamp": "2024-01-02T03:04:05Z",
                "products": [{"@id": f"pkg:oci/app@sha256:{_hex(i)}"}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
                "impact_statement": f"Component {i} never calls the affected function",
            }
        )

    head = '{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://acme.example/vex/1", "author": "ACME", "timestamp": "2024-01-02T03:04:05Z", "version": 1, "statements": ['
    return head, (statement(i) for i in range(n)), "]}"


GENERATORS: dict[str, tuple[str, Callable[[int], tuple[str, Iterator[str], str]]]] = {
    "cyclonedx": ("SBOM_CYCLONEDX_JSON", cyclonedx),
    "spdx": ("SBOM_SPDX_JSON", spdx),
    "sarif": ("SARIF", sarif),
    "csaf": ("CSAF_VEX", csaf),
    "openvex": ("OPENVEX", openvex),
}


def write(path: Path, doc: tuple[str, Iterator[str], str]) -> None:
    head, items, tail = doc
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        for i, item in enumerate(items):
            out.write(", " + item if i else item)
        out.write(tail)


def items_for(generator: Callable[[int], tuple[str, Iterator[str], str]], size_mb: float) -> int:
    """How many items make a file of about ``size_mb`` MB."""
    _, items, _ = generator(1000)
    per_item = sum(len(item) + 2 for item in items) / 1000
    return int(size_mb * 1_000_000 / per_item)


def timed_peak(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one command, which must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {cmd}\n{stderr}")
    return elapsed, usage.ru_maxrss / 1024


def measure(
    work: Path, kind: str, path: Path, runs: int, env: dict[str, str]
) -> tuple[float, float, float, float]:
    """(crafter seconds, crafter MiB, baseline seconds, baseline MiB), medians of ``runs``."""
    crafter = crafter_exe()
    ours = [
        timed_peak([crafter, "add", "--name", f"m{i}", "--kind", kind, str(path)], env, work)
        for i in range(runs)
    ]
    base = [timed_peak([PYTHON, "-c", BASELINE, str(path)], env, work) for _ in range(runs)]
    return (
        statistics.median(t for t, _ in ours),
        statistics.median(m for _, m in ours),
        statistics.median(t for t, _ in base),
        statistics.median(m for _, m in base),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=float, default=100)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--kinds", default=",".join(GENERATORS), help="large files of these kinds")
    args = parser.parse_args()
    print(machine())
    print(
        f"{'material':<30} {'size':>8} {'crafter add':>11} {'json.load':>9} {'ratio':>5} "
        f"{'peak':>8} {'json.load':>9} {'peak/size':>9} {'per MB':>14}  goal"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "CRAFTER_STATE_DIR": str(work / "state")}
        subprocess.run(
            [crafter_exe(), "init", "--workflow", "bench", "--project", "bench"],
            env=env,
            cwd=work,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        rows = [(f"cyclonedx {n:,} components", "cyclonedx", n, False) for n in (1_000, 10_000, 50_000)]
        for name in args.kinds.split(","):
            n = items_for(GENERATORS[name][1], args.size_mb)
            rows.append((f"{name} {n:,} items", name, n, True))
        for label, name, n, large in rows:
            kind, generator = GENERATORS[name]
            path = work / f"{name}-{n}.json"
            write(path, generator(n))
            size_mb = path.stat().st_size / 1_000_000
            seconds, peak, base_seconds, base_peak = measure(work, kind, path, args.runs, env)
            times = peak * 1.048576 / size_mb  # peak bytes per byte of the file
            goal = ""
            if large:
                met = seconds <= TIME_GOAL and times <= MEMORY_GOAL
                goal = f"<= {TIME_GOAL:.0f} s and <= {MEMORY_GOAL:.0f} x: {'met' if met else 'NOT met'}"
            print(
                f"{label:<30} {size_mb:6.1f} MB {seconds:9.2f} s {base_seconds:7.2f} s {seconds / base_seconds:5.2f} "
                f"{peak:5.0f} MiB {base_peak:5.0f} MiB {times:8.1f}x {seconds / size_mb * 1000:4.0f} ms {peak / size_mb:4.1f} MiB  {goal}"
            )
            path.unlink()


if __name__ == "__main__":
    main()
