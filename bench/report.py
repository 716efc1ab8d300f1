"""The HTML report of an attestation with 10,000 materials, opened and filtered in headless Chromium, against
the same report with 100 materials in the same run.

Prints, for each size: the time to write the report (verify + render, in Python), its size, the time Chromium
takes to open it (navigation to the load event, then a forced layout) and to filter the materials table (a
query typed into the filter box until the next frame). Goal: the 10,000-material report opens and filters in
under 2 s. Also the Markdown size of the large report (GitHub's job-summary limit is 1 MiB).
Usage: ``python bench/report.py [--materials 10000] [--baseline 100] [--runs 3]``. Needs Chromium and
chromedriver (/usr/bin/chromium, /usr/bin/chromedriver) and selenium (the dev extra).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crafter import Crafter  # noqa: E402
from crafter._internal.signing.bundle import sign_statement, write_bundle  # noqa: E402
from crafter._internal.signing.keys import generate_key_pair, load_signer, public_key_from_pem  # noqa: E402
from crafter._internal.statement import serialize  # noqa: E402
from crafter.report import render_html, render_markdown, report_bundle  # noqa: E402
from tests.report import browser  # noqa: E402

DEMO = ROOT / "examples" / "demo"
KINDS = ("ARTIFACT", "SBOM_CYCLONEDX_JSON", "JUNIT_XML", "CONTAINER_IMAGE", "STRING")


def demo_statement(work: Path) -> dict[str, Any]:
    """The demo release's statement, signed once to get a real one."""
    generate_key_pair(work / "release", b"pw")
    c = Crafter(state_dir=work / "state", cwd=work, environ={"PATH": "/usr/bin:/bin"})
    c.init(contract=DEMO / "contract.yaml", project="hello", version="1.0.0")
    c.add([str(DEMO / "sbom.cdx.json")], name="sbom")
    c.add([str(DEMO / "junit.xml")], name="tests")
    c.add([str(DEMO / "hello-1.0.0.py")], name="release-file")
    bundle = c.push(
        key=str(work / "release.key"), password=b"pw", bundle=work / "demo.sigstore.json"
    ).bundle_path
    payload = json.loads(bundle.read_text())["dsseEnvelope"]["payload"]
    return json.loads(base64.b64decode(payload))  # type: ignore[no-any-return]


def bundle_with(work: Path, statement: dict[str, Any], count: int) -> Path:
    """A signed bundle of ``statement`` with ``count`` materials (three annotations each)."""
    materials = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        materials.append(
            {
                "name": f"component-{i:05d}.tar.gz",
                "digest": {"sha256": hashlib.sha256(str(i).encode()).hexdigest()},
                "annotations": {
                    "chainloop.material.name": f"material-{i:05d}",
                    "chainloop.material.type": kind,
                    "chainloop.material.size": str(1000 + i),
                    "team": f"team-{i % 17}",
                },
            }
        )
    edited = json.loads(json.dumps(statement))
    edited["predicate"]["materials"] = materials
    target = work / f"bundle-{count}.sigstore.json"
    write_bundle(
        target, sign_statement(serialize(edited), load_signer(str(work / "release.key"), lambda: b"pw"))
    )
    return target


def measure(driver: Any, page: Path) -> tuple[float, float]:
    """Seconds to open ``page`` (load event, then layout) and to filter its materials table."""
    start = time.perf_counter()
    driver.get(page.as_uri())
    driver.execute_script("return document.body.getBoundingClientRect().height")  # layout done
    opened = time.perf_counter() - start
    filtered = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const box = document.getElementById('materials-filter');
        const t0 = performance.now();
        box.value = 'team-3 artifact';
        box.dispatchEvent(new Event('input'));
        requestAnimationFrame(() => requestAnimationFrame(() => {
          document.body.getBoundingClientRect();
          const seconds = (performance.now() - t0) / 1000;
          done([seconds, document.getElementById('materials-count').textContent]);
        }));
        """
    )
    seconds, count = filtered
    if " of " not in count:
        raise SystemExit(f"the filter did not run: {count!r}")
    return opened, float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--materials", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    reason = browser.missing()
    if reason:
        raise SystemExit(reason)
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        statement = demo_statement(work)
        key = public_key_from_pem(work / "release.pub")
        figures = {}
        with browser.chromium() as driver:
            for count in (args.baseline, args.materials):
                bundle = bundle_with(work, statement, count)
                start = time.perf_counter()
                report = report_bundle(str(bundle), public_key=key)
                page = work / f"report-{count}.html"
                page.write_text(render_html(report))
                written = time.perf_counter() - start
                runs = [measure(driver, page) for _ in range(args.runs)]
                opened = statistics.median(r[0] for r in runs)
                filtered = statistics.median(r[1] for r in runs)
                figures[count] = (opened, filtered)
                print(
                    f"{count:>6} materials: report written in {written:6.3f} s ({page.stat().st_size / 1e6:5.2f} MB); "
                    f"Chromium opens it in {opened:6.3f} s, filters in {filtered:6.3f} s "
                    f"(median of {args.runs})"
                )
                if count == args.materials:
                    size = len(render_markdown(report).encode())
                    print(
                        f"{'':>6} Markdown of the same report: {size / 1024:7.1f} KiB (GitHub's limit: 1024 KiB)"
                    )
        big, base = figures[args.materials], figures[args.baseline]
        total = big[0] + big[1]
        print(
            f"open + filter, {args.materials} materials: {total:.3f} s vs {base[0] + base[1]:.3f} s for "
            f"{args.baseline} (ratio {total / (base[0] + base[1]):.1f}); goal < 2 s: "
            f"{'met' if total < 2 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
