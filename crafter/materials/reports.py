"""Test and coverage report kinds: JUNIT_XML, JACOCO_XML and COBERTURA_XML.

Every XML document is parsed with ``defusedxml``: entity declarations (billion laughs, external entities) are
refused outright, and no DTD or external resource is ever fetched. JUnit results may also come as a zip or a
tar.gz of ``*.xml`` files; archives are read in memory (never extracted) within :class:`ArchiveLimits`.

The pure functions :func:`junit_suites`, :func:`jacoco_report` and :func:`cobertura_report` turn the bytes
into the JSON-able projections policies evaluate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from crafter.errors import MaterialError
from crafter.materials.archives import (
    DEFAULT_LIMITS,
    GZIP_MAGIC,
    ZIP_MAGICS,
    ArchiveLimits,
    iter_tar_gz,
    iter_zip,
)
from crafter.materials.fileio import file_record, read_file
from crafter.materials.interface import Crafted, CraftOptions, MaterialKind, Sample

# Annotations recorded for JUNIT_XML (totals over every suite, nested suites included; decimal strings).
ANN_JUNIT_TESTS = "chainloop.material.junit.tests"
ANN_JUNIT_FAILURES = "chainloop.material.junit.failures"
ANN_JUNIT_ERRORS = "chainloop.material.junit.errors"
ANN_JUNIT_SKIPPED = "chainloop.material.junit.skipped"

#: Nested ``<testsuite>`` deeper than this is refused: real reports nest a few levels, and the walk recurses.
MAX_SUITE_DEPTH = 64


# --- safe XML -----------------------------------------------------------------------------------------------


def parse_xml(data: bytes) -> Element:
    """Parse untrusted XML bytes; raises :class:`MaterialError` (without a file name) on anything unsafe."""
    try:
        # DTDs are allowed (JaCoCo and Cobertura declare one) but never loaded; entities are refused.
        root: Element = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden as exc:
        raise MaterialError(
            "XML entity declarations are not allowed (refused: entity expansion and external entities)"
        ) from exc
    except defusedxml.DefusedXmlException as exc:
        raise MaterialError(f"unsafe XML refused: {exc}") from exc
    except ParseError as exc:
        raise MaterialError(f"not well-formed XML ({exc})") from exc
    return root


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


def _suite(elem: Element, depth: int) -> dict[str, Any]:
    if depth > MAX_SUITE_DEPTH:
        raise MaterialError(f"test suites nested more than {MAX_SUITE_DEPTH} levels deep")
    cases = [_testcase(c) for c in elem if local_name(c.tag) == "testcase"]
    nested = [_suite(c, depth + 1) for c in elem if local_name(c.tag) == "testsuite"]
    counts = {"tests": len(cases), "failures": 0, "errors": 0, "skipped": 0}
    for case in cases:
        key = {"failed": "failures", "error": "errors", "skipped": "skipped"}.get(case["status"])
        if key:
            counts[key] += 1
    for sub in nested:
        for key in counts:
            counts[key] += sub[key]
    # The suite's own time attribute when it has a usable one; else what its cases and suites add up to.
    time = _seconds(elem.get("time"))
    if time is None:
        time = sum(c["time"] for c in cases) + sum(s["time"] for s in nested)
    return {"name": elem.get("name", ""), **counts, "time": time, "testcases": cases, "suites": nested}


def _suites_of(root: Element) -> list[dict[str, Any]]:
    if local_name(root.tag) == "testsuite":
        return [_suite(root, 1)]
    return [_suite(c, 1) for c in root if local_name(c.tag) == "testsuite"]


def _xml_entry(name: str) -> bool:
    return name.endswith(".xml")


def _archive_suites(entries: Iterator[tuple[str, bytes]]) -> list[dict[str, Any]]:
    suites: list[dict[str, Any]] = []
    for name, data in entries:
        try:
            root = parse_xml(data)
        except MaterialError as exc:
            raise MaterialError(f"invalid JUnit XML file {name!r} in archive: {exc.message}") from exc
        # Other XML files beside the reports (tool configs...) are skipped, as Chainloop does.
        if local_name(root.tag) in _JUNIT_ROOTS:
            suites.extend(_suites_of(root))
    return suites


def junit_suites(data: bytes, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> list[dict[str, Any]]:
    """The test suites of a JUnit XML document, or of every ``*.xml`` in a zip / tar.gz of them.

    Each suite is ``{name, tests, failures, errors, skipped, time, testcases: [{name, classname, status,
    message, time}], suites: [nested suites]}``; ``status`` is ``passed``, ``failed``, ``error`` or
    ``skipped``; counts include nested suites. An empty list means no suites were found.
    Raises :class:`MaterialError` for malformed or unsafe input.
    """
    if data.startswith(ZIP_MAGICS):
        return _archive_suites(iter_zip(data, limits, _xml_entry))
    if data.startswith(GZIP_MAGIC):
        return _archive_suites(iter_tar_gz(data, limits, _xml_entry))
    try:
        root = parse_xml(data)
    except MaterialError as exc:
        raise MaterialError(f"invalid JUnit XML file: {exc.message}") from exc
    name = local_name(root.tag)
    if name not in _JUNIT_ROOTS:
        raise MaterialError(
            f"invalid JUnit XML file: root element is <{name}>, expected <testsuites> or <testsuite>"
        )
    return _suites_of(root)


def _in_file(path: str, exc: MaterialError) -> MaterialError:
    """The same error, naming the file it came from."""
    return MaterialError(f"{path}: {exc.message}", hint=exc.hint)


class JUnitKind(MaterialKind):
    """JUNIT_XML: a JUnit XML report, or a zip / tar.gz of them (the archive itself is the material)."""

    kind = "JUNIT_XML"

    def __init__(self, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits

    def sniff(self, sample: Sample) -> bool:
        if not sample.is_file:
            return False
        return _is_archive(sample.prefix) or xml_root_name(sample.text_prefix) in _JUNIT_ROOTS

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        fb = read_file(value)
        try:
            suites = junit_suites(fb.data, limits=self.limits)
        except MaterialError as exc:
            raise _in_file(value, exc) from exc
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
        return file_record(self.kind, fb, annotations)


# --- JaCoCo -------------------------------------------------------------------------------------------------


def _int_attr(elem: Element, name: str, what: str) -> int:
    raw = elem.get(name, "").strip()
    if not raw:
        return 0  # an absent attribute counts as zero, as Go's XML decoding does
    try:
        return int(raw)
    except ValueError:
        raise MaterialError(f"invalid {what}: attribute {name}={raw!r} is not an integer") from None


def _expect_root(data: bytes, expected: str, what: str) -> Element:
    try:
        root = parse_xml(data)
    except MaterialError as exc:
        raise MaterialError(f"invalid {what}: {exc.message}") from exc
    name = local_name(root.tag)
    if name != expected:
        raise MaterialError(f"invalid {what}: root element is <{name}>, expected <{expected}>")
    return root


def jacoco_report(data: bytes) -> dict[str, Any]:
    """A JaCoCo XML report as ``{"counters": [{type, missed, covered}]}`` (the report-level counters)."""
    what = "JaCoCo report file"
    root = _expect_root(data, "report", what)
    counters = [
        {
            "type": c.get("type", ""),
            "missed": _int_attr(c, "missed", what),
            "covered": _int_attr(c, "covered", what),
        }
        for c in root
        if local_name(c.tag) == "counter"
    ]
    return {"counters": counters}


class JacocoKind(MaterialKind):
    """JACOCO_XML: a JaCoCo XML coverage report (``<report>`` with an INSTRUCTION counter)."""

    kind = "JACOCO_XML"

    def sniff(self, sample: Sample) -> bool:
        return sample.is_file and xml_root_name(sample.text_prefix) == "report"

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        fb = read_file(value)
        try:
            report = jacoco_report(fb.data)
        except MaterialError as exc:
            raise _in_file(value, exc) from exc
        if not report["counters"]:
            raise MaterialError(f"{value}: invalid JaCoCo report file, no counters found")
        # JaCoCo always reports the INSTRUCTION counter; without it this is some other <report>.
        if not any(c["type"] == "INSTRUCTION" for c in report["counters"]):
            raise MaterialError(f"{value}: invalid JaCoCo report file: no INSTRUCTION counter")
        return file_record(self.kind, fb)


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
        raise MaterialError(f"invalid {_COBERTURA}: attribute {name}={raw!r} is not a number") from None
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


def cobertura_report(data: bytes) -> dict[str, Any]:
    """A Cobertura XML report projected as JSON (the shape Chainloop's policies see; NaN rates are null)."""
    root = _expect_root(data, "coverage", _COBERTURA)
    packages = [
        {
            "name": p.get("name", ""),
            **_rates(p),
            "classes": [_cobertura_class(c) for c in _children(p, "classes", "class")],
        }
        for p in _children(root, "packages", "package")
    ]
    counts = {
        k: _int_attr(root, k, _COBERTURA)
        for k in ("lines-covered", "lines-valid", "branches-covered", "branches-valid", "timestamp")
    }
    sources = [(s.text or "").strip() for s in _children(root, "sources", "source")]
    version = root.get("version", "")
    return {**_rates(root), **counts, "version": version, "sources": sources, "packages": packages}


class CoberturaKind(MaterialKind):
    """COBERTURA_XML: a Cobertura XML coverage report (``<coverage>`` root)."""

    kind = "COBERTURA_XML"

    def sniff(self, sample: Sample) -> bool:
        return sample.is_file and xml_root_name(sample.text_prefix) == "coverage"

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        fb = read_file(value)
        try:
            report = cobertura_report(fb.data)
        except MaterialError as exc:
            raise _in_file(value, exc) from exc
        # Only a dataless report is refused: 0% coverage still lists packages, and an empty project
        # reports line-rate="NaN" (0/0), which is not 0 (same rule as Chainloop).
        if report["line-rate"] == 0 and not report["packages"]:
            raise MaterialError(f"{value}: invalid {_COBERTURA}, missing coverage data")
        return file_record(self.kind, fb)
