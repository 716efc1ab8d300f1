"""Crafting across many machines: ``export`` writes parts, ``merge`` folds them into one attestation.

Each "runner" is its own working directory and state directory, initialised against the same contract, as the
jobs of a CI matrix are; the merging job has its own state too.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from crafter import Crafter
from crafter._internal.parts import MergeConflictError, PartError, read_part
from crafter.errors import ContractError, ExitCode
from crafter.signing.keys import generate_key_pair, public_key_from_pem
from tests.conftest import ROOT, run_cli

DEMO = ROOT / "examples" / "demo"

CONTRACT = """\
schemaVersion: v1
materials:
  - name: release-file
    type: ARTIFACT
    output: true
"""


def _env(runner: int) -> dict[str, str]:
    """A GitHub Actions job of the matrix (its own run id, so each job URL differs)."""
    return {
        "CI": "true",
        "GITHUB_REPOSITORY": "acme/hello",
        "GITHUB_RUN_ID": str(1000 + runner),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_REF": "refs/tags/v1.0.0",
        "GITHUB_REPOSITORY_OWNER": "acme",
        "GITHUB_SHA": "0" * 40,
        "RUNNER_NAME": f"runner-{runner}",
        "RUNNER_OS": "Linux",
        "GIT_CEILING_DIRECTORIES": "/",
    }


def _runner(tmp_path: Path, contract: Path, i: int, count: int = 20, ci: bool = True) -> tuple[Crafter, Path]:
    """Runner ``i``: init against ``contract``, add ``count`` files, export its part; the part's path."""
    work = tmp_path / f"runner-{i}"
    work.mkdir()
    c = Crafter(state_dir=work / ".crafter", cwd=work, environ=_env(i) if ci else {})
    c.init(contract=contract, project="hello", version="1.0.0")
    files = []
    for j in range(count):
        f = work / f"r{i}-f{j}.txt"
        f.write_text(f"runner {i} file {j}\n")
        files.append(str(f))
    if files:
        c.add(files)
    part = work / "part.json"
    c.export_part(part)
    return c, part


def _merger(tmp_path: Path, contract: Path) -> Crafter:
    work = tmp_path / "merge"
    work.mkdir()
    c = Crafter(state_dir=work / ".crafter", cwd=work, environ={"GIT_CEILING_DIRECTORIES": "/"})
    c.init(contract=contract, project="hello", version="1.0.0")
    return c


@pytest.fixture
def contract(tmp_path: Path) -> Path:
    path = tmp_path / "contract.yaml"
    path.write_text(CONTRACT)
    return path


def _snapshot(c: Crafter) -> bytes:
    aid = c.store.resolve(None)
    return c.store.path_of(aid).read_bytes()


def test_eight_runners_merge_into_one_signed_attestation(tmp_path: Path, contract: Path) -> None:
    from crafter.verify import verify_bundle

    parts = [_runner(tmp_path, contract, i)[1] for i in range(8)]
    doc = json.loads(parts[3].read_text())
    assert (doc["format"], doc["version"], len(doc["materials"])) == ("crafter-part", 1, 20)
    assert doc["recorder"]["runnerType"] == "GITHUB_ACTION"
    assert doc["recorder"]["jobURL"].endswith("/acme/hello/actions/runs/1003")
    assert doc["contract"]["digest"].startswith("sha256:")

    c = _merger(tmp_path, contract)
    release = tmp_path / "merge" / "hello.py"
    release.write_text("print('hello')\n")
    c.add([str(release)], name="release-file")
    result = c.merge([str(tmp_path / "runner-*" / "part.json")])
    assert len(result.parts) == 8 and len(result.added) == 160 and result.unchanged == ()
    names = set(c.store.load(c.store.resolve(None)).attestation.materials)
    expected = {f"r{i}-f{j}-txt" for i in range(8) for j in range(20)}
    assert expected <= names and "release-file" in names

    key, pub = generate_key_pair(tmp_path / "k", b"pw")
    pushed = c.push(key=str(key), password=b"pw", bundle=tmp_path / "b.sigstore.json")
    statement_materials = pushed.statement["predicate"]["materials"]
    assert len(statement_materials) == 161
    checked = verify_bundle(pushed.bundle_path, public_key=public_key_from_pem(pub))
    assert checked.verified


def test_recorded_policy_evaluations_travel_with_their_materials(tmp_path: Path) -> None:
    contract = DEMO / "contract.yaml"
    a = Crafter(state_dir=tmp_path / "a", cwd=tmp_path, environ={})
    a.init(contract=contract, project="hello", version="1.0.0")
    a.add([str(DEMO / "sbom.cdx.json")], name="sbom")
    part = a.export_part(tmp_path / "a.json")
    recorded = part.records[0].evaluations
    assert recorded and all(e.material_name == "sbom" for e in recorded)

    c = Crafter(state_dir=tmp_path / "m", cwd=tmp_path, environ={})
    c.init(contract=contract, project="hello", version="1.0.0")
    c.merge([tmp_path / "a.json"])
    state = c.store.load(c.store.resolve(None))
    merged = tuple(e for e in state.attestation.policy_evaluations if e.material_name == "sbom")
    assert merged == recorded  # kept as recorded, not evaluated again


def test_conflict_names_both_parts_and_writes_nothing(
    tmp_path: Path, contract: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, p1 = _runner(tmp_path, contract, 1, count=2)
    _, p2 = _runner(tmp_path, contract, 2, count=0)
    # runner 2 records a file of the same name as runner 1's, with other bytes
    c2 = Crafter(state_dir=tmp_path / "runner-2" / ".crafter", cwd=tmp_path / "runner-2", environ=_env(2))
    other = tmp_path / "runner-2" / "r1-f0.txt"
    other.write_text("something else\n")
    c2.add([str(other)])
    c2.export_part(p2)
    c = _merger(tmp_path, contract)
    before = _snapshot(c)
    with pytest.raises(MergeConflictError) as caught:
        c.merge([p1, p2])
    message = caught.value.message
    assert "'r1-f0-txt'" in message and str(p1) in message and str(p2) in message
    assert "actions/runs/1001" in message and "actions/runs/1002" in message
    assert caught.value.exit_code == ExitCode.MERGE_CONFLICT == 14
    assert _snapshot(c) == before

    monkeypatch.setenv("CRAFTER_STATE_DIR", str(tmp_path / "merge" / ".crafter"))
    code, out, err = run_cli(capsys, "merge", str(p1), str(p2))
    assert code == 14 and out == ""
    assert err.splitlines()[0].startswith("Error: material 'r1-f0-txt' conflicts:")
    assert _snapshot(c) == before

    # against a material the attestation already records
    c.merge([p2])
    with pytest.raises(MergeConflictError, match=r"this attestation .* records sha256:.*part\.json"):
        c.merge([p1])


def test_merging_twice_changes_nothing(tmp_path: Path, contract: Path) -> None:
    _, p1 = _runner(tmp_path, contract, 1, count=5)
    _, p2 = _runner(tmp_path, contract, 2, count=5)
    c = _merger(tmp_path, contract)
    first = c.merge([p1, p2])
    state = c.store.load(c.store.resolve(None))
    again = c.merge([p2, p1, p1])
    assert len(first.added) == 10
    assert again.added == () and len(again.unchanged) == 10
    assert c.store.load(c.store.resolve(None)) == state


def test_another_contract_or_release_is_refused_unless_forced(
    tmp_path: Path, contract: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(CONTRACT + "  - name: extra\n    type: STRING\n    optional: true\n")
    _, part = _runner(tmp_path, other, 1, count=3)
    c = _merger(tmp_path, contract)
    before = _snapshot(c)
    with pytest.raises(ContractError, match="recorded against contract sha256:"):
        c.merge([part])
    assert _snapshot(c) == before
    monkeypatch.setenv("CRAFTER_STATE_DIR", str(tmp_path / "merge" / ".crafter"))
    code, _, err = run_cli(capsys, "merge", str(part))
    assert code == ExitCode.CONTRACT and str(part) in err
    code, out, err = run_cli(capsys, "merge", "--force", str(part), "-o", "json")
    assert code == 0 and "merged with --force" in err
    assert len(json.loads(out)["added"]) == 3

    w = tmp_path / "v2"
    w.mkdir()
    c2 = Crafter(state_dir=w / ".crafter", cwd=w, environ={})
    c2.init(contract=contract, project="hello", version="2.0.0")
    c2.add(["some-string"], name="note")
    c2.export_part(w / "part.json")
    with pytest.raises(PartError, match=re.escape("hello/2.0.0")):
        c.merge([w / "part.json"])


def _valid_part(tmp_path: Path, contract: Path) -> dict[str, object]:
    _, part = _runner(tmp_path, contract, 9, count=1, ci=False)
    doc: dict[str, object] = json.loads(part.read_text())
    return doc


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(version=2), "part version 2 is not supported"),
        (lambda d: d.update(format="crafter-state"), "not a crafter part"),
        (lambda d: d.update(materials="many"), "materials"),
        (lambda d: d["materials"][0]["material"].update(materialType=7), "materials[0].material"),
        (lambda d: d["materials"][0]["material"].update(id="Not A Name"), "materials[0].material.id"),
        (lambda d: d["materials"][0]["material"]["artifact"].update(digest="md5:x"), "digest"),
        (
            lambda d: d["materials"][0].update(evaluations=[{"materialName": "x"}]),
            "materials[0].evaluations[0]",
        ),
        (
            lambda d: d["materials"][0].update(
                evaluations=[{"materialName": "other", "name": "p", "type": "ARTIFACT", "skipped": False}]
            ),
            "names 'other'",
        ),
        (lambda d: d["materials"].append(d["materials"][0]), "recorded twice"),
        (lambda d: d.update(extra=1), "extra"),
        (
            lambda d: d["materials"][0]["material"].update(materialType="NO_SUCH_KIND"),
            "unknown material kind",
        ),
    ],
)
def test_hostile_part_is_refused_naming_the_file(
    tmp_path: Path,
    contract: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: object,
    reason: str,
) -> None:
    doc = _valid_part(tmp_path, contract)
    change(doc)  # type: ignore[operator]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(PartError) as caught:
        read_part(bad)
    assert caught.value.message.startswith(f"{bad}: ") and reason in caught.value.message
    c = _merger(tmp_path, contract)
    before = _snapshot(c)
    monkeypatch.setenv("CRAFTER_STATE_DIR", str(tmp_path / "merge" / ".crafter"))
    code, out, err = run_cli(capsys, "merge", str(bad))
    assert code == 1 and out == ""
    assert err.splitlines()[0].startswith(f"Error: {bad}: ")
    assert _snapshot(c) == before


def test_huge_or_broken_part_is_refused(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as fh:
        fh.write(b'{"format": "crafter-part", "pad": "')
        fh.write(b"x" * (17 << 20))
        fh.write(b'"}')
    with pytest.raises(PartError, match="^" + re.escape(f"{huge}: not a part: larger than")):
        read_part(huge)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(PartError, match="^" + re.escape(f"{deep}: JSON nesting")):
        read_part(deep)
    with pytest.raises(PartError, match="^" + re.escape(str(tmp_path / "absent.json"))):
        read_part(tmp_path / "absent.json")
    dup = tmp_path / "dup.json"
    dup.write_text('{"format": "crafter-part", "format": "x"}')
    with pytest.raises(PartError, match="duplicate key"):
        read_part(dup)


def test_concurrent_merges_and_adds_lose_nothing(tmp_path: Path, contract: Path) -> None:
    parts = [_runner(tmp_path, contract, i, count=10, ci=False)[1] for i in range(4)]
    merger = _merger(tmp_path, contract)
    state_dir = tmp_path / "merge" / ".crafter"
    errors: list[BaseException] = []

    def merge(part: Path) -> None:
        try:
            Crafter(state_dir=state_dir, cwd=tmp_path, environ={}).merge([part])
        except BaseException as exc:
            errors.append(exc)

    def add(n: int) -> None:
        try:
            Crafter(state_dir=state_dir, cwd=tmp_path, environ={}).add([f"value-{n}"], name=f"note-{n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=merge, args=(p,)) for p in parts]
    threads += [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    materials = merger.store.load(merger.store.resolve(None)).attestation.materials
    assert len(materials) == 40 + 8
    assert {f"note-{n}" for n in range(8)} <= set(materials)


def test_a_kind_the_contract_does_not_declare_is_refused(tmp_path: Path, contract: Path) -> None:
    _, part = _runner(tmp_path, contract, 1, count=0, ci=False)
    doc = json.loads(part.read_text())
    doc["materials"] = [
        {
            "material": {
                "id": "release-file",
                "materialType": "STRING",
                "addedAt": "2026-01-01T00:00:00Z",
                "string": {"id": "release-file", "value": "not a file"},
            },
            "evaluations": [],
        }
    ]
    part.write_text(json.dumps(doc))
    c = _merger(tmp_path, contract)
    before = _snapshot(c)
    with pytest.raises(PartError, match="recorded as STRING, but the contract declares it ARTIFACT"):
        c.merge([part])
    assert _snapshot(c) == before
