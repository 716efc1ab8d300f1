"""Auto-detection of OCI image layout directories: one image is a CONTAINER_IMAGE; several are refused
with the digests to pick from and how (``DIR@sha256:...``), not as "a directory"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crafter._internal.materials.detect import detect_kind
from crafter._internal.materials.interface import CraftOptions
from crafter._internal.materials.registry import default_registry
from crafter.errors import ExitCode, MaterialError
from tests.conftest import run_cli

DIGESTS = ["sha256:" + c * 64 for c in "ab"]


def layout(tmp_path: Path, digests: list[str], index: str | None = None) -> Path:
    path = tmp_path / "layout"
    path.mkdir()
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    manifests = [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": 1} for d in digests
    ]
    (path / "index.json").write_text(index if index is not None else json.dumps({"manifests": manifests}))
    return path


def test_a_layout_of_several_images_says_how_many_and_how_to_pick_one(tmp_path: Path) -> None:
    path = layout(tmp_path, DIGESTS)
    with pytest.raises(MaterialError) as info:
        detect_kind(str(path), default_registry(), CraftOptions())
    assert "contains 2 images" in info.value.message
    assert all(d in info.value.message for d in DIGESTS)
    assert "not an OCI image layout" not in info.value.message
    assert info.value.hint == f"e.g. {path}@{DIGESTS[0]}"
    picked = detect_kind(f"{path}@{DIGESTS[1]}", default_registry(), CraftOptions())
    assert picked.kind == "CONTAINER_IMAGE" and picked.digest == DIGESTS[1]


def test_a_broken_layout_says_what_is_wrong_with_it(tmp_path: Path) -> None:
    path = layout(tmp_path, [], index="{}")
    with pytest.raises(MaterialError, match="no manifests list"):
        detect_kind(str(path), default_registry(), CraftOptions())


def test_a_plain_directory_is_still_a_directory(tmp_path: Path) -> None:
    with pytest.raises(MaterialError, match="is a directory, and not an OCI image layout"):
        detect_kind(str(tmp_path), default_registry(), CraftOptions())


def test_cli_exit_code_6(tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = layout(tmp_path, DIGESTS)
    assert run_cli(capsys, "init", "--project", "p")[0] == 0
    code, _, err = run_cli(capsys, "add", "--value", str(path))
    assert code == ExitCode.MATERIAL == 6
    assert "contains 2 images" in err
