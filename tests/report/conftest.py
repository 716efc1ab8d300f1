"""Bundles to report on (the demo release, a hostile one, a failing one) and the browser the HTML report's
tests drive. Missing tools skip the tests that need them, except in CI (``CI`` set), where they fail:
``.ci/run`` installs Chromium, chromedriver and the npm packages."""

from __future__ import annotations

import base64
import copy
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from crafter import Crafter
from crafter._internal.signing.bundle import sign_statement, write_bundle
from crafter._internal.signing.keys import generate_key_pair, load_signer
from crafter._internal.statement import serialize
from tests.report import browser

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
DEMO_FILES = ("contract.yaml", "sbom.cdx.json", "junit.xml", "hello-1.0.0.py")
AXE = ROOT / "tests" / "interop" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "demo-password"

#: What a hostile producer writes into names, annotations and messages.
HOSTILE = (
    "<script>alert(1)</script>",
    "a | b || c",
    "`code` ``more``",
    "line1\nline2\r\n# heading",
    "</code></td></tr></table><img src=x onerror=alert(2)>",
    "[link](https://evil.example) ![img](https://evil.example/x.png) <https://evil.example>",
    "@octocat #1 $x^2$ **bold** _em_ ~~s~~",
    "\u202egnp.exe\u200b",
    "&lt;b&gt; &amp; \\| \\",
)


def require(reason: str) -> None:
    """Skip (fail in CI) when ``reason`` says something is missing."""
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (required in CI)")
        pytest.skip(reason)


@attrs.frozen
class Release:
    """The demo release, signed: its directory holds the demo files, ``release.key``/``release.pub`` and
    ``hello-1.0.0.sigstore.json``."""

    work: Path

    @property
    def bundle(self) -> Path:
        return self.work / "hello-1.0.0.sigstore.json"

    @property
    def pub(self) -> Path:
        return self.work / "release.pub"

    def statement(self) -> dict[str, Any]:
        doc = json.loads(self.bundle.read_text())
        return json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))  # type: ignore[no-any-return]

    def resign(self, name: str, edit: Callable[[dict[str, Any]], None]) -> Path:
        """A bundle of the demo statement after ``edit``, validly signed with the release key."""
        statement = copy.deepcopy(self.statement())
        edit(statement)
        signer = load_signer(str(self.work / "release.key"), lambda: PASSWORD.encode())
        target = self.work / name
        write_bundle(target, sign_statement(serialize(statement), signer))
        return target


def make_release(work: Path) -> Release:
    """Sign the demo attestation (the files of examples/demo) in ``work``, as docs/report.md expects it."""
    work.mkdir(parents=True, exist_ok=True)
    for name in DEMO_FILES:
        shutil.copy(DEMO / name, work / name)
    generate_key_pair(work / "release", PASSWORD.encode())
    c = Crafter(state_dir=work / "state", cwd=work, environ={"PATH": "/usr/bin:/bin"})
    c.init(contract=work / "contract.yaml", project="hello", version="1.0.0")
    c.add([str(work / "sbom.cdx.json")], name="sbom")
    c.add([str(work / "junit.xml")], name="tests")
    c.add([str(work / "hello-1.0.0.py")], name="release-file")
    c.add(["demo-build-42"], name="build-ref")
    c.push(
        key=str(work / "release.key"), password=PASSWORD.encode(), bundle=work / "hello-1.0.0.sigstore.json"
    )
    shutil.rmtree(work / "state")
    return Release(work)


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    return make_release(tmp_path_factory.mktemp("report") / "release")


def hostile_edit(statement: dict[str, Any]) -> None:
    """Hostile values everywhere the producer writes text: material names, values and annotations, a
    violation, a skip reason, environment variables, annotations, git metadata."""
    p = statement["predicate"]
    for i, m in enumerate(p["materials"]):
        m["annotations"][f"note{i}"] = HOSTILE[i % len(HOSTILE)]
        m["annotations"]["x<script>"] = "|".join(HOSTILE)
    p["materials"][1]["name"] = HOSTILE[0] + HOSTILE[1]
    p["materials"][2]["annotations"]["chainloop.material.name"] = HOSTILE[3]
    evaluation = p["policyEvaluations"]["sbom"][0]
    evaluation["violations"] = [{"subject": HOSTILE[4], "message": HOSTILE[5]}]
    p["policyEvaluations"]["tests"][0]["skipped"] = True
    p["policyEvaluations"]["tests"][0]["skipReasons"] = [HOSTILE[6]]
    p["policyHasViolations"] = True
    p["policyViolationsCount"] = 1
    p["env"] = {f"HOSTILE_{i}": h for i, h in enumerate(HOSTILE)}
    p["annotations"] = {h: h for h in HOSTILE}
    statement["subject"].append(
        {
            "name": "git.head",
            "digest": {"sha1": "a" * 40},
            "annotations": {"message": HOSTILE[2], "branch": HOSTILE[7]},
        }
    )


@pytest.fixture(scope="session")
def hostile(release: Release) -> Path:
    return release.resign("hostile.sigstore.json", hostile_edit)


@pytest.fixture(scope="session")
def chrome() -> Iterator[Any]:
    """One headless Chromium for the session's browser tests."""
    require(browser.missing())
    with browser.chromium() as driver:
        yield driver


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        require(f"{AXE} not found (cd tests/interop && npm ci)")
    return AXE.read_text()
