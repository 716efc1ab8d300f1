"""Make docs/report.png: the HTML report of the demo release (verified with its release file and contract),
as headless Chromium shows it. Run: ``python -m tests.report.screenshot [OUT.png]``."""

from __future__ import annotations

import base64
import os
import sys
import tempfile
from pathlib import Path

from crafter.report import render_html, report_bundle
from crafter.signing.keys import public_key_from_pem
from tests.report import browser
from tests.report.conftest import ROOT, make_release


def main(out: Path) -> None:
    reason = browser.missing()
    if reason:
        raise SystemExit(reason)
    with tempfile.TemporaryDirectory() as tmp:
        release = make_release(Path(tmp) / "demo")
        os.chdir(release.work)  # the report names the bundle as given: a relative path reads better
        made = report_bundle(
            "hello-1.0.0.sigstore.json",
            public_key=public_key_from_pem(release.pub),
            materials=[Path("hello-1.0.0.py")],
            contract=Path("contract.yaml"),
        )
        page = release.work / "report.html"
        page.write_text(render_html(made))
        with browser.chromium(960, 1500) as driver:
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": 960, "height": 1500, "deviceScaleFactor": 1, "mobile": False},
            )
            driver.get(page.as_uri())
            shot = driver.execute_cdp_cmd(
                "Page.captureScreenshot",
                {"format": "png", "clip": {"x": 0, "y": 0, "width": 960, "height": 1500, "scale": 1}},
            )
        out.write_bytes(base64.b64decode(shot["data"]))
    print(f"{out}: {out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "report.png")
