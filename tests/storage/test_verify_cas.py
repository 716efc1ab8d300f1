"""``crafter verify --replay --cas``: material bytes come from the content store ``add --cas`` wrote, a real
directory or a real registry (docker-registry), and are checked against the recorded digests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from crafter.errors import ExitCode
from tests.conftest import run_cli
from tests.storage.conftest import PASSWORD, USER, Registry, _free_port

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
# The demo's policies; the test report is never uploaded, so its evaluation cannot be replayed from the CAS.
CONTRACT = """\
schemaVersion: v1
materials:
  - {name: sbom, type: SBOM_CYCLONEDX_JSON}
  - {name: tests, type: JUNIT_XML, skipUpload: true}
  - {name: release-file, type: ARTIFACT, output: true}
policies:
  materials:
    - {ref: 'builtin://sbom-min-components', with: {min_components: "3"}}
    - {ref: 'builtin://cyclonedx-banned-licenses', with: {licenses: "GPL-3.0-only"}}
    - {ref: 'builtin://junit-all-passed', with: {min_tests: "4"}}
"""
FILES = {"sbom": "sbom.cdx.json", "tests": "junit.xml", "release-file": "hello-1.0.0.py"}
SBOM_HEX = hashlib.sha256((DEMO / "sbom.cdx.json").read_bytes()).hexdigest()


@pytest.fixture
def work(cli_env: Path, clean_registry_env: Path) -> Path:
    """``cli_env`` without registry credentials, with this module's CONTRACT."""
    (cli_env / "contract.yaml").write_text(CONTRACT)
    return cli_env


def attest(work: Path, capsys: pytest.CaptureFixture[str], *cas: str) -> Path:
    """init, add every demo file (to ``cas``), push; the bundle."""
    assert run_cli(capsys, "init", "--contract", str(work / "contract.yaml"), "--project", "p")[0] == 0
    for name, file in FILES.items():
        code, _, err = run_cli(capsys, "add", "--name", name, "--value", str(DEMO / file), *cas)
        assert code == 0, err
    bundle = work / "b.sigstore.json"
    code, _, err = run_cli(capsys, "push", "--key", str(work / "k.key"), "--bundle", str(bundle))
    assert code == 0, err
    return bundle


def replay(
    capsys: pytest.CaptureFixture[str], bundle: Path, work: Path, *args: str
) -> tuple[int, dict[str, object], str]:
    code, out, err = run_cli(capsys, "verify", str(bundle), "--key", str(work / "k.pub"), "--replay", *args)
    return code, (json.loads(out) if out.startswith("{") else {}), err


def outcomes(doc: dict[str, object]) -> list[tuple[str, str, str]]:
    return [(r["policy"], r["material"], r["status"]) for r in doc["replay"]]  # type: ignore[attr-defined]


def blob_file(registry: Registry, hexdigest: str) -> Path:
    """Where docker-registry's filesystem driver keeps a blob's bytes."""
    return registry.root / "data/docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # same length: the registry's recorded size still holds
    path.write_bytes(bytes(data))


def test_directory_cas_replays_without_local_files(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cas = work / "cas"
    bundle = attest(work, capsys, "--cas", str(cas))
    local = [a for f in FILES.values() for a in ("--material", str(DEMO / f))]
    code, with_files, err = replay(capsys, bundle, work, *local, "-o", "json")
    assert code == 0, err
    # The CAS and the one file it lacks (skipUpload) give exactly the replay of the local files.
    code, from_cas, err = replay(
        capsys, bundle, work, "--cas", str(cas), "--material", str(DEMO / "junit.xml"), "-o", "json"
    )
    assert code == 0, err
    assert from_cas["replay"] == with_files["replay"]
    assert outcomes(from_cas) == [
        ("sbom-min-components", "sbom", "same"),
        ("cyclonedx-banned-licenses", "sbom", "same"),
        ("junit-all-passed", "tests", "same"),
    ]
    fetched = [c for c in from_cas["materialChecks"] if c.get("source") == "cas"]  # type: ignore[attr-defined]
    assert fetched == [
        {
            "file": f"{cas}@sha256:{SBOM_HEX}",
            "digest": f"sha256:{SBOM_HEX}",
            "matched": "material 'sbom'",
            "source": "cas",
        }
    ]
    # No local file at all: the skipUpload material is named as not replayed, with the reason.
    code, only_cas, err = replay(capsys, bundle, work, "--cas", str(cas), "-o", "json")
    assert code == 0, err
    assert outcomes(only_cas)[:2] == outcomes(with_files)[:2]
    tests = only_cas["replay"][2]  # type: ignore[index]
    assert tests["status"] == "not-replayed"
    assert "not in the content store" in tests["detail"] and "skipUpload" in tests["detail"]
    assert "Warning: not replayed: junit-all-passed on tests" in err


def test_directory_cas_tampered(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cas = work / "cas"
    bundle = attest(work, capsys, "--cas", str(cas))
    flip_a_byte(cas / "sha256" / SBOM_HEX)
    code, out, err = run_cli(
        capsys, "verify", str(bundle), "--key", str(work / "k.pub"), "--replay", "--cas", str(cas)
    )
    assert code == ExitCode.DIGEST_MISMATCH == 12
    first = err.splitlines()[-2]
    assert first.startswith(f"Error: {cas}@sha256:{SBOM_HEX}: digest mismatch for material 'sbom'")
    assert "content store holds other bytes" in err.splitlines()[-1]
    assert "not replayed: sbom-min-components on sbom: the content store's bytes" in err
    assert "Material files" in out  # the summary is still shown


def test_cas_usage_errors(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = attest(work, capsys)
    key = ("--key", str(work / "k.pub"))
    code, _, err = run_cli(capsys, "verify", str(bundle), *key, "--cas", str(work))
    assert code == ExitCode.USAGE and "--cas is read by --replay only" in err
    code, _, err = run_cli(capsys, "verify", str(bundle), *key, "--replay", "--cas", str(work / "nope"))
    assert code == ExitCode.USAGE and f"content store {work / 'nope'}: no such directory" in err


def test_registry_cas(registry: Registry, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cas = f"oci://{registry.host}/cas/verify"
    bundle = attest(work, capsys, "--cas", cas, "--insecure")
    code, doc, err = replay(capsys, bundle, work, "--cas", cas, "--insecure", "-o", "json")
    assert code == 0, err
    assert outcomes(doc) == [
        ("sbom-min-components", "sbom", "same"),
        ("cyclonedx-banned-licenses", "sbom", "same"),
        ("junit-all-passed", "tests", "not-replayed"),
    ]
    assert f"not in the content store {cas}" in doc["replay"][2]["detail"]  # type: ignore[index]
    # HTTPS is the default: the plain-HTTP test registry is not reached without --insecure
    code, _, err = run_cli(
        capsys, "verify", str(bundle), "--key", str(work / "k.pub"), "--replay", "--cas", cas
    )
    assert code == ExitCode.STORE and f"content store {cas}: cannot reach registry {registry.host}" in err

    # The registry is shared by the session and stores blobs once per digest: put the byte back afterwards.
    blob = blob_file(registry, SBOM_HEX)
    flip_a_byte(blob)
    try:
        code, _, err = replay(capsys, bundle, work, "--cas", cas, "--insecure")
    finally:
        flip_a_byte(blob)
    assert code == ExitCode.DIGEST_MISMATCH
    assert f"Error: {cas}@sha256:{SBOM_HEX}: digest mismatch for material 'sbom'" in err


def test_registry_cas_down(registry: Registry, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = attest(work, capsys, "--cas", f"oci://{registry.host}/cas/down", "--insecure")
    down = f"127.0.0.1:{_free_port()}"
    code, out, err = run_cli(
        capsys,
        "verify",
        str(bundle),
        "--key",
        str(work / "k.pub"),
        "--replay",
        "--cas",
        f"oci://{down}/cas/down",
        "--insecure",
    )
    assert code == ExitCode.STORE == 20
    assert err.startswith(f"Error: content store oci://{down}/cas/down: cannot reach registry {down}: ")
    assert len([line for line in err.splitlines() if line.startswith("Error:")]) == 1
    assert out == ""  # nothing claimed: the replay did not run


def test_registry_cas_credentials(
    auth_registry: Registry, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cas = f"oci://{auth_registry.host}/cas/secure"
    monkeypatch.setenv("CRAFTER_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("CRAFTER_REGISTRY_PASSWORD", PASSWORD)
    bundle = attest(work, capsys, "--cas", cas, "--insecure")
    code, doc, err = replay(capsys, bundle, work, "--cas", cas, "--insecure", "-o", "json")
    assert code == 0, err
    assert [s for _, _, s in outcomes(doc)] == ["same", "same", "not-replayed"]
    monkeypatch.delenv("CRAFTER_REGISTRY_USERNAME")
    code, _, err = replay(capsys, bundle, work, "--cas", cas, "--insecure")
    assert code == ExitCode.STORE and "refused anonymous access" in err


def test_fetched_bytes_are_checked_by_verify_itself(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A content store that does not check what it returns (a third-party implementation) is caught too."""
    from crafter.errors import DigestMismatchError
    from crafter.signing.keys import public_key_from_pem
    from crafter.storage import ContentStore
    from crafter.verify import VerifyResult, verify_bundle

    class Lying(ContentStore):
        def upload(self, digest: str, path: Path) -> None:
            raise NotImplementedError

        def download(self, digest: str) -> bytes:
            return b"other bytes"

        def location(self) -> str:
            return "lying-store"

    bundle = attest(work, capsys)
    other = hashlib.sha256(b"other bytes").hexdigest()
    with pytest.raises(DigestMismatchError, match=f"they hash to sha256:{other}") as err:
        verify_bundle(
            bundle, public_key=public_key_from_pem(work / "k.pub"), replay=True, cas=Lying(), cwd=work
        )
    result = err.value.result
    assert isinstance(result, VerifyResult)
    assert {r.status for r in result.replay} == {"not-replayed"}
