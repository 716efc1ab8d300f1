"""The public Python API (tools/apidoc.py's PUBLIC_API) changes only on purpose: its names and signatures are
compared with the committed snapshot tests/core/public_api.txt, and docs/api.md with what the code gives."""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path

import pytest

from tools import apidoc

HOW_TO_UPDATE = (
    "if the change is deliberate, run `python -m tools.apidoc` and commit tests/core/public_api.txt and "
    "docs/api.md with it (and say so in the change's notes: scripts use these names)"
)


def mismatch(path: Path, expected: str, actual: str) -> str:
    """What a test says when ``path`` no longer holds what the code gives: the difference, and the way out."""
    diff = difflib.unified_diff(
        expected.splitlines(),
        actual.splitlines(),
        f"{path.name} (committed)",
        f"{path.name} (the code)",
        lineterm="",
    )
    return f"the public API differs from {path.name}:\n" + "\n".join(diff) + f"\n{HOW_TO_UPDATE}"


def test_public_names_and_signatures_are_the_snapshot() -> None:
    committed = apidoc.SNAPSHOT.read_text(encoding="utf-8")
    actual = apidoc.snapshot()
    assert actual == committed, mismatch(apidoc.SNAPSHOT, committed, actual)


def test_api_reference_is_up_to_date() -> None:
    committed = apidoc.API_DOC.read_text(encoding="utf-8")
    actual = apidoc.markdown()
    assert actual == committed, mismatch(apidoc.API_DOC, committed, actual)


def test_import_crafter_exports_what_the_reference_lists() -> None:
    import crafter

    assert sorted(crafter.__all__) == sorted(apidoc.PUBLIC_API["crafter"])
    for name in crafter.__all__:
        assert getattr(crafter, name) is not None


def test_public_names_are_in_their_module_all() -> None:
    for module, names in apidoc.PUBLIC_API.items():
        exported = getattr(importlib.import_module(module), "__all__", None)
        missing = [name for name in names if exported is not None and name not in exported]
        assert not missing, f"{module}.__all__ lacks public names {missing}"


def test_a_changed_signature_is_caught_and_says_how_to_update(monkeypatch: pytest.MonkeyPatch) -> None:
    import crafter.signing.keys as keys

    before = apidoc.snapshot()

    def generate_key_pair(prefix: Path, password: bytes, *, curve: str = "p256") -> tuple[Path, Path]:
        raise AssertionError("never called")

    monkeypatch.setattr(keys, "generate_key_pair", generate_key_pair)
    after = apidoc.snapshot()
    assert after != before
    message = mismatch(apidoc.SNAPSHOT, before, after)
    assert (
        "-def crafter.signing.keys.generate_key_pair(prefix: Path, password: bytes) -> tuple[Path, Path]"
        in message
    )
    assert (
        "+def crafter.signing.keys.generate_key_pair(prefix: Path, password: bytes, *, curve: str = 'p256') "
        "-> tuple[Path, Path]" in message
    )
    assert message.endswith(HOW_TO_UPDATE)


def test_check_mode_reports_a_stale_page_without_writing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "api.md"
    stale.write_text("# old\n")
    snapshot = tmp_path / "public_api.txt"
    snapshot.write_text(apidoc.snapshot())
    monkeypatch.setattr(apidoc, "ROOT", tmp_path)
    monkeypatch.setattr(apidoc, "API_DOC", stale)
    monkeypatch.setattr(apidoc, "SNAPSHOT", snapshot)
    assert apidoc.main(["--check"]) == 1
    assert stale.read_text() == "# old\n"
    assert "out of date: api.md; run python -m tools.apidoc" in capsys.readouterr().err
    assert apidoc.main([]) == 0
    assert stale.read_text() == apidoc.markdown()
    assert apidoc.main(["--check"]) == 0
