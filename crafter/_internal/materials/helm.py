"""HELM_CHART: a packaged Helm chart (``helm package`` output, a gzip-compressed tar).

The archive is read in memory, once, and never extracted: only ``<chart>/Chart.yaml`` and
``<chart>/values.yaml`` are read, each with a size cap, and parsed with crafter's bounded safe YAML loader
(:mod:`crafter._internal.document_reader`). Charts in an OCI registry (``oci://``) need registry access, which is not
available yet.
"""

from __future__ import annotations

from typing import Any

import attrs

from crafter._internal.document_reader import DocumentLimits, load_yaml
from crafter._internal.materials.archives import DEFAULT_LIMITS, GZIP_MAGIC, ArchiveLimits, iter_tar_gz
from crafter._internal.materials.fileio import file_record, read_file
from crafter._internal.materials.interface import Crafted, CraftOptions, MaterialKind, Sample
from crafter._internal.redaction import Redaction
from crafter.errors import MaterialError

# Annotations recorded when Chart.yaml has string ``name`` / ``version`` fields.
ANN_HELM_CHART_NAME = "chainloop.material.helm.chart.name"
ANN_HELM_CHART_VERSION = "chainloop.material.helm.chart.version"

OCI_PREFIX = "oci://"
CHART_FILE = "Chart.yaml"
# The keys of Chart.yaml (Helm's chart format): the only keys of a chart an error quotes.
_REDACTION = Redaction(
    frozenset(
        [
            "apiVersion",
            "name",
            "version",
            "kubeVersion",
            "description",
            "type",
            "keywords",
            "home",
            "sources",
            "dependencies",
            "maintainers",
            "icon",
            "appVersion",
            "deprecated",
            "annotations",
        ]
    )
)
VALUES_FILE = "values.yaml"
MISSING_FILES = f"missing required files in the helm chart: {CHART_FILE} and {VALUES_FILE}"
#: Chart.yaml and values.yaml larger than this are refused before they are read.
MAX_YAML_BYTES = 16 << 20

#: Bounds on Chart.yaml and values.yaml, above the defaults: a large chart's values.yaml may hold tens of
#: thousands of nodes, and it is only checked to be a mapping (docs/security.md).
YAML_LIMITS = DocumentLimits(max_aliases=1000, max_nodes=1_000_000)


@attrs.frozen
class ChartInfo:
    """What a valid chart archive told us."""

    directory: str  # the chart's top-level directory in the archive
    metadata: dict[str, Any]  # Chart.yaml


def _top_level_file(name: str) -> tuple[str, str] | None:
    """``("mychart", "Chart.yaml")`` for ``mychart/Chart.yaml`` (or ``./mychart/...``); None at other depths,
    so a subchart's ``mychart/charts/sub/Chart.yaml`` never stands in for the chart's own."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if len(parts) == 2 and parts[1] in (CHART_FILE, VALUES_FILE):
        return parts[0], parts[1]
    return None


def _load_yaml(data: bytes, what: str) -> Any:
    # crafter's bounded safe loader: never constructs Python objects, refuses alias bombs, deep nesting and
    # duplicate keys before expanding anything. Errors give positions and kinds, never the file's content (of
    # its keys, only Helm's own Chart.yaml names are quoted).
    return load_yaml(data, f"invalid {what} file", MaterialError, limits=YAML_LIMITS, redaction=_REDACTION)


def _wanted(name: str) -> bool:
    return _top_level_file(name) is not None


def inspect_chart(data: bytes, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> ChartInfo:
    """Validate a packaged chart: a ``<chart>/Chart.yaml`` YAML mapping and a ``<chart>/values.yaml`` that is
    empty or a YAML mapping, in the same directory. Raises :class:`MaterialError` (without a file name)."""
    if not data.startswith(GZIP_MAGIC):
        raise MaterialError("not a Helm chart: expected a gzip-compressed tar archive (.tgz)")
    charts: dict[str, Any] = {}
    values: set[str] = set()
    for name, content in iter_tar_gz(data, limits, _wanted, max_read=MAX_YAML_BYTES):
        found = _top_level_file(name)
        assert found is not None  # _wanted selected it
        directory, filename = found
        if filename == CHART_FILE:
            metadata = _load_yaml(content, CHART_FILE)
            if not isinstance(metadata, dict):
                raise MaterialError(f"invalid {CHART_FILE} file: not a YAML mapping")
            charts[directory] = metadata
        else:
            loaded = _load_yaml(content, VALUES_FILE)
            # An empty or comment-only values.yaml loads as None, which Helm accepts.
            if loaded is not None and not isinstance(loaded, dict):
                raise MaterialError(f"invalid {VALUES_FILE} file: not a YAML mapping")
            values.add(directory)
        if directory in charts and directory in values:
            return ChartInfo(directory=directory, metadata=charts[directory])
    raise MaterialError(MISSING_FILES)


class HelmChartKind(MaterialKind):
    """HELM_CHART: a local packaged chart (``.tgz``); the archive itself is the material."""

    kind = "HELM_CHART"
    policy_reads_content = False  # as in Chainloop: policies see the chart's metadata only

    def __init__(self, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits

    def sniff(self, sample: Sample) -> bool:
        if sample.value.startswith(OCI_PREFIX):
            return True
        return sample.is_file and sample.prefix.startswith(GZIP_MAGIC)

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        if value.startswith(OCI_PREFIX):
            raise MaterialError(
                f"{value}: resolving a Helm chart from an OCI registry is not available yet",
                hint="pull the chart (`helm pull oci://...`) and add the local .tgz file instead",
            )
        fb = read_file(value)
        try:
            chart = inspect_chart(fb.data, limits=self.limits)
        except MaterialError as exc:
            raise MaterialError(f"{value}: {exc.message}", hint=exc.hint) from exc
        annotations = {
            key: chart.metadata[field]
            for key, field in ((ANN_HELM_CHART_NAME, "name"), (ANN_HELM_CHART_VERSION, "version"))
            # A YAML number such as 1.10 would load as 1.1: only string fields are recorded as they are.
            if isinstance(chart.metadata.get(field), str) and chart.metadata[field]
        }
        return file_record(self.kind, fb, annotations)
