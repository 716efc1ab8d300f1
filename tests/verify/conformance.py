"""The sigstore-conformance ``bundle-verify`` suite: where it lives, its cases, and the ``crafter verify``
arguments its harness would pass for a case (see test_conformance.py)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.conftest import SHARED

SUITE = SHARED / "sigstore-conformance" / "bundle-verify"
IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
    "extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
ISSUER = "https://token.actions.githubusercontent.com"


def cases() -> list[str]:
    """The case names, for parametrising; one placeholder when the suite is absent (its test then skips)."""
    if not SUITE.is_dir():
        return ["(suite absent)"]
    return sorted(p.name for p in SUITE.iterdir() if (p / "bundle.sigstore.json").is_file())


def case_dir(name: str) -> Path:
    """The case's directory; skips the test where the suite is absent (fails in CI)."""
    if not SUITE.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the sigstore-conformance suite is missing in CI: {SUITE}")
        pytest.skip(
            f"sigstore-conformance suite not found at {SUITE}"
            " (set CRAFTER_SHARED_TESTDATA to the directory holding sigstore-conformance/; see README.md)"
        )
    return SUITE / name


def arguments(case: Path, *, digest: bool) -> list[str]:
    """``crafter verify`` arguments for ``case``, as the suite's harness passes them to a client."""
    artifact = case / "artifact" if (case / "artifact").exists() else SUITE / "a.txt"
    material = "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest() if digest else str(artifact)
    args = ["verify", str(case / "bundle.sigstore.json"), "--material", material]
    if (case / "key.pub").exists():
        args += ["--key", str(case / "key.pub")]
    else:
        identity = (case / "identity").read_text().strip() if (case / "identity").exists() else IDENTITY
        issuer = (case / "issuer").read_text().strip() if (case / "issuer").exists() else ISSUER
        args += ["--certificate-identity", identity, "--certificate-oidc-issuer", issuer]
    if (case / "trusted_root.json").exists():
        args += ["--trusted-root", str(case / "trusted_root.json")]
    return args
