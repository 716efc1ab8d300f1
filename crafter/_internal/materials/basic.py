"""STRING, ARTIFACT and EVIDENCE, plus the helpers every file-based kind of this package shares.

The helpers (``invalid``, ``load_json``, ``check_schema``...) are internal to
``crafter._internal.materials``: they keep the error wording and the read-once discipline identical across kinds.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
from typing import Any

from crafter._internal.materials.fileio import (
    FileBytes,
    MaterialReader,
    hash_file,
    parse_json,
    read_file,
    streamed_file_record,
)
from crafter._internal.materials.interface import (
    ANN_EVIDENCE_ID,
    ANN_EVIDENCE_SCHEMA,
    ANN_SIZE,
    Crafted,
    CraftOptions,
    MaterialKind,
    Sample,
)
from crafter._internal.redaction import Redaction, schema_names, schema_problem
from crafter._internal.schema_check import CompiledSchema
from crafter.errors import MaterialError

#: Reasons are short (they never quote the document); a longer one is cut, to keep error lines readable.
_MAX_REASON = 300


def invalid(path: str, what: str, reason: str, hint: str | None = None) -> MaterialError:
    """The one wording of a kind mismatch: ``<path>: invalid <what>: <reason>``, on one line."""
    reason = " ".join(reason.split())
    if len(reason) > _MAX_REASON:
        reason = reason[: _MAX_REASON - 3] + "..."
    return MaterialError(f"{path}: invalid {what}: {reason}", hint=hint)


def load_json(path: str, what: str) -> tuple[FileBytes, Any]:
    """Read ``path`` once, hash those bytes and parse them as JSON."""
    fb = read_file(path)
    return fb, parse_json(fb, what)


def str_field(obj: object, key: str) -> str:
    """``obj[key]`` when ``obj`` is an object and that value a string, else ``""``: a wrong shape counts
    as absent, for fields that are read only to annotate."""
    if isinstance(obj, dict):
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return ""


def json_object(doc: object, path: str, what: str) -> dict[str, Any]:
    """``doc`` when it is a JSON object, else the kind-mismatch error."""
    if not isinstance(doc, dict):
        raise invalid(path, what, "not a JSON object")
    return doc


_CLOSERS = {"{": "}", "[": "]"}


def json_prefix(sample: Sample, opener: str = "{") -> str:
    """The sniffed text of a file whose text starts with ``opener`` (``{`` or ``[``) and ends with the
    matching closer, else ``""``: the first test of every JSON kind's ``sniff``. A file that only starts like
    JSON (a truncated download, a disk image with a JSON header) is not parsed to find out."""
    text = sample.text_prefix
    if not (sample.is_file and text.startswith(opener) and sample.text_suffix.endswith(_CLOSERS[opener])):
        return ""
    return text


def json_prefix_has(sample: Sample, markers: tuple[str, ...]) -> bool:
    """Whether a file starting with ``{`` shows one of ``markers`` in its sniffed prefix."""
    text = json_prefix(sample)
    return any(marker in text for marker in markers)


def jsonschema_module() -> Any:
    """The ``jsonschema`` package, imported on first use rather than at module import (start-up time
    matters and most commands never validate a document). Imported by name because the package ships no
    type information: its objects are ``Any`` either way, and no ``type: ignore`` goes stale if stubs come."""
    return importlib.import_module("jsonschema")


@functools.cache
def structural_schema(schema_file: str) -> CompiledSchema:
    """One of our structural schemas in ``schemas/materials``, compiled once per process on first use."""
    from crafter._internal.resources import load_schema

    return CompiledSchema(load_schema(f"materials/{schema_file}"))


def first_schema_error(errors: list[Any], names: frozenset[str] = frozenset()) -> str:
    """``<json path>: <problem>`` of the most relevant of jsonschema's errors (its own ranking: the
    shallowest error, preferring a definite failure over an ``anyOf``/``oneOf`` summary).

    It quotes nothing of the document (a material may be any file): no value, and of the path's keys only
    ``names``, the schema's own (others are written ``*``); jsonschema's own message, which quotes the
    value, is not used (:func:`crafter._internal.redaction.schema_problem`)."""
    err = jsonschema_module().exceptions.best_match(errors)
    return schema_problem(err, Redaction(names, root="$"))


@functools.cache
def _schema_file_names(schema_file: str) -> frozenset[str]:
    return schema_names(structural_schema(schema_file).schema)


def check_schema(doc: object, schema_file: str, path: str, what: str) -> None:
    """Validate ``doc`` against one of our structural schemas in ``schemas/materials``."""
    try:
        errors = structural_schema(schema_file).errors(doc)
    except RecursionError:
        raise invalid(path, what, "document nested too deeply to validate") from None
    if errors:
        raise invalid(path, what, first_schema_error(errors, _schema_file_names(schema_file)))


def check_read(doc: object, errors: list[Any] | None, schema_file: str, path: str, what: str) -> None:
    """:func:`check_schema` for a document read by :func:`crafter._internal.materials.jsonstream.read_checked`: the
    errors it found (none: valid), or, when it left the check to its caller (None), a check of ``doc``."""
    if errors is None:
        check_schema(doc, schema_file, path, what)
    elif errors:
        raise invalid(path, what, first_schema_error(errors, _schema_file_names(schema_file)))


class StringKind(MaterialKind):
    """A literal value: recorded as is, digest over its UTF-8 bytes, never uploaded."""

    kind = "STRING"
    file_based = False
    can_be_subject = False
    policy_reads_content = False

    def sniff(self, sample: Sample) -> bool:
        # An existing path (file or directory) is never taken for a string: it would silently record the path
        # instead of what is there.
        return bool(sample.value) and not sample.is_file and not os.path.exists(sample.value)

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        if not value:
            raise MaterialError("empty value: a STRING material needs a non-empty value")
        try:
            # surrogateescape gives back the original bytes of an undecodable command-line argument.
            data = value.encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError as exc:
            raise MaterialError(f"{value!r}: STRING value is not valid Unicode text ({exc.reason})") from exc
        return Crafted(
            kind=self.kind,
            digest="sha256:" + hashlib.sha256(data).hexdigest(),
            value=value,
            annotations={ANN_SIZE: str(len(data))},
        )


class ArtifactKind(MaterialKind):
    """Any non-empty file, hashed in a stream so memory stays constant whatever its size."""

    kind = "ARTIFACT"

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        return streamed_record(self.kind, value, options)


def streamed_record(kind: str, path: str, options: CraftOptions) -> Crafted:
    """A file material hashed in a stream (never held in memory): digest, base name, size."""
    digest, size = hash_file(path, options.progress)
    return streamed_file_record(kind, path, digest, size)


#: Evidence beyond this size is hashed as a stream, never parsed for its id (that would hold it in memory).
EVIDENCE_PARSE_LIMIT = 64 << 20


class EvidenceKind(MaterialKind):
    """Any non-empty file. A JSON evidence envelope ``{"chainloop.material.evidence.id" (or deprecated
    ``"id"``), "schema", "data"}`` adds the evidence id and schema annotations; ``data`` must be present
    and not null. EVIDENCE is never auto-detected (Chainloop's rule): a contract or ``--kind`` selects it.
    """

    kind = "EVIDENCE"

    def sniff(self, sample: Sample) -> bool:
        return False

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        with MaterialReader(value, options.progress) as reader:
            data: bytes | None = None
            # Small enough to parse, and starting (after a BOM and whitespace) with "{": maybe an envelope.
            if reader.size_at_open <= EVIDENCE_PARSE_LIMIT:
                head = reader.read(64)
                if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
                    data = head + reader.read_all(EVIDENCE_PARSE_LIMIT - len(head))
            digest = reader.finish()
            size = reader.done
        annotations = _evidence_annotations(data) if data is not None else {}
        return streamed_file_record(self.kind, value, digest, size, annotations)


def _evidence_annotations(data: bytes) -> dict[str, str]:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}  # evidence may be anything: no annotations, no error
    evidence_id = str_field(doc, ANN_EVIDENCE_ID) or str_field(doc, "id")
    if not evidence_id or doc.get("data") is None:
        return {}
    annotations = {ANN_EVIDENCE_ID: evidence_id}
    schema = str_field(doc, "schema")
    if schema:
        annotations[ANN_EVIDENCE_SCHEMA] = schema
    return annotations
