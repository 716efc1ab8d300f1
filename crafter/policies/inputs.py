"""The input document a policy receives (reference section 3.2), built once per material.

The material's JSON (XML reports projected to JSON, attestations decoded to their statement), a top-level
array wrapped as ``{"elements": [...]}``, and ``chainloop_metadata``: the material's in-toto descriptor plus
the project name and version and, as a crafter extension, ``evaluation_time`` (RFC 3339 UTC), which
time-dependent policies read instead of the clock so that a replay gives the same answer. The same bytes go
to every engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from crafter.errors import PolicyError
from crafter.models import Material

if TYPE_CHECKING:
    from crafter.materials.reports import Readable

#: Kinds whose content policies do not see (Chainloop does not read them either).
_NOT_READ = {"STRING", "CONTAINER_IMAGE", "HELM_CHART"}


def _xml_projection(kind: str) -> Callable[[Readable], Any] | None:
    from crafter.materials import reports

    projections: dict[str, Callable[[Readable], Any]] = {
        "JUNIT_XML": reports.junit_suites,
        "JACOCO_XML": reports.jacoco_report,
        "COBERTURA_XML": reports.cobertura_report,
    }
    return projections.get(kind)


def _content(material: Material, path: str | None) -> Any:
    if material.kind in _NOT_READ or path is None:
        return {}
    from crafter.files import open_regular
    from crafter.materials.fileio import MAX_PARSED_BYTES

    # A regular file only, read with a cap (the material may have been replaced by a FIFO since it was added).
    with open_regular(path, what=f"material {material.name!r}", error=PolicyError) as fh:
        if fh.size == 0:
            return {}
        projection = _xml_projection(material.kind)
        if projection is not None:
            return projection(fh)  # parsed as it is read: memory does not grow with the report
        data = fh.read_at_most(MAX_PARSED_BYTES)
        if len(data) > MAX_PARSED_BYTES:
            raise PolicyError(
                f"{path}: material {material.name!r} is larger than {MAX_PARSED_BYTES} bytes, "
                "too large for policies to read"
            )
    if not data:
        return {}
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        from crafter.redaction import json_problem  # position and kind: never the file's content

        # An ARTIFACT or EVIDENCE that is not JSON: policies see its metadata only, as the reference refuses it.
        raise PolicyError(
            f"{path}: material {material.name!r} ({material.kind}) is not JSON, so policies cannot read it "
            f"({json_problem(exc)})"
        ) from None
    if material.kind in ("ATTESTATION", "SLSA_PROVENANCE"):
        from crafter.materials.attestations import extract_statement

        return extract_statement(doc, path)
    return doc


def metadata(
    material: Material, *, project: str = "", version: str = "", evaluation_time: str = ""
) -> dict[str, Any]:
    from crafter.descriptors import material_descriptor

    meta = material_descriptor(material)
    if project:
        meta["project_name"] = project
    if version:
        meta["project_version_name"] = version
    if evaluation_time:
        meta["evaluation_time"] = evaluation_time
    return meta


def material_input(
    material: Material,
    path: str | None,
    *,
    project: str = "",
    version: str = "",
    evaluation_time: str = "",
) -> bytes:
    """The input document for ``material`` whose file is at ``path`` (None for non-file materials)."""
    content = _content(material, path)
    doc: dict[str, Any]
    if isinstance(content, list):
        doc = {"elements": content}
    elif isinstance(content, Mapping):
        doc = dict(content)
    else:
        doc = {}
    doc["chainloop_metadata"] = metadata(
        material, project=project, version=version, evaluation_time=evaluation_time
    )
    return encode(doc)


def statement_input(statement: Mapping[str, Any]) -> bytes:
    """The statement as attestation policies receive it: compact JSON with sorted keys (the form it is signed
    in), so the same statement always gives the same bytes."""
    return json.dumps(statement, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def encode(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
