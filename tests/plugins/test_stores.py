"""Bundle and content stores by reference scheme: plugin stores used end to end, the built-ins, a plugin's
errors."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType

import pytest

from crafter import Crafter
from crafter._internal.storage.file import DirectoryContentStore, DirectoryStore, FileStore
from crafter._internal.storage.oci import OciContentStore, OciStore
from crafter._internal.storage.schemes import PluginContentStore, PluginStore
from crafter._internal.verify.cas import open_content_store
from crafter.errors import ExitCode, UsageError
from crafter.signing.keys import generate_key_pair, public_key_from_pem
from crafter.storage import StoreError, bundle_store, content_store
from crafter.verify import verify_bundle, verify_reference
from tests.conftest import run_cli

CONTRACT = "schemaVersion: v1\nmaterials:\n  - type: ARTIFACT\n    name: file\n"


def test_the_built_in_schemes(tmp_path: Path) -> None:
    assert type(bundle_store(str(tmp_path / "b.json"))) is FileStore
    assert type(bundle_store(str(tmp_path))) is DirectoryStore
    assert type(bundle_store(f"file://{tmp_path}/b.json")) is FileStore
    assert type(bundle_store("oci://127.0.0.1:5000/app:v1")) is OciStore
    assert type(content_store(str(tmp_path))) is DirectoryContentStore
    assert type(content_store("oci://127.0.0.1:5000/cas")) is OciContentStore
    with pytest.raises(StoreError, match=r"s3:// is not a known content store scheme") as info:
        content_store("s3://bucket")
    assert info.value.hint == "known: a path, file://, oci://"


def test_plugin_stores_end_to_end(test_plugins: ModuleType, tmp_path: Path) -> None:
    """A content store and a bundle store from the test distribution, through the library: the material's
    bytes land in one, the signed bundle in the other, and the bundle read back verifies."""
    (tmp_path / "contract.yaml").write_text(CONTRACT)
    data = tmp_path / "file.txt"
    data.write_text("released\n")
    key, pub = generate_key_pair(tmp_path / "k", b"pw")
    c = Crafter(state_dir=tmp_path / "state", cwd=tmp_path)
    c.init(contract=tmp_path / "contract.yaml", project="p")
    cas = content_store("mem://cas")
    assert isinstance(cas, PluginContentStore) and cas.location() == "mem://cas"
    (material,) = c.add([str(data)], name="file", cas=cas)
    assert material.uploaded_to_cas
    digest = "sha256:" + hashlib.sha256(data.read_bytes()).hexdigest()
    assert test_plugins.CONTENTS["cas"] == {digest: data.read_bytes()}
    assert cas.download(digest) == data.read_bytes()
    store = bundle_store("mem://releases")
    assert isinstance(store, PluginStore)
    result = c.push(key=str(key), password=b"pw", bundle=tmp_path / "b.sigstore.json", stores=[store])
    assert result.stored == (f"mem://releases/{result.payload_digest}",)
    fetched = tmp_path / "fetched.sigstore.json"
    fetched.write_bytes(bundle_store("mem://releases").get())
    checked = verify_bundle(fetched, public_key=public_key_from_pem(pub), materials=[data])
    assert checked.verified
    # verify reads the bundle from the plugin store itself, and accepts its content store for --replay
    remote = verify_reference("mem://releases", public_key=public_key_from_pem(pub), materials=[data])
    assert remote.verified and remote.path == "mem://releases"
    assert isinstance(open_content_store("mem://cas"), PluginContentStore)
    with pytest.raises(UsageError, match="no such directory"):
        open_content_store(str(tmp_path / "missing"))


def test_a_plugin_content_store_through_the_cli(
    test_plugins: ModuleType, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "contract.yaml").write_text(CONTRACT)
    (cli_env / "file.txt").write_text("released\n")
    assert run_cli(capsys, "init", "--contract", str(cli_env / "contract.yaml"), "--project", "p")[0] == 0
    code, _, err = run_cli(capsys, "add", "--cas", "mem://cli", "--name", "file", "--value", "../file.txt")
    assert code == 0, err
    assert list(test_plugins.CONTENTS["cli"].values()) == [b"released\n"]
    code, _, err = run_cli(capsys, "add", "--cas", "fail://x", "--name", "file", "--value", "../file.txt")
    assert code == ExitCode.STORE
    assert "content store plugin 'fail' (entry point fail = crafter_test_plugins:FailingContentStore" in err
    assert "uploading sha256:" in err and "failed: ValueError: the test bucket is read-only" in err


def test_a_plugin_store_raising_value_error_is_a_store_error(
    test_plugins: ModuleType, tmp_path: Path
) -> None:
    store = bundle_store("fail://bucket")
    with pytest.raises(StoreError) as info:
        store.put(b"{}", statement_digest="sha256:" + "0" * 64)
    assert info.value.exit_code == ExitCode.STORE
    assert info.value.message == (
        "bundle store plugin 'fail' (entry point fail = crafter_test_plugins:FailingStore in "
        "crafter.bundle_stores, distribution crafter-test-plugins): storing the bundle failed: "
        "ValueError: the test bucket is read-only"
    )
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(StoreError, match="reading the bundle failed: ValueError: the test bucket is empty"):
        store.get()


def test_a_plugin_never_replaces_a_built_in_scheme(test_plugins: ModuleType, tmp_path: Path) -> None:
    assert type(bundle_store(f"file://{tmp_path}")) is DirectoryStore
    with pytest.raises(StoreError) as info:
        bundle_store("nope://x")
    assert info.value.hint == "known: a path, file://, oci://, fail://, mem://"


def test_pull_reads_a_plugin_bundle_store(
    test_plugins: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle_store("mem://releases").put(b'{"bundle": 1}', statement_digest="sha256:" + "1" * 64)
    out = tmp_path / "pulled.json"
    code, _, err = run_cli(capsys, "pull", "mem://releases", "-o", str(out))
    assert code == 0, err
    assert out.read_bytes() == b'{"bundle": 1}'
    code, _, err = run_cli(capsys, "pull", "fail://bucket")
    assert code == ExitCode.STORE and "bundle store plugin 'fail'" in err and "ValueError" in err
    code, _, err = run_cli(capsys, "pull", str(tmp_path))
    assert code == ExitCode.USAGE and "is not an OCI reference" in err
