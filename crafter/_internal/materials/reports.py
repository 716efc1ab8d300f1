"""Test and coverage report kinds: JUNIT_XML, JACOCO_XML and COBERTURA_XML.

Every XML document is parsed with ``defusedxml``: entity declarations (billion laughs, external entities) are
refused outright, and no DTD or external resource is ever fetched. Documents are parsed incrementally, as
the file is read and hashed: each element is dropped once it has been accounted for (a test case, a coverage
package), so memory stays bounded by the largest such element, not by the document. JUnit results may also
come as a zip or a tar.gz of ``*.xml`` files; archives are read in memory (never extracted) within
:class:`ArchiveLimits`.

The functions :func:`junit_suites`, :func:`jacoco_report` and :func:`cobertura_report` turn the bytes (or a
binary file object, read incrementally) into the JSON-able projections policies evaluate.

Errors give the kind and position of a problem and never quote the document (a material may be any file):
an element is named only when it is one crafter reads (``<testsuite>``, ``<report>``...), an attribute by
its name, never by its value (docs/security.md, "Error messages").
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar
from xml.etree.ElementTree import Element, ParseError
from xml.parsers.expat import ErrorString

import defusedxml
import defusedxml.ElementTree as SafeET

from crafter._internal.materials.archives import (
    DEFAULT_LIMITS,
    GZIP_MAGIC,
    ZIP_MAGICS,
    ArchiveLimits,
    iter_tar_gz,
    iter_zip,
)
from crafter._internal.materials.fileio import (
    MAX_PARSED_BYTES,
    MaterialReader,
    NamedFileError,
    streamed_file_record,
)
from crafter._internal.materials.interface import Crafted, CraftOptions, MaterialKind, Sample
from crafter.errors import MaterialError

# Annotations recorded for JUNIT_XML (totals over every suite, nested suites included; decimal strings).
ANN_JUNIT_TESTS = "chainloop.material.junit.tests"
ANN_JUNIT_FAILURES = "chainloop.material.junit.failures"
ANN_JUNIT_ERRORS = "chainloop.material.junit.errors"
ANN_JUNIT_SKIPPED = "chainloop.material.junit.skipped"

#: Nested ``<testsuite>`` deeper than this is refused: real reports nest a few levels, and the walk recurses.
MAX_SUITE_DEPTH = 64


# --- safe XML -----------------------------------------------------------------------------------------------


class Readable(Protocol):
    """A binary file object, as far as the parser uses one."""

    def read(self, size: int, /) -> bytes: ...


XmlSource = bytes | Readable


def _xml_events(source: Readable, context: str) -> Iterator[tuple[str, Element]]:
    """``("start" | "end", element)`` events of untrusted XML, parsed incrementally (16 KiB reads).

    DTDs are allowed (JaCoCo and Cobertura declare one) but never loaded; entities are refused. Problems
    are raised as :class:`MaterialError` ``<context>: <problem>`` (without a file name).
    """
    try:
        yield from SafeET.iterparse(
            source, events=("start", "end"), forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.EntitiesForbidden:
        raise MaterialError(
            f"{context}: XML entity declarations are not allowed (refused: entity expansion and external entities)"
        ) from None
    except defusedxml.DefusedXmlException as exc:  # its message quotes the declaration: named by kind only
        kind = _UNSAFE_XML.get(type(exc).__name__, "a construct crafter does not read")
        raise MaterialError(f"{context}: unsafe XML refused: {kind}") from None
    except ParseError as exc:
        raise MaterialError(f"{context}: not well-formed XML ({_xml_problem(exc)})") from None


def _xml_problem(exc: ParseError) -> str:
    """Expat's kind of error and its position; ElementTree's own message can quote the document (the name of
    an undefined entity), so it is not used."""
    code = getattr(exc, "code", None)
    kind = ErrorString(code) if isinstance(code, int) and code > 0 else None
    line, column = getattr(exc, "position", (0, 0))
    return f"{kind or 'syntax error'}: line {line}, column {column}"


_UNSAFE_XML = {
    "DTDForbidden": "a DTD",
    "ExternalReferenceForbidden": "a reference to an external resource",
    "NotSupportedError": "a construct crafter does not read",
}
# Root elements of the XML kinds crafter reads: the only element names an error quotes.
_KNOWN_ROOTS = frozenset({"testsuites", "testsuite", "report", "coverage"})


def _root_is(root: str) -> str:
    """How an error names a document's root element: by name when crafter knows it, else not at all."""
    return f"root element is <{root}>" if root in _KNOWN_ROOTS else "root element is another element"


def _walk(
    source: Readable, context: str, unit: Callable[[list[str]], bool]
) -> Iterator[tuple[bool, list[str], Element]]:
    """``(is_start, names, element)`` for every element, ``names`` being the local names from the root down
    to it (a list reused between events: read it, do not keep it).

    Once its end event has been handled, an element is detached from its parent, so the tree never grows
    with the document; except inside a *unit* (``unit(names)`` true for the element), whose whole subtree is
    kept until the unit's own end event (a test case and its failure, a coverage package).
    """
    elems: list[Element] = []
    names: list[str] = []
    keeps: list[bool] = []  # whether the children of elems[i] are kept until it ends
    for event, elem in _xml_events(source, context):
        if event == "start":
            elems.append(elem)
            names.append(local_name(elem.tag))
            keeps.append((keeps[-1] if keeps else False) or unit(names))
            yield True, names, elem
        else:
            yield False, names, elem
            elems.pop()
            names.pop()
            keeps.pop()
            if elems and not keeps[-1]:
                elems[-1].remove(elem)


def _as_file(source: XmlSource) -> Readable:
    return io.BytesIO(source) if isinstance(source, bytes) else source


def local_name(tag: object) -> str:
    """An element's name without its ``{namespace}``."""
    return str(tag).rpartition("}")[2]


# Prolog items before the root element: XML declaration / processing instructions, comments, a DOCTYPE
# whose internal subset has no ']' inside it. No nested quantifiers, so a hostile prefix cannot backtrack.
_PROLOG_ITEM = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[[^\]]*\])?\s*>)", re.S)
_ROOT_TAG = re.compile(r"\s*<(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)", re.ASCII)


def xml_root_name(text: str) -> str | None:
    """The root element's local name found in a text prefix, or None. For sniffing only: never parses."""
    pos = 0
    while (m := _PROLOG_ITEM.match(text, pos)) is not None:
        pos = m.end()
    root = _ROOT_TAG.match(text, pos)
    return root.group(1) if root else None


def _is_archive(prefix: bytes) -> bool:
    return prefix.startswith((*ZIP_MAGICS, GZIP_MAGIC))


def _ends_like_xml(sample: Sample) -> bool:
    """An XML document ends with the root's end tag (or a trailing comment or processing instruction)."""
    return sample.text_suffix.endswith(">")


# --- JUnit --------------------------------------------------------------------------------------------------

_JUNIT_ROOTS = ("testsuites", "testsuite")
_STATUS_BY_CHILD = {"error": "error", "failure": "failed", "skipped": "skipped"}
_STATUS_PRECEDENCE = ("error", "failed", "skipped")


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) else None


def _testcase(elem: Element) -> dict[str, Any]:
    found: dict[str, Element] = {}
    for child in elem:
        status = _STATUS_BY_CHILD.get(local_name(child.tag))
        if status is not None and status not in found:
            found[status] = child
    status = next((s for s in _STATUS_PRECEDENCE if s in found), "passed")
    detail = found.get(status)
    message = ""
    if detail is not None:
        message = detail.get("message") or (detail.text or "").strip()
    return {
        "name": elem.get("name", ""),
        "classname": elem.get("classname", ""),
        "status": status,
        "message": message,
        "time": _seconds(elem.get("time")) or 0.0,
    }


class _Suite:
    """A ``<testsuite>`` being read: its cases (when kept) and counts, completed at its end event."""

    __slots__ = ("case_time", "cases", "counts", "depth", "nested")

    def __init__(self, depth: int, keep_cases: bool) -> None:
        if depth > MAX_SUITE_DEPTH:
            raise MaterialError(f"test suites nested more than {MAX_SUITE_DEPTH} levels deep")
        self.depth = depth
        self.cases: list[dict[str, Any]] | None = [] if keep_cases else None
        self.case_time = 0.0
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        self.nested: list[dict[str, Any]] = []

    def add_case(self, case: dict[str, Any]) -> None:
        self.counts["tests"] += 1
        key = {"failed": "failures", "error": "errors", "skipped": "skipped"}.get(case["status"])
        if key:
            self.counts[key] += 1
        self.case_time += case["time"]
        if self.cases is not None:
            self.cases.append(case)

    def add_suite(self, suite: dict[str, Any]) -> None:
        self.nested.append(suite)

    def result(self, elem: Element) -> dict[str, Any]:
        counts = dict(self.counts)
        for sub in self.nested:
            for key in counts:
                counts[key] += sub[key]
        # The suite's own time attribute when it has a usable one; else what its cases and suites add up to.
        time = _seconds(elem.get("time"))
        if time is None:
            time = self.case_time + sum(s["time"] for s in self.nested)
        return {
            "name": elem.get("name", ""),
            **counts,
            "time": time,
            "testcases": self.cases if self.cases is not None else [],
            "suites": self.nested,
        }


def _is_testcase(names: list[str]) -> bool:
    return names[-1] == "testcase"


def _stream_suites(
    source: Readable, context: str, *, keep_cases: bool, other_roots: bool
) -> list[dict[str, Any]]:
    """The suites of one JUnit document, read incrementally. Suites are the root ``<testsuite>`` or the
    ``<testsuite>`` children of a ``<testsuites>`` root, and their ``<testsuite>`` children, recursively;
    their cases are their ``<testcase>`` children. Another root element is an error, or with ``other_roots``
    a document without suites (still read to the end: it must be well-formed)."""
    suites: list[dict[str, Any]] = []
    root = ""
    frames: list[_Suite | None] = []  # per open element: the suite it is, if it is one that counts
    for is_start, names, elem in _walk(source, context, _is_testcase):
        if is_start:
            frame: _Suite | None = None
            if len(names) == 1:
                root = names[0]
                if names[0] == "testsuite":
                    frame = _Suite(1, keep_cases)
            elif names[-1] == "testsuite":
                parent = frames[-1]
                if parent is not None:
                    frame = _Suite(parent.depth + 1, keep_cases)
                elif len(names) == 2 and names[0] == "testsuites":
                    frame = _Suite(1, keep_cases)
            frames.append(frame)
            continue
        frame = frames.pop()
        parent = frames[-1] if frames else None
        if frame is not None:
            suite = frame.result(elem)
            if parent is not None:
                parent.add_suite(suite)
            else:
                suites.append(suite)
        elif parent is not None and names[-1] == "testcase":
            parent.add_case(_testcase(elem))
    # Checked once the whole document is known to be well-formed XML, which is the first thing to fix.
    if root not in _JUNIT_ROOTS and not other_roots:
        raise MaterialError(f"{context}: {_root_is(root)}, expected <testsuites> or <testsuite>")
    return suites


def _xml_entry(name: str) -> bool:
    return name.endswith(".xml")


def _archive_suites(entries: Iterator[tuple[str, bytes]], *, keep_cases: bool) -> list[dict[str, Any]]:
    suites: list[dict[str, Any]] = []
    for name, data in entries:
        # Other XML files beside the reports (tool configs...) are skipped, as Chainloop does.
        context = f"invalid JUnit XML file {name!r} in archive"
        suites.extend(_stream_suites(io.BytesIO(data), context, keep_cases=keep_cases, other_roots=True))
    return suites


def _junit(source: XmlSource, limits: ArchiveLimits, *, keep_cases: bool) -> list[dict[str, Any]]:
    fh: Readable = _as_file(source)
    head = source[:4] if isinstance(source, bytes) else fh.read(4)
    if _is_archive(head):
        data = source if isinstance(source, bytes) else head + fh.read(MAX_PARSED_BYTES + 1 - len(head))
        if len(data) > MAX_PARSED_BYTES:
            raise MaterialError(f"archive too large to read (more than {MAX_PARSED_BYTES} bytes)")
        if data.startswith(ZIP_MAGICS):
            return _archive_suites(iter_zip(data, limits, _xml_entry), keep_cases=keep_cases)
        return _archive_suites(iter_tar_gz(data, limits, _xml_entry), keep_cases=keep_cases)
    if not isinstance(source, bytes):
        fh = _Prepend(head, fh)
    return _stream_suites(fh, "invalid JUnit XML file", keep_cases=keep_cases, other_roots=False)


class _Prepend(io.RawIOBase):
    """``head`` then the rest of ``fh``: bytes already read to look at the start of a file, given back."""

    def __init__(self, head: bytes, fh: Readable) -> None:
        super().__init__()
        self._head = head
        self._fh = fh

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._head:
            take = len(self._head) if size is None or size < 0 else size
            out, self._head = self._head[:take], self._head[take:]
            return out
        return self._fh.read(size if size is not None else -1)


def junit_suites(data: XmlSource, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> list[dict[str, Any]]:
    """The test suites of a JUnit XML document, or of every ``*.xml`` in a zip / tar.gz of them.

    ``data`` is the bytes or a binary file object (an XML document is then read incrementally; an archive
    is read whole). Each suite is ``{name, tests, failures, errors, skipped, time, testcases: [{name,
    classname, status, message, time}], suites: [nested suites]}``; ``status`` is ``passed``, ``failed``,
    ``error`` or ``skipped``; counts include nested suites. An empty list means no suites were found.
    Raises :class:`MaterialError` for malformed or unsafe input.
    """
    return _junit(data, limits, keep_cases=True)


def _in_file(path: str, exc: MaterialError) -> MaterialError:
    """The same error, naming the file it came from."""
    return MaterialError(f"{path}: {exc.message}", hint=exc.hint)


_T = TypeVar("_T")


def _read_streamed(
    value: str, options: CraftOptions, parse: Callable[[MaterialReader], _T]
) -> tuple[_T, str, int]:
    """``parse`` the material file as it is read once and hashed: ``(what parse returned, digest, size)``.
    Errors of ``parse`` name the file; those of the file itself already do."""
    with MaterialReader(value, options.progress) as reader:
        if reader.size_at_open == 0:
            reader.finish()  # "file is empty", before any parser complains of a missing root element
        try:
            result = parse(reader)
        except NamedFileError:
            raise
        except MaterialError as exc:
            raise _in_file(value, exc) from exc
        digest = reader.finish()
        return result, digest, reader.done


class JUnitKind(MaterialKind):
    """JUNIT_XML: a JUnit XML report, or a zip / tar.gz of them (the archive itself is the material)."""

    kind = "JUNIT_XML"

    def __init__(self, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits

    def sniff(self, sample: Sample) -> bool:
        if not sample.is_file:
            return False
        return _is_archive(sample.prefix) or (
            xml_root_name(sample.text_prefix) in _JUNIT_ROOTS and _ends_like_xml(sample)
        )

    def policy_input(self, path: str, name: str) -> Any:
        """``{"elements": [suites]}`` once wrapped: :func:`junit_suites`, streamed."""
        from crafter._internal.materials.policy_input import projected

        return projected(path, name, junit_suites)

    def _suites(self, reader: MaterialReader) -> list[dict[str, Any]]:
        if _is_archive(reader.head(4)):
            return _junit(reader.read_all(MAX_PARSED_BYTES), self.limits, keep_cases=False)
        return _stream_suites(reader, "invalid JUnit XML file", keep_cases=False, other_roots=False)

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        suites, digest, size = _read_streamed(value, options, self._suites)
        if not suites:
            raise MaterialError(
                f"{value}: invalid JUnit XML file, no suites found",
                hint="a JUnit report has a <testsuites> or <testsuite> root (archives: *.xml entries)",
            )
        totals = {key: sum(s[key] for s in suites) for key in ("tests", "failures", "errors", "skipped")}
        annotations = {
            ANN_JUNIT_TESTS: str(totals["tests"]),
            ANN_JUNIT_FAILURES: str(totals["failures"]),
            ANN_JUNIT_ERRORS: str(totals["errors"]),
            ANN_JUNIT_SKIPPED: str(totals["skipped"]),
        }
        return streamed_file_record(self.kind, value, digest, size, annotations)


# --- JaCoCo -------------------------------------------------------------------------------------------------


def _int_attr(elem: Element, name: str, what: str) -> int:
    raw = elem.get(name, "").strip()
    if not raw:
        return 0  # an absent attribute counts as zero, as Go's XML decoding does
    try:
        return int(raw)
    except ValueError:
        raise MaterialError(f"invalid {what}: attribute {name} is not an integer") from None


def _check_root(root: str, expected: str, what: str) -> None:
    """Called once the document was read to its end: well-formedness is reported first."""
    if root != expected:
        raise MaterialError(f"invalid {what}: {_root_is(root)}, expected <{expected}>")


def _no_unit(names: list[str]) -> bool:
    return False


_JACOCO = "JaCoCo report file"


def jacoco_report(data: XmlSource) -> dict[str, Any]:
    """A JaCoCo XML report as ``{"counters": [{type, missed, covered}]}`` (the report-level counters).
    ``data``: the bytes, or a binary file object read incrementally."""
    counters = []
    root = ""
    for is_start, names, elem in _walk(_as_file(data), f"invalid {_JACOCO}", _no_unit):
        if is_start:
            root = root or names[0]
        elif root == "report" and len(names) == 2 and names[1] == "counter":
            counters.append(
                {
                    "type": elem.get("type", ""),
                    "missed": _int_attr(elem, "missed", _JACOCO),
                    "covered": _int_attr(elem, "covered", _JACOCO),
                }
            )
    _check_root(root, "report", _JACOCO)
    return {"counters": counters}


class JacocoKind(MaterialKind):
    """JACOCO_XML: a JaCoCo XML coverage report (``<report>`` with an INSTRUCTION counter)."""

    kind = "JACOCO_XML"

    def sniff(self, sample: Sample) -> bool:
        return sample.is_file and xml_root_name(sample.text_prefix) == "report" and _ends_like_xml(sample)

    def policy_input(self, path: str, name: str) -> Any:
        """:func:`jacoco_report`, streamed."""
        from crafter._internal.materials.policy_input import projected

        return projected(path, name, jacoco_report)

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        report, digest, size = _read_streamed(value, options, jacoco_report)
        if not report["counters"]:
            raise MaterialError(f"{value}: invalid JaCoCo report file, no counters found")
        # JaCoCo always reports the INSTRUCTION counter; without it this is some other <report>.
        if not any(c["type"] == "INSTRUCTION" for c in report["counters"]):
            raise MaterialError(f"{value}: invalid JaCoCo report file: no INSTRUCTION counter")
        return streamed_file_record(self.kind, value, digest, size)


# --- Cobertura ----------------------------------------------------------------------------------------------

_COBERTURA = "Cobertura report file"


def _rate(elem: Element, name: str) -> float | None:
    """A rate attribute: absent -> 0 (as Go decodes it); NaN/Inf -> None (JSON null, "nothing measured")."""
    raw = elem.get(name, "").strip()
    if not raw:
        return 0.0
    try:
        rate = float(raw)
    except ValueError:
        raise MaterialError(f"invalid {_COBERTURA}: attribute {name} is not a number") from None
    return rate if math.isfinite(rate) else None


def _rates(elem: Element) -> dict[str, float | None]:
    return {k: _rate(elem, k) for k in ("line-rate", "branch-rate", "complexity")}


def _children(elem: Element, group: str, item: str) -> list[Element]:
    """``<group><item/>...</group>`` children, the ``xml:"group>item"`` path of Go's decoder."""
    return [i for g in elem if local_name(g.tag) == group for i in g if local_name(i.tag) == item]


def _lines(elem: Element) -> list[dict[str, Any]]:
    lines = []
    for line in _children(elem, "lines", "line"):
        entry: dict[str, Any] = {
            "number": _int_attr(line, "number", _COBERTURA),
            "hits": _int_attr(line, "hits", _COBERTURA),
            "branch": line.get("branch", "").strip().lower() == "true",
        }
        if line.get("condition-coverage"):
            entry["condition-coverage"] = line.get("condition-coverage")
        lines.append(entry)
    return lines


def _cobertura_class(cls: Element) -> dict[str, Any]:
    methods = [
        {"name": m.get("name", ""), "signature": m.get("signature", ""), **_rates(m), "lines": _lines(m)}
        for m in _children(cls, "methods", "method")
    ]
    return {
        "name": cls.get("name", ""),
        "filename": cls.get("filename", ""),
        **_rates(cls),
        "methods": methods,
        "lines": _lines(cls),
    }


def _is_package(names: list[str]) -> bool:
    """``<coverage><packages><package>``: the unit a Cobertura report is read by, one package at a time."""
    return len(names) == 3 and names[1] == "packages" and names[2] == "package"


def _cobertura(source: Readable, *, keep_packages: bool) -> dict[str, Any]:
    """The projection of :func:`cobertura_report`; without ``keep_packages``, packages are checked and
    counted (``"packages"`` then holds ``None`` for each) but their projections are not kept."""
    root_fields: dict[str, Any] = {}
    sources: list[str] = []
    packages: list[dict[str, Any] | None] = []
    root = ""
    for is_start, names, elem in _walk(source, f"invalid {_COBERTURA}", _is_package):
        if root and root != "coverage":
            continue  # read to the end all the same: malformed XML is reported before a wrong root
        if is_start:
            root = root or names[0]
            if names == ["coverage"]:  # the root's attributes are complete at its start
                counts = {
                    k: _int_attr(elem, k, _COBERTURA)
                    for k in (
                        "lines-covered",
                        "lines-valid",
                        "branches-covered",
                        "branches-valid",
                        "timestamp",
                    )
                }
                root_fields = {**_rates(elem), **counts, "version": elem.get("version", "")}
        elif _is_package(names):
            package = {
                "name": elem.get("name", ""),
                **_rates(elem),
                "classes": [_cobertura_class(c) for c in _children(elem, "classes", "class")],
            }
            packages.append(package if keep_packages else None)
        elif len(names) == 3 and names[1] == "sources" and names[2] == "source":
            sources.append((elem.text or "").strip())
    _check_root(root, "coverage", _COBERTURA)
    return {**root_fields, "sources": sources, "packages": packages}


def cobertura_report(data: XmlSource) -> dict[str, Any]:
    """A Cobertura XML report projected as JSON (the shape Chainloop's policies see; NaN rates are null).
    ``data``: the bytes, or a binary file object read incrementally (one package in memory at a time)."""
    return _cobertura(_as_file(data), keep_packages=True)


def _cobertura_summary(source: Readable) -> dict[str, Any]:
    return _cobertura(source, keep_packages=False)


class CoberturaKind(MaterialKind):
    """COBERTURA_XML: a Cobertura XML coverage report (``<coverage>`` root)."""

    kind = "COBERTURA_XML"

    def sniff(self, sample: Sample) -> bool:
        return sample.is_file and xml_root_name(sample.text_prefix) == "coverage" and _ends_like_xml(sample)

    def policy_input(self, path: str, name: str) -> Any:
        """:func:`cobertura_report`, streamed."""
        from crafter._internal.materials.policy_input import projected

        return projected(path, name, cobertura_report)

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        report, digest, size = _read_streamed(value, options, _cobertura_summary)
        # Only a dataless report is refused: 0% coverage still lists packages, and an empty project
        # reports line-rate="NaN" (0/0), which is not 0 (same rule as Chainloop).
        if report["line-rate"] == 0 and not report["packages"]:
            raise MaterialError(f"{value}: invalid {_COBERTURA}, missing coverage data")
        return streamed_file_record(self.kind, value, digest, size)
