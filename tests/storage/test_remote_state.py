"""Remote state on a real registry (docker-registry 2.8 on 127.0.0.1): one attestation crafted by separate
"runners" (each its own working directory, state directory and CI context), none of which but the first has
the contract or its policies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from crafter._internal.crafter import Crafter
from crafter._internal.parts import MergeConflictError
from crafter._internal.push_rules import PushRequest, SigningRequest
from crafter._internal.storage.registry import RegistryClient
from crafter.errors import ExitCode, StateError
from crafter.signing.keys import generate_key_pair
from crafter.storage import StoreError
from crafter.verify import VerifyRequest, verify
from tests.conftest import RUNNER_MARKERS, run_cli
from tests.storage.conftest import Registry, _free_port, _start

ROOT = Path(__file__).resolve().parents[2]

CONTRACT = """\
schemaVersion: v1
materials:
  - name: sbom
    type: SBOM_CYCLONEDX_JSON
  - name: binary
    type: ARTIFACT
    output: true
policies:
  materials:
    - ref: policies/no-bad.yaml
"""
# A policy whose Rego lives in a file of its own: both reach the registry at init.
POLICY = """\
apiVersion: chainloop.dev/v1
kind: Policy
metadata: {name: no-bad}
spec:
  policies:
    - kind: STRING
      path: no-bad.rego
"""
REGO = """\
package main
import rego.v1
violations contains msg if {
  startswith(base64.decode(input.chainloop_metadata.content), "bad")
  msg := "a bad note"
}
"""


def _environ(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in RUNNER_MARKERS and not k.startswith("CRAFTER_")}
    env.update(
        {
            "DOCKER_CONFIG": str(home / "docker"),
            "GIT_CEILING_DIRECTORIES": str(home.parent),
            "CRAFTER_KEY_PASSWORD": "pw",
        }
    )
    env.update(extra)
    return env


def github(run_id: str) -> dict[str, str]:
    """A GitHub Actions job's CI context: jobs of different runs have different URLs."""
    return {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": run_id}


class Runners:
    """Separate machines: each has its own directory (its cwd and state directory) and environment."""

    def __init__(self, root: Path, state: str) -> None:
        self.root = root
        self.state = state

    def dir(self, name: str) -> Path:
        path = self.root / name
        (path / "work").mkdir(parents=True, exist_ok=True)
        return path

    def crafter(self, name: str, env: Mapping[str, str] | None = None) -> Crafter:
        home = self.dir(name)
        return Crafter(
            state_dir=home / "state",
            cwd=home / "work",
            environ=_environ(home, **(env or {})),
            state=self.state,
            insecure=True,
        )


@pytest.fixture
def runners(registry: Registry, tmp_path: Path, request: pytest.FixtureRequest) -> Runners:
    repo = "state/" + request.node.name.lower().replace("_", "-")[:60].strip("-")
    return Runners(tmp_path, f"oci://{registry.host}/{repo}")


@pytest.fixture
def release(runners: Runners) -> str:
    """An attestation started by runner "a", whose directory alone holds the contract and its policy."""
    work = runners.dir("a") / "work"
    (work / "policies").mkdir()
    (work / "policies" / "no-bad.yaml").write_text(POLICY)
    (work / "policies" / "no-bad.rego").write_text(REGO)
    (work / "contract.yaml").write_text(CONTRACT)
    state = runners.crafter("a").init(contract=work / "contract.yaml", project="shop", version="1.0.0")
    return state.attestation_id


def tags(runners: Runners) -> list[str]:
    host, _, repo = runners.state.removeprefix("oci://").partition("/")
    return sorted(RegistryClient(host, insecure=True).tags(repo))


def artifact(runners: Runners, runner: str, name: str, content: str = "") -> Path:
    path = runners.dir(runner) / "work" / name
    path.write_text(content or name)
    return path


def sign(runners: Runners, runner: str, attestation_id: str, **kwargs: object) -> tuple[Crafter, Path]:
    home = runners.dir(runner)
    generate_key_pair(home / "k", b"pw")
    c = runners.crafter(runner)
    request = PushRequest(
        signing=SigningRequest(key=str(home / "k.key"), password=b"pw"),
        attestation_id=attestation_id,
        bundle=home / "bundle.json",
    )
    c.push(request)
    return c, home / "bundle.json"


# -- one attestation, several runners ---------------------------------------------------------------------
def test_runners_without_the_contract_add_and_their_policies_run(runners: Runners, release: str) -> None:
    b = runners.crafter("b", github("1"))
    added = b.record(["bad news"], name="note", attestation_id=release)
    # Runner b has neither the contract nor the policy files: the policy init resolved ran all the same.
    assert [e.name for e in added.evaluations] == ["no-bad"]
    assert added.evaluations[0].violations[0].message == "a bad note"
    sbom = ROOT / "examples" / "demo" / "sbom.cdx.json"
    runners.crafter("c", github("2")).record([str(sbom)], name="sbom", attestation_id=release)
    runners.crafter("c", github("2")).record(
        [str(artifact(runners, "c", "app.bin"))], name="binary", attestation_id=release
    )

    status = runners.crafter("d").status(release)
    assert {m.name for m in status.materials if m.set} == {"binary", "note", "sbom"}
    assert status.complete
    assert len([t for t in tags(runners) if t.startswith(f"part-{release}-")]) == 3
    evaluations = status.state.attestation.policy_evaluations
    assert [(e.material_name, len(e.violations)) for e in evaluations] == [("note", 1)]


def test_policies_are_the_ones_init_resolved(runners: Runners, release: str) -> None:
    # Changing the policy on runner a after init changes nothing: every runner evaluates what init read.
    (runners.dir("a") / "work" / "policies" / "no-bad.rego").write_text(
        "package main\nimport rego.v1\nviolations contains 'changed' if true\n"
    )
    added = runners.crafter("a").record(["good news"], name="note", attestation_id=release)
    assert added.evaluations[0].name == "no-bad"
    assert not added.evaluations[0].violations


def test_the_runner_that_initialised_needs_no_id(runners: Runners, release: str) -> None:
    a = runners.crafter("a")
    assert a.store.current_id() == release
    a.record(["v1"], name="note")  # the current attestation of this repository, on this machine
    assert a.status().state.attestation_id == release
    with pytest.raises(StateError, match="no attestation given"):
        runners.crafter("b").record(["v1"], name="note")


def test_push_signs_one_statement_and_deletes_the_artifacts(runners: Runners, release: str) -> None:
    runners.crafter("b").record(
        [str(artifact(runners, "b", "app.bin"))], name="binary", attestation_id=release
    )
    sbom = ROOT / "examples" / "demo" / "sbom.cdx.json"
    runners.crafter("c").record([str(sbom)], name="sbom", attestation_id=release)
    _, bundle = sign(runners, "d", release)

    result = verify(VerifyRequest(bundle=str(bundle), key=runners.dir("d") / "k.pub"))
    names = {m["annotations"]["chainloop.material.name"] for m in result.statement["predicate"]["materials"]}
    assert {"binary", "sbom"} <= names
    assert tags(runners) == []  # the registry allows deleting: nothing is left
    with pytest.raises(StateError, match="not found"):
        runners.crafter("b").record(["late"], name="late", attestation_id=release)


def test_sixteen_runners_at_once_lose_nothing(runners: Runners, release: str) -> None:
    """16 processes, each a runner with its own directories, add 20 files each, one add per file."""
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from crafter._internal.crafter import Crafter
        home, state, aid = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
        (home / "work").mkdir(parents=True)
        c = Crafter(state_dir=home / "state", cwd=home / "work", state=state, insecure=True)
        for j in range(20):
            f = home / "work" / f"{home.name}-{j}.txt"
            f.write_text(f"{home.name} file {j}")
            c.record([str(f)], kind="ARTIFACT", attestation_id=aid)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(runners.root / f"r{i:02d}"), runners.state, release],
            env=_environ(runners.root / f"r{i:02d}", **github(str(100 + i))),
            stderr=subprocess.PIPE,
        )
        for i in range(16)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()

    state = runners.crafter("d").store.load(release)
    assert len(state.attestation.materials) == 320
    assert len([t for t in tags(runners) if t.startswith(f"part-{release}-")]) == 320
    sbom = ROOT / "examples" / "demo" / "sbom.cdx.json"
    runners.crafter("d").record([str(sbom)], name="sbom", attestation_id=release)
    runners.crafter("d").record(
        [str(artifact(runners, "d", "app.bin"))], name="binary", attestation_id=release
    )
    _, bundle = sign(runners, "d", release)
    result = verify(VerifyRequest(bundle=str(bundle), key=runners.dir("d") / "k.pub"))
    assert len(result.statement["predicate"]["materials"]) == 322


# -- conflicts -------------------------------------------------------------------------------------------
def test_same_material_from_two_runners_is_one(runners: Runners, release: str) -> None:
    for runner, run in (("b", "1"), ("c", "2")):
        path = artifact(runners, runner, "app.bin", "the same bytes")
        runners.crafter(runner, github(run)).record([str(path)], name="binary", attestation_id=release)
    state = runners.crafter("d").store.load(release)
    assert list(state.attestation.materials) == ["binary"]


def test_a_conflict_names_both_runners_and_is_resolved_by_dropping_a_part(
    runners: Runners, release: str
) -> None:
    for runner, run in (("b", "11"), ("c", "22")):
        path = artifact(runners, runner, "app.bin", f"built by {runner}")
        runners.crafter(runner, github(run)).record([str(path)], name="binary", attestation_id=release)
    with pytest.raises(MergeConflictError) as caught:
        runners.crafter("d").status(release)
    message = caught.value.message
    assert "material 'binary' conflicts" in message
    assert "https://github.com/acme/shop/actions/runs/11" in message
    assert "https://github.com/acme/shop/actions/runs/22" in message
    assert caught.value.exit_code == ExitCode.MERGE_CONFLICT == 14
    assert "crafter reset --part" in (caught.value.hint or "")
    with pytest.raises(MergeConflictError):  # push refuses it too, before signing anything
        sign(runners, "d", release)

    wrong = message.split("runs/22")[0].rsplit("part-", 1)[1].split(" ")[0]
    runners.crafter("d").reset(release, part="part-" + wrong)
    state = runners.crafter("d").store.load(release)
    assert state.attestation.materials["binary"].digest.endswith(
        __import__("hashlib").sha256(b"built by b").hexdigest()
    )


# -- failures ----------------------------------------------------------------------------------------------
def test_a_failed_remote_add_is_exit_20_and_nothing_is_kept(
    runners: Runners, release: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = runners.dir("b")
    monkeypatch.chdir(home / "work")
    for k, v in _environ(home).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CRAFTER_STATE_DIR", str(home / "state"))
    down = f"oci://127.0.0.1:{_free_port()}/state"
    code, _, err = run_cli(capsys, "add", "--state", down, "--insecure", "--attestation-id", release, "x")
    assert code == ExitCode.STORE == 20
    assert "cannot reach registry" in err
    assert not (home / "state" / "attestations").exists()  # nothing queued locally

    monkeypatch.setenv("CRAFTER_STATE", runners.state)
    monkeypatch.setenv("CRAFTER_ATTESTATION_ID", release)
    code, _, err = run_cli(capsys, "add", "--insecure", "--name", "note", "hello")
    assert code == 0, err
    code, out, _ = run_cli(capsys, "status", "--insecure", "-o", "json")
    assert code == 0 and [m["name"] for m in json.loads(out)["materials"] if m.get("set")] == ["note"]


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        ("oci://127.0.0.1:5000/state:latest", "a repository, not a tag or digest"),
        ("oci://state", "with a registry host"),
    ],
)
def test_bad_state_references(state: str, problem: str, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=problem):
        Crafter(state_dir=tmp_path, state=state)


def test_state_or_state_dir_not_both(tmp_path: Path) -> None:
    from crafter.errors import UsageError

    with pytest.raises(UsageError, match="not both"):
        Crafter(state_dir=tmp_path / "a", state=str(tmp_path / "b"))
    assert Crafter(state=str(tmp_path / "b")).store.describe() == str(tmp_path / "b")


# -- a registry that does not allow deleting ----------------------------------------------------------------
@pytest.fixture(scope="module")
def keeping_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    yield from _start(tmp_path_factory.mktemp("keeping-registry"), delete=False)


def test_without_deletes_push_leaves_the_parts_but_closes_the_attestation(
    keeping_registry: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runners = Runners(tmp_path, f"oci://{keeping_registry.host}/state/keep")
    aid = runners.crafter("a").init(project="shop").attestation_id
    runners.crafter("b").record(["one"], name="note", attestation_id=aid)
    with caplog.at_level("WARNING", logger="crafter"):
        sign(runners, "c", aid)
    assert "does not allow deleting" in caplog.text
    left = tags(runners)
    assert f"done-{aid}" in left and f"state-{aid}" in left
    with pytest.raises(StateError, match="already pushed or reset"):
        runners.crafter("b").record(["two"], name="late", attestation_id=aid)
    assert runners.crafter("b").list() == []


def test_the_contracts_runner_binds_every_job(runners: Runners, tmp_path: Path) -> None:
    from crafter.errors import RunnerError

    contract = tmp_path / "ci-contract.yaml"
    contract.write_text("schemaVersion: v1\nrunner:\n  type: GITHUB_ACTION\n")
    ci = {
        **github("5"),
        "GITHUB_ACTOR": "bot",
        "GITHUB_REF": "refs/tags/v1",
        "GITHUB_REPOSITORY_OWNER": "acme",
        "GITHUB_SHA": "0" * 40,
        "RUNNER_NAME": "hosted",
        "RUNNER_OS": "Linux",
    }
    aid = runners.crafter("a", ci).init(contract=contract, project="shop").attestation_id
    runners.crafter("b", ci).record(["from ci"], name="note", attestation_id=aid)
    with pytest.raises(RunnerError, match="requires runner GITHUB_ACTION"):
        runners.crafter("laptop").record(["from a laptop"], name="other", attestation_id=aid)
    assert list(runners.crafter("c").store.load(aid).attestation.materials) == ["note"]


def test_status_all_and_export_read_the_registry(
    runners: Runners, release: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runners.crafter("b", github("3")).record(["good news"], name="note", attestation_id=release)
    home = runners.dir("c")
    monkeypatch.chdir(home / "work")
    for k, v in _environ(home).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CRAFTER_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("CRAFTER_STATE", runners.state)
    code, out, err = run_cli(capsys, "init", "--insecure", "--project", "other", "-o", "json")
    assert code == 0, err
    other = json.loads(out)["attestationID"]
    assert f"other jobs add with --state {runners.state} --attestation-id {other}" in err
    assert run_cli(capsys, "reset", "--insecure", "--attestation-id", other)[0] == 0
    code, out, err = run_cli(capsys, "status", "--all", "--insecure", "-o", "json")
    assert code == 0, err
    (entry,) = json.loads(out)
    assert (entry["attestationID"], entry["materials"]) == (release, 1)
    code, out, err = run_cli(
        capsys, "export", "--insecure", "--attestation-id", release, "-o", str(home / "part.json")
    )
    assert code == 0, err
    part = json.loads((home / "part.json").read_text())
    assert [r["material"]["id"] for r in part["materials"]] == ["note"]
    assert part["attestationID"] == release


def test_an_add_racing_a_push_is_never_silently_lost(
    runners: Runners, release: str, caplog: pytest.LogCaptureFixture
) -> None:
    b = runners.crafter("b")
    b.record(["first"], name="note", attestation_id=release)  # b has read the attestation: it is open
    # Push reads the parts, then a part arrives before it closes the attestation: push names it.
    d = runners.crafter("d")
    d.store.load(release)
    b.record(["second"], name="late", attestation_id=release)
    with caplog.at_level("WARNING", logger="crafter"):
        d.store.delete(release)
    assert "1 parts were added to attestation" in caplog.text and "not in the signed statement" in caplog.text
    assert len([t for t in tags(runners) if t.startswith(f"part-{release}-")]) == 1  # kept, for inspection
    # An add whose part lands once the attestation is closed fails instead of reporting success.
    with pytest.raises(StateError, match="was pushed or reset while this add ran: third may not be in it"):
        b.record(["third"], name="third", attestation_id=release)


def test_a_busy_registry_is_retried_then_reported(
    registry: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.storage.referrers_proxy import ReferrersProxy

    with ReferrersProxy(registry.host).running() as proxy:
        runners = Runners(tmp_path, f"oci://{proxy.host}/state/busy")
        aid = runners.crafter("a").init(project="shop").attestation_id
        proxy.busy = 2  # two 503s: each request is tried again
        runners.crafter("b").record(["one"], name="note", attestation_id=aid)
        assert list(runners.crafter("c").store.load(aid).attestation.materials) == ["note"]
        proxy.busy = 1000  # busy for good: a clean StoreError (exit code 20) after the retries, nothing kept
        with pytest.raises(StoreError, match="HTTP 503") as caught:
            runners.crafter("b").record(["two"], name="other", attestation_id=aid)
        assert caught.value.exit_code == ExitCode.STORE
        proxy.busy = 0
        assert list(runners.crafter("c").store.load(aid).attestation.materials) == ["note"]


def test_a_part_is_embedded_in_its_manifest_and_trusted_only_by_digest(
    runners: Runners, release: str
) -> None:
    import base64

    from crafter._internal.storage.remote_state import OCI_MANIFEST, PART_TYPE

    b = runners.crafter("b")
    b.record(["embedded"], name="note", attestation_id=release)
    (tag,) = [t for t in tags(runners) if t.startswith("part-")]
    client = b.store.client  # type: ignore[attr-defined]
    repo = b.store.repository  # type: ignore[attr-defined]
    _, _, body = client.get_manifest(repo, tag)
    manifest = json.loads(body)
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == PART_TYPE and base64.b64decode(layer["data"])  # read in one request
    # Embedded bytes that are not what the digest names are ignored: the blob is read instead.
    layer["data"] = base64.b64encode(b'{"format": "crafter-part", "forged": true}').decode()
    client.put_manifest(repo, tag, OCI_MANIFEST, json.dumps(manifest).encode())
    state = runners.crafter("c").store.load(release)
    assert state.attestation.materials["note"].value == "embedded"


def test_a_state_artifact_that_is_not_a_state_is_one_line_naming_it(runners: Runners) -> None:
    from crafter._internal.storage.remote_state import STATE_TYPE

    store = runners.crafter("a").store
    store._put("state-bogus", STATE_TYPE, [(STATE_TYPE, b"{not json", {})])  # type: ignore[attr-defined]
    with pytest.raises(StateError) as caught:
        runners.crafter("b").record(["x"], name="x", attestation_id="bogus")
    assert caught.value.message.startswith(f"{runners.state}:state-bogus: state file is corrupted")
