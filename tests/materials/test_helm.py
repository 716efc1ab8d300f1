"""HELM_CHART: reference chart archives and generated hostile or malformed ones."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crafter._internal.materials import helm
from crafter._internal.materials.archives import ArchiveLimits
from crafter._internal.materials.helm import (
    ANN_HELM_CHART_NAME,
    ANN_HELM_CHART_VERSION,
    MISSING_FILES,
    HelmChartKind,
    inspect_chart,
)
from crafter._internal.materials.interface import ANN_SIZE, CraftOptions, Sample
from crafter.errors import MaterialError

OPTS = CraftOptions()
CHART_YAML = b"apiVersion: v2\nname: demo\nversion: 1.2.3\n"
VALUES_YAML = b"replicas: 2\n"


def _tgz(entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            link = tarfile.TarInfo(name)
            link.type = tarfile.SYMTYPE
            link.linkname = target
            tf.addfile(link)
    return buf.getvalue()


def _chart(tmp_path: Path, entries: dict[str, bytes], name: str = "chart.tgz") -> str:
    path = tmp_path / name
    path.write_bytes(_tgz(entries))
    return str(path)


@pytest.mark.parametrize(
    ("name", "digest", "size", "chart", "version"),
    [
        (
            "valid-chart.tgz",
            "sha256:08a46a850789938ede61d6a53552f48cb8ba74c4e17dcf30c9c50e5783ca6a13",
            13845,
            "common",
            "2.13.3",
        ),
        (
            "empty-values.tgz",  # values.yaml of comments only
            "sha256:6c5bc910da7ecb00aa1c7be70e51db237d129e3f41ff6ada1d11ea402ff7082e",
            273,
            "comment-only-values-chart",
            "0.1.0",
        ),
    ],
)
def test_valid_chart_fixtures(
    materials_dir: Path, name: str, digest: str, size: int, chart: str, version: str
) -> None:
    crafted = HelmChartKind().craft(str(materials_dir / name), OPTS)
    assert crafted.kind == "HELM_CHART"
    assert (crafted.digest, crafted.filename, crafted.size) == (digest, name, size)
    assert crafted.annotations == {
        ANN_HELM_CHART_NAME: chart,
        ANN_HELM_CHART_VERSION: version,
        ANN_SIZE: str(size),
    }


@pytest.mark.parametrize("name", ["missing-chartyaml.tgz", "missing-valuesyaml.tgz", "missing-empty.tgz"])
def test_incomplete_chart_fixtures(materials_dir: Path, name: str) -> None:
    with pytest.raises(MaterialError, match=MISSING_FILES) as info:
        HelmChartKind().craft(str(materials_dir / name), OPTS)
    assert str(info.value).startswith(str(materials_dir / name))


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("simple.txt", "expected a gzip-compressed tar archive"),
        ("tests.zip", "expected a gzip-compressed tar archive"),
        ("tests.tar.gz", MISSING_FILES),
        ("empty.txt", "file is empty"),
    ],
)
def test_other_files_are_not_charts(materials_dir: Path, name: str, error: str) -> None:
    with pytest.raises(MaterialError, match=error):
        HelmChartKind().craft(str(materials_dir / name), OPTS)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MaterialError, match="file not found"):
        HelmChartKind().craft(str(tmp_path / "nope.tgz"), OPTS)


def test_oci_reference_is_not_resolved() -> None:
    with pytest.raises(MaterialError, match="OCI registry is not available yet") as info:
        HelmChartKind().craft("oci://ghcr.io/acme/charts/demo:1.0.0", OPTS)
    assert info.value.hint is not None
    assert "local .tgz" in info.value.hint


def test_dot_slash_prefix_and_non_string_fields(tmp_path: Path) -> None:
    chart = b"apiVersion: v2\nname: demo\nversion: 1.10\n"  # a YAML number: not recorded as "1.1"
    path = _chart(tmp_path, {"./demo/Chart.yaml": chart, "./demo/values.yaml": b""})
    crafted = HelmChartKind().craft(path, OPTS)
    assert crafted.annotations == {ANN_HELM_CHART_NAME: "demo", ANN_SIZE: str(crafted.size)}


def test_subchart_files_do_not_count(tmp_path: Path) -> None:
    entries = {
        "demo/Chart.yaml": CHART_YAML,
        "demo/charts/sub/values.yaml": VALUES_YAML,  # a subchart's values are not the chart's
    }
    with pytest.raises(MaterialError, match=MISSING_FILES):
        HelmChartKind().craft(_chart(tmp_path, entries), OPTS)


def test_files_must_be_in_the_same_chart(tmp_path: Path) -> None:
    entries = {"a/Chart.yaml": CHART_YAML, "b/values.yaml": VALUES_YAML}
    with pytest.raises(MaterialError, match=MISSING_FILES):
        HelmChartKind().craft(_chart(tmp_path, entries), OPTS)


def test_files_at_the_archive_root_do_not_count(tmp_path: Path) -> None:
    entries = {"Chart.yaml": CHART_YAML, "values.yaml": VALUES_YAML}
    with pytest.raises(MaterialError, match=MISSING_FILES):
        HelmChartKind().craft(_chart(tmp_path, entries), OPTS)


def test_symlinked_files_do_not_count(tmp_path: Path) -> None:
    path = tmp_path / "links.tgz"
    path.write_bytes(
        _tgz(
            {"demo/Chart.yaml": CHART_YAML},
            symlinks={"demo/values.yaml": "/etc/passwd"},
        )
    )
    with pytest.raises(MaterialError, match=MISSING_FILES):
        HelmChartKind().craft(str(path), OPTS)


@pytest.mark.parametrize(
    ("chart", "values", "error"),
    [
        (b"name: [unclosed", VALUES_YAML, "invalid Chart.yaml file"),
        (b"- a\n- b\n", VALUES_YAML, "invalid Chart.yaml file: not a YAML mapping"),
        (b"", VALUES_YAML, "invalid Chart.yaml file: not a YAML mapping"),
        (CHART_YAML, b"key: [unclosed", "invalid values.yaml file"),
        (CHART_YAML, b"- a list\n", "invalid values.yaml file: not a YAML mapping"),
        (b"!!python/object/apply:os.system ['true']", VALUES_YAML, "invalid Chart.yaml file"),
        (CHART_YAML, b"\xff\xfe\xfa", "invalid values.yaml file"),
    ],
)
def test_invalid_yaml(tmp_path: Path, chart: bytes, values: bytes, error: str) -> None:
    path = _chart(tmp_path, {"demo/Chart.yaml": chart, "demo/values.yaml": values})
    with pytest.raises(MaterialError, match=error):
        HelmChartKind().craft(path, OPTS)


def test_deeply_nested_yaml_is_refused(tmp_path: Path) -> None:
    nested = b"a: " + b"[" * 100_000 + b"]" * 100_000
    path = _chart(tmp_path, {"demo/Chart.yaml": CHART_YAML, "demo/values.yaml": nested})
    with pytest.raises(MaterialError, match=r"invalid values\.yaml file"):
        HelmChartKind().craft(path, OPTS)


def test_path_traversal_refused(tmp_path: Path) -> None:
    entries = {"../demo/Chart.yaml": CHART_YAML, "demo/values.yaml": VALUES_YAML}
    with pytest.raises(MaterialError, match="unsafe entry path in archive"):
        HelmChartKind().craft(_chart(tmp_path, entries), OPTS)


def test_uncompressed_size_limit(tmp_path: Path) -> None:
    # A template of 4 MiB of spaces compresses to a few KiB; it comes before the files we look for.
    entries = {"demo/templates/big.yaml": b" " * (4 << 20), "demo/Chart.yaml": CHART_YAML}
    entries["demo/values.yaml"] = VALUES_YAML
    path = _chart(tmp_path, entries)
    assert Path(path).stat().st_size < 64 << 10
    HelmChartKind().craft(path, OPTS)  # within the default 1 GiB
    with pytest.raises(MaterialError, match="archive exceeds the maximum uncompressed size"):
        HelmChartKind(limits=ArchiveLimits(max_total_size=1 << 20)).craft(path, OPTS)


def test_entry_limit(tmp_path: Path) -> None:
    entries = {f"demo/templates/t{i}.yaml": b"x: 1\n" for i in range(10)}
    entries |= {"demo/Chart.yaml": CHART_YAML, "demo/values.yaml": VALUES_YAML}
    with pytest.raises(MaterialError, match="maximum number of entries"):
        HelmChartKind(limits=ArchiveLimits(max_entries=5)).craft(_chart(tmp_path, entries), OPTS)


def test_oversized_yaml_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helm, "MAX_YAML_BYTES", 16)
    path = _chart(tmp_path, {"demo/Chart.yaml": CHART_YAML, "demo/values.yaml": VALUES_YAML})
    with pytest.raises(MaterialError, match=r"archive entry 'demo/Chart\.yaml' is too large"):
        HelmChartKind().craft(path, OPTS)


def test_plain_gzip_is_not_a_chart() -> None:
    with pytest.raises(MaterialError, match=r"invalid tar\.gz archive"):
        inspect_chart(gzip.compress(b"just text, not a tar archive" * 40))


def test_sniff(materials_dir: Path) -> None:
    kind = HelmChartKind()
    assert kind.sniff(Sample.of(str(materials_dir / "valid-chart.tgz")))
    assert kind.sniff(Sample.of(str(materials_dir / "tests.tar.gz")))  # any gzip; craft decides
    assert kind.sniff(Sample.of("oci://ghcr.io/acme/charts/demo"))
    assert not kind.sniff(Sample.of(str(materials_dir / "junit.xml")))
    assert not kind.sniff(Sample.of(str(materials_dir / "tests.zip")))
    assert not kind.sniff(Sample.of("demo-1.0.0.tgz"))  # not an existing file


@given(st.binary(max_size=300))
def test_inspect_chart_only_raises_material_errors(tail: bytes) -> None:
    for data in (tail, gzip.compress(tail), b"\x1f\x8b" + tail):
        try:
            inspect_chart(data)
        except MaterialError:
            continue
