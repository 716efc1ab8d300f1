"""The state journal: adds append records beside the snapshot; readers fold them; a record torn by a crash is
ignored with a warning; a compaction killed at any step leaves the whole state, never a record applied twice."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crafter._internal.crafting_state import CraftingState
from crafter._internal.policy_record import PolicyEvaluation, PolicyReference
from crafter._internal.state_store import COMPACT_RECORDS, JOURNAL_MIN_BYTES, StateStore, scan_journal
from crafter.errors import StateError
from tests.core.test_state import make_state, string_material

#: Enough materials for a snapshot past JOURNAL_MIN_BYTES, so that adds go to the journal.
BIG = 1000


def big_store(tmp_path: Path) -> StateStore:
    store = StateStore(tmp_path / "st")
    store.create(make_state("a1", {f"pre{i}": string_material(f"pre{i}", "x" * 40) for i in range(BIG)}))
    assert store.path_of("a1").stat().st_size >= JOURNAL_MIN_BYTES
    return store


def evaluation(material: str, policy: str = "p") -> PolicyEvaluation:
    return PolicyEvaluation(
        name=policy, type="STRING", reference=PolicyReference(policy), material_name=material
    )


def names(state: CraftingState) -> set[str]:
    return set(state.attestation.materials) - {f"pre{i}" for i in range(BIG)}


def test_adds_append_to_the_journal_and_readers_fold_it(tmp_path: Path) -> None:
    store = big_store(tmp_path)
    snapshot = store.path_of("a1").read_bytes()
    store.append("a1", [string_material("m1", "one")], {"m1": [evaluation("m1")]})
    store.append("a1", [string_material("m2")], {"m2": []})
    store.append("a1", [string_material("m1", "again")], {"m1": [evaluation("m1", "q")]})
    assert store.path_of("a1").read_bytes() == snapshot  # the snapshot is not rewritten
    scan = scan_journal(store.journal_of("a1").read_bytes(), Path("j"))
    assert [r["seq"] for r in scan.records] == [1, 2, 3] and not scan.torn
    state = StateStore(tmp_path / "st").load("a1")
    assert names(state) == {"m1", "m2"}
    assert state.attestation.materials["m1"].value == "again"  # the later record wins
    assert state.attestation.policy_evaluations == (evaluation("m1", "q"),)
    # The same state as the same changes made by rewriting the snapshot.
    expected = make_state().with_added([string_material("m1", "one")], {"m1": [evaluation("m1")]})
    expected = expected.with_added([string_material("m2")], {"m2": []})
    expected = expected.with_added([string_material("m1", "again")], {"m1": [evaluation("m1", "q")]})
    assert {k: v for k, v in state.attestation.materials.items() if not k.startswith("pre")} == dict(
        expected.attestation.materials
    )


def test_compaction_folds_the_journal_into_the_snapshot(tmp_path: Path) -> None:
    store = big_store(tmp_path)
    for i in range(COMPACT_RECORDS - 1):
        store.append("a1", [string_material(f"m{i}")], {})
    assert store.journal_of("a1").exists()
    before = store.load("a1")
    store.append("a1", [string_material("last")], {})  # the 64th record: folded
    assert not store.journal_of("a1").exists()
    assert names(store.load("a1")) == names(before) | {"last"}
    store.append("a1", [string_material("after")], {})  # numbering goes on from the snapshot
    assert (
        scan_journal(store.journal_of("a1").read_bytes(), Path("j")).records[0]["seq"] == COMPACT_RECORDS + 1
    )
    assert "after" in store.load("a1").attestation.materials


def test_small_snapshots_are_rewritten_without_a_journal(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.create(make_state("a1"))
    store.append("a1", [string_material("m")], {})
    assert not store.journal_of("a1").exists() and names(store.load("a1")) == {"m"}


def _two_records(tmp_path: Path) -> tuple[StateStore, bytes, int]:
    store = big_store(tmp_path)
    store.append("a1", [string_material("m1")], {})
    first = store.journal_of("a1").stat().st_size
    store.append("a1", [string_material("m2")], {})
    return store, store.journal_of("a1").read_bytes(), first


@pytest.mark.parametrize("cut", ["header", "body", "zeroed"])
def test_a_torn_last_record_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, cut: str
) -> None:
    store, data, first = _two_records(tmp_path)
    journal = store.journal_of("a1")
    if cut == "header":
        journal.write_bytes(data[: first + 5])
    elif cut == "body":
        journal.write_bytes(data[:-20])
    else:  # the record's full length, as blocks a crash left unwritten
        journal.write_bytes(data[:first] + b"\0" * (len(data) - first))
    with caplog.at_level(logging.WARNING, logger="crafter"):
        state = store.load("a1")
    assert names(state) == {"m1"}
    assert "incomplete" in caplog.text and str(journal) in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="crafter"):
        store.append("a1", [string_material("m3")], {})  # cuts the torn record off, then appends
    assert "removed an incomplete last record" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="crafter"):
        assert names(store.load("a1")) == {"m1", "m3"}
    assert caplog.text == ""
    assert [r["seq"] for r in scan_journal(journal.read_bytes(), journal).records] == [1, 2]


def test_a_bad_record_before_others_is_corruption(tmp_path: Path) -> None:
    store, data, first = _two_records(tmp_path)
    journal = store.journal_of("a1")
    damaged = data[: first - 10] + b"X" + data[first - 9 :]  # the first record's body, the second intact
    journal.write_bytes(damaged)
    with pytest.raises(StateError, match="journal is corrupted"):
        store.load("a1")
    with pytest.raises(StateError, match="journal is corrupted"):
        store.append("a1", [string_material("m3")], {})
    assert journal.read_bytes() == damaged  # never overwritten


KILL_COMPACTION = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import crafter._internal.state_store as st

    step = sys.argv[2]
    real_replace, real_sync = os.replace, st._sync_dir

    def replace(src, dst):
        if step == "before-rename":
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)
        if step == "after-rename":
            os.kill(os.getpid(), signal.SIGKILL)

    def sync(directory):
        real_sync(directory)
        if step == "after-unlink":
            os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace
    st._sync_dir = sync
    st.StateStore(Path(sys.argv[1])).compact("a1")
    """
)


@pytest.mark.parametrize("step", ["before-rename", "after-rename", "after-unlink"])
def test_compaction_killed_at_each_step_keeps_every_record_once(tmp_path: Path, step: str) -> None:
    store = big_store(tmp_path)
    store.append("a1", [string_material("m1", "one")], {"m1": [evaluation("m1")]})
    store.append("a1", [string_material("m2")], {"m2": [evaluation("m2")]})
    store.append("a1", [string_material("m1", "two")], {"m1": [evaluation("m1", "q")]})
    expected = store.load("a1")
    done = subprocess.run([sys.executable, "-c", KILL_COMPACTION, str(tmp_path / "st"), step], timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert store.load("a1") == expected  # nothing lost, nothing applied twice
    assert store.journal_of("a1").exists() == (step != "after-unlink")
    store.append("a1", [string_material("m3")], {"m3": [evaluation("m3")]})
    state = store.load("a1")
    assert names(state) == {"m1", "m2", "m3"}
    assert [e.material_name for e in state.attestation.policy_evaluations] == ["m2", "m1", "m3"]
    store.compact("a1")
    assert not store.journal_of("a1").exists() and store.load("a1") == state


def test_delete_removes_the_journal(tmp_path: Path) -> None:
    store = big_store(tmp_path)
    store.append("a1", [string_material("m1")], {})
    store.delete("a1")
    assert list((tmp_path / "st" / "attestations").iterdir()) == []


def test_update_folds_the_journal(tmp_path: Path) -> None:
    store = big_store(tmp_path)
    store.append("a1", [string_material("m1")], {})
    new = store.update("a1", lambda s: s.with_material(string_material("m2")))
    assert names(new) == {"m1", "m2"} and not store.journal_of("a1").exists()
    assert store.load("a1") == new


def test_a_store_reading_again_sees_every_change_made_elsewhere(tmp_path: Path) -> None:
    reader, writer = big_store(tmp_path), StateStore(tmp_path / "st")
    assert names(reader.load("a1")) == set()
    writer.append("a1", [string_material("m1")], {})
    assert names(reader.load("a1")) == {"m1"}  # the new record, folded into the state read before
    writer.compact("a1")
    writer.append("a1", [string_material("m2")], {})
    assert names(reader.load("a1")) == {"m1", "m2"}  # a new snapshot: read whole
    writer.update("a1", lambda s: s.with_added([string_material("m1", "changed")], {}))
    assert reader.load("a1").attestation.materials["m1"].value == "changed"
    assert reader.load("a1") == StateStore(tmp_path / "st").load("a1")


def test_what_an_add_builds_on_holds_no_materials_but_their_names(tmp_path: Path) -> None:
    store = big_store(tmp_path)
    store.append("a1", [string_material("m1", "one")], {"m1": [evaluation("m1")]})
    base = store.load_base("a1")
    whole = store.load("a1")
    # Everything but the materials is the state as loaded whole; the names are every recorded one.
    assert base.recorded == frozenset(whole.attestation.materials)
    assert set(base.state.attestation.materials) <= {"m1"}  # the journal's, not the snapshot's 1,000
    assert base.state.attestation.workflow == whole.attestation.workflow
    assert base.state.contract == whole.contract
    # A state file that is not valid JSON is still the error it always was.
    store.path_of("a1").write_bytes(b"{not json")
    with pytest.raises(StateError, match="not valid JSON"):
        store.load_base("a1")


def test_an_add_says_when_it_replaces_a_recorded_material(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from crafter._internal.crafter import Crafter

    c = Crafter(state_dir=tmp_path / "st", cwd=tmp_path, environ={})
    c.init(project="p")
    c.add(["one"], name="note")
    with caplog.at_level(logging.INFO, logger="crafter"):
        c.add(["two"], name="note")
    assert "material note already set, overriding it" in caplog.text
    assert c.status().state.attestation.materials["note"].value == "two"
