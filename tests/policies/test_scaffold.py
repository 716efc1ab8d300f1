"""``crafter policy init``: policy projects from the templates, whose cases pass (the WASM one after building it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from crafter._internal.cli.main import main
from crafter._internal.policies.args import engine_args
from crafter._internal.policies.scaffold import NAME_TOKEN, init_policy, template_dir
from crafter._internal.policies.testing import Case, find_cases, run_cases
from crafter._internal.policies.verifier import VerifierOptions, default_engines
from crafter.errors import PolicyError

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_WASM = ROOT / "policies" / "wasm"
CASES = ["fail", "pass", "skip"]


def test_rego_project_cases_pass(tmp_path: Path) -> None:
    target = tmp_path / "deny-list"
    created = init_policy("deny-list", target, engine="rego")
    assert sorted(p.relative_to(target).as_posix() for p in created) == [
        "policy.rego",
        "policy.yaml",
        "tests/empty.cdx.json",
        "tests/fail.yaml",
        "tests/pass.yaml",
        "tests/sbom.cdx.json",
        "tests/skip.yaml",
    ]
    assert "name: deny-list\n" in (target / "policy.yaml").read_text()
    assert not any(NAME_TOKEN in p.read_text() for p in created)
    results = run_cases(target)
    assert [r.name for r in results] == [f"deny-list/{c}" for c in CASES]
    assert all(r.passed for r in results), [r.differences for r in results]


def test_wasm_project_files(tmp_path: Path) -> None:
    target = tmp_path / "deny-list"
    created = init_policy("deny-list", target, engine="wasm")
    names = {p.relative_to(target).as_posix() for p in created}
    assert {"policy.yaml", "src/policy.ts", "src/lib/policy.ts", "src/lib/json.ts", "package.json"} <= names
    assert "package-lock.json" in names
    assert {"build.sh", ".gitignore", "tests/pass.yaml", "tests/fail.yaml", "tests/skip.yaml"} <= names
    assert os.access(target / "build.sh", os.X_OK)
    package = json.loads((target / "package.json").read_text())
    lock = json.loads((target / "package-lock.json").read_text())
    assert package["name"] == lock["name"] == lock["packages"][""]["name"] == "deny-list"
    assert all(not v.startswith(("^", "~")) for v in package["devDependencies"].values()), "exact versions"
    assert not any(NAME_TOKEN in p.read_text() for p in created)


def test_wasm_template_follows_the_library_toolchain(tmp_path: Path) -> None:
    """A new project gets the library's own PDK glue (copied from policies/wasm) and pinned packages."""
    template = template_dir("wasm")
    assert not (template / "src" / "lib").exists()  # one copy of the glue: the library's
    init_policy("glue-check", tmp_path / "p", engine="wasm")
    for lib in ("src/lib/policy.ts", "src/lib/json.ts"):
        assert (tmp_path / "p" / lib).read_bytes() == (LIBRARY_WASM / lib).read_bytes(), lib
    ours = json.loads((template / "package-lock.json").read_text())["packages"]
    library = json.loads((LIBRARY_WASM / "package-lock.json").read_text())["packages"]
    assert {k: v for k, v in ours.items() if k} == {k: v for k, v in library.items() if k}
    assert (
        json.loads((template / "package.json").read_text())["devDependencies"]
        == json.loads((LIBRARY_WASM / "package.json").read_text())["devDependencies"]
    )


@pytest.mark.parametrize("engine", ["rego", "wasm"])
def test_refuses_an_existing_directory(tmp_path: Path, engine: str) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(PolicyError, match="already exists; not overwriting it"):
        init_policy("taken", tmp_path / "taken", engine=engine)
    assert list((tmp_path / "taken").iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(PolicyError, match="already exists"):
        init_policy("file", tmp_path / "file", engine=engine)


@pytest.mark.parametrize("name", ["Upper", "under_score", "-dash", "dash-", "", "a" * 64, "dot.ted"])
def test_refuses_a_bad_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(PolicyError, match="invalid policy name") as err:
        init_policy(name, tmp_path / "p")
    assert err.value.hint and "lowercase" in err.value.hint
    assert not (tmp_path / "p").exists()


def test_refuses_an_unknown_engine(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no policy template for engine 'lua'"):
        init_policy("p", tmp_path / "p", engine="lua")
    assert not (tmp_path / "p").exists()


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["policy", "init", "deny-list"]) == 0
    out = capsys.readouterr().out
    assert "Created rego policy deny-list in deny-list (7 files)" in out
    assert "crafter policy test deny-list" in out
    assert main(["policy", "test", "deny-list"]) == 0
    assert "3 passed, 0 failed" in capsys.readouterr().out

    assert main(["policy", "init", "--engine", "wasm", "other", "--dir", "sub/w"]) == 0
    out = capsys.readouterr().out
    assert "Created wasm policy other in sub/w" in out and "build.sh" in out
    assert (tmp_path / "sub/w/src/policy.ts").is_file()

    code = main(["policy", "init", "deny-list"])
    _, err = capsys.readouterr()
    assert code != 0 and "already exists; not overwriting it" in err and "Traceback" not in err


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI"):
            pytest.fail("npm is needed to build the WASM policy template (CI is set)")
        pytest.skip("npm is not installed: the WASM policy template cannot be built")
    return npm


@pytest.mark.slow
def test_wasm_project_builds_reproducibly_and_its_cases_pass(tmp_path: Path) -> None:
    """The real build (npm ci + asc, about 5 s per build), twice; then ``crafter policy test`` on the project."""
    _npm()
    target = tmp_path / "deny-list"
    init_policy("deny-list", target, engine="wasm")
    built = []
    for _ in range(2):
        (target / "policy.wasm").unlink(missing_ok=True)
        proc = subprocess.run(
            [str(target / "build.sh")], capture_output=True, text=True, timeout=600, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        built.append((target / "policy.wasm").read_bytes())
    assert built[0].startswith(b"\x00asm") and built[0] == built[1], "two builds differ"

    if "wasm" in default_engines(VerifierOptions()):
        results = run_cases(target)
        assert [r.name for r in results] == [f"deny-list/{c}" for c in CASES]
        assert all(r.passed for r in results), [r.differences for r in results]
        return
    # Without the WASM engine: the module through the Extism SDK, against the Rego template on the same cases.
    import extism

    rego = tmp_path / "rego-twin"
    init_policy("rego-twin", rego, engine="rego")
    for path in find_cases(rego):
        evaluation = Case.from_file(path).evaluate()
        assert evaluation is not None
        manifest = {
            "wasm": [{"data": built[0]}],
            "config": {"args": json.dumps(engine_args(evaluation.with_))},
        }
        out = json.loads(extism.Plugin(manifest, wasi=True).call("Execute", evaluation.input_json))
        assert out["violations"] == [v.message for v in evaluation.violations]
        assert out["skipped"] == evaluation.skipped
        assert ([out["skip_reason"]] if out["skipped"] else []) == list(evaluation.skip_reasons)
