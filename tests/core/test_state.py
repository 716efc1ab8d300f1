"""The state store: versioned files, atomic replacement, locking, and never losing a material."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crafter._internal.crafting_state import Attestation, CraftingState, Material, WorkflowMetadata
from crafter._internal.materials.interface import ImageInfo, MainComponent
from crafter._internal.state_store import StateStore, decode_state, encode_state
from crafter.errors import StateError


def make_state(aid: str = "a1", materials: dict[str, Material] | None = None) -> CraftingState:
    return CraftingState(
        contract={"schemaVersion": "v1"},
        attestation=Attestation(
            initialized_at="2026-01-01T00:00:00.000000000Z",
            workflow=WorkflowMetadata(name="wf", project="p", workflow_run_id=aid),
            materials=materials or {},
        ),
    )


def string_material(name: str, value: str = "v") -> Material:
    return Material(name=name, kind="STRING", added_at="t", value=value, digest="sha256:" + "0" * 64)


def test_create_load_update_delete(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "st")
    path = store.create(make_state())
    store.set_current("a1")
    assert store.resolve(None) == "a1"
    assert (tmp_path / "st" / ".gitignore").read_text().splitlines()[-1] == "*"
    doc = json.loads(path.read_text())
    assert (doc["format"], doc["version"]) == ("crafter-state", 1)
    new = store.update("a1", lambda s: s.with_material(string_material("m")))
    assert store.load("a1") == new
    assert list(store.load("a1").attestation.materials) == ["m"]
    store.delete("a1")
    assert store.current_id() is None
    with pytest.raises(StateError, match="no attestation in progress"):
        store.resolve(None)


def test_several_attestations_in_progress(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    for aid in ("a1", "a2", "a3"):
        store.create(make_state(aid))
    assert [e.attestation_id for e in store.entries()] == ["a1", "a2", "a3"]
    with pytest.raises(StateError, match="already exists"):
        store.create(make_state("a2"))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "state file is corrupted"),
        (b'{"hello": "world"}', "not a crafter state file"),
        (b'{"format": "crafter-state", "version": 99, "state": {}}', "version 99 is not supported"),
        (b'{"format": "crafter-state", "version": 1, "state": {}}', "malformed"),
    ],
)
def test_corrupt_or_foreign_state_is_reported_and_never_overwritten(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    store = StateStore(tmp_path)
    store.create(make_state("a1"))
    path = store.path_of("a1")
    path.write_bytes(content)
    with pytest.raises(StateError) as err:
        store.update("a1", lambda s: s.with_material(string_material("m")))
    assert str(path) in err.value.message and expected in err.value.message
    assert path.read_bytes() == content  # untouched
    entry = store.entries()[0]
    assert entry.state is None and entry.error is not None and expected in entry.error
    store.delete("a1")  # an explicit reset still discards it
    assert not path.exists()


def test_invalid_attestation_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="invalid attestation id"):
        StateStore(tmp_path).path_of("../../etc/passwd")


materials_strategy = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True),
    st.tuples(st.text(max_size=40), st.booleans()),
    max_size=5,
)


@settings(max_examples=50, deadline=None)
@given(materials_strategy)
def test_state_round_trip(items: dict[str, tuple[str, bool]]) -> None:
    materials: dict[str, Material] = {}
    for i, (name, (value, flag)) in enumerate(items.items()):
        if i % 3 == 0:
            materials[name] = string_material(name, value)
        elif i % 3 == 1:
            materials[name] = Material(
                name=name,
                kind="CONTAINER_IMAGE",
                added_at="t",
                digest="sha256:" + "a" * 64,
                image=ImageInfo(name="ghcr.io/x/y", tag=value or None, has_latest_tag=flag),
                output=flag,
                annotations={"k": value},
            )
        else:
            materials[name] = Material(
                name=name,
                kind="SBOM_CYCLONEDX_JSON",
                added_at="t",
                digest="sha256:" + "b" * 64,
                filename=value or "f",
                main_component=MainComponent(name=value, version="1", kind="application"),
                required=flag,
            )
    state = make_state(materials=materials)
    assert decode_state(encode_state(state), Path("x")) == state


# -- processes ------------------------------------------------------------------------------------------


def crafter_cmd(state_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "crafter._internal.cli.main", "--state-dir", str(state_dir), *args]


def run_crafter(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(crafter_cmd(state_dir, *args), capture_output=True, text=True, timeout=120)


def preload(state_dir: Path, big: bool) -> set[str]:
    """With ``big``, 1,000 materials first: the snapshot is then large enough for adds to go to the journal."""
    if not big:
        return set()
    store = StateStore(state_dir)
    names = {f"pre{i}" for i in range(1000)}
    store.update(
        store.resolve(None), lambda s: s.with_materials([string_material(n, "x" * 40) for n in names])
    )
    return names


@pytest.mark.parametrize("big", [False, True], ids=["snapshot", "journal"])
def test_32_parallel_adds_lose_nothing(tmp_path: Path, big: bool) -> None:
    state_dir = tmp_path / "state"
    assert run_crafter(state_dir, "init", "--workflow", "w", "--project", "p").returncode == 0
    pre = preload(state_dir, big)
    procs = [
        subprocess.Popen(
            crafter_cmd(state_dir, "add", "--kind", "STRING", "--name", f"m{i}", "--value", f"value-{i}"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(32)
    ]
    errors = [p.communicate(timeout=180)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 32, errors
    store = StateStore(state_dir)
    state = store.load(store.resolve(None))
    assert sorted(state.attestation.materials) == sorted([*pre, *(f"m{i}" for i in range(32))])
    assert state.attestation.materials["m7"].value == "value-7"
    assert store.journal_of(store.resolve(None)).exists() == big


@pytest.mark.parametrize("big", [False, True], ids=["snapshot", "journal"])
def test_sigkill_at_random_moments_leaves_a_valid_state(tmp_path: Path, big: bool) -> None:
    state_dir = tmp_path / "state"
    assert run_crafter(state_dir, "init", "--workflow", "w", "--project", "p").returncode == 0
    preload(state_dir, big)
    store = StateStore(state_dir)
    aid = store.resolve(None)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 << 20))
    rng = random.Random(20261125)
    previous = set(store.load(aid).attestation.materials)
    kills = i = 0
    while kills < 20 and i < 100:
        i += 1
        proc = subprocess.Popen(
            crafter_cmd(state_dir, "add", "--kind", "ARTIFACT", "--name", f"a{i}", "--value", str(big)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        current = set(store.load(aid).attestation.materials)  # raises if the file is not valid
        assert current in (previous, previous | {f"a{i}"})
        previous = current
        leftovers = [p for p in (state_dir / "attestations").iterdir() if p.suffix == ".tmp"]
        for p in leftovers:  # a killed writer may leave its temp file; never the state file itself
            assert p.name.startswith(f".{aid}.json.")
    assert kills >= 20
