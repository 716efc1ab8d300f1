"""SBOM_CYCLONEDX_XML: a CycloneDX SBOM in XML (1.1-1.7), a crafter extension Chainloop lacks.

The document is parsed with ``defusedxml`` (entity declarations refused: no billion laughs, no external
entities; a DTD is never loaded), then validated against the XSD of its version that cyclonedx-python-lib
ships, with ``lxml`` (no network, no entity resolution). Schema errors give a line, a column and a fixed
kind of problem, never a value or a name of the document (lxml's own messages quote both).

Policies read the JSON form (:func:`cyclonedx_json`): cyclonedx-python-lib reads the XML into its model
and writes CycloneDX JSON of the same version (1.2 for 1.1, JSON's first version), so one policy serves
both kinds. The main component and the tools are taken from that JSON form exactly as for
SBOM_CYCLONEDX_JSON.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from importlib import resources
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from crafter._internal.materials.basic import invalid
from crafter._internal.materials.fileio import read_file
from crafter._internal.materials.interface import ANN_SBOM_VULNS, Crafted, CraftOptions, MaterialKind, Sample
from crafter._internal.materials.reports import _UNSAFE_XML, _xml_problem, xml_root_name
from crafter._internal.materials.sbom import _cyclonedx_main_component, _cyclonedx_tools, _tools_annotations
from crafter.errors import MaterialError

if TYPE_CHECKING:
    from crafter._internal.materials.reports import Readable

_CDX = "cyclonedx xml sbom file"
#: CycloneDX versions whose XSD we validate against (shipped by cyclonedx-python-lib).
CYCLONEDX_XML_SCHEMA_VERSIONS = ("1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
_NAMESPACE = re.compile(r"\{http://cyclonedx\.org/schema/bom/(\d+\.\d+)\}bom")
_NS_MARKER = "cyclonedx.org/schema/bom/"
_NO_STRICT_HINT = "use --no-strict-validation to accept a parseable but invalid SBOM"

# lxml's schema error types, described without quoting the document (its messages quote values and names).
_SCHEMA_PROBLEMS = {
    "SCHEMAV_ELEMENT_CONTENT": "an element is not expected there, or a required element is missing",
    "SCHEMAV_CVC_ELT_1": "the root element is not one the schema declares",
    "SCHEMAV_CVC_COMPLEX_TYPE_4": "a required attribute is missing",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1": "an attribute is not allowed there",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": "an attribute is not allowed there",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_1": "an element must be empty",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_3": "an element must not have text",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_4": "an element is not expected there, or a required element is missing",
    "SCHEMAV_CVC_ENUMERATION_VALID": "a value is not one of those the schema allows",
    "SCHEMAV_CVC_PATTERN_VALID": "a value does not match the schema's pattern",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": "a value is not of the schema's type",
    "SCHEMAV_CVC_LENGTH_VALID": "a value has the wrong length",
    "SCHEMAV_CVC_MINLENGTH_VALID": "a value is too short",
    "SCHEMAV_CVC_MAXLENGTH_VALID": "a value is too long",
    "SCHEMAV_CVC_MININCLUSIVE_VALID": "a number is below the schema's minimum",
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": "a number is above the schema's maximum",
    "SCHEMAV_CVC_IDC": "a key or reference constraint is violated (e.g. a duplicate bom-ref)",
    "SCHEMAV_CVC_ATTRIBUTE_3": "an attribute value is not of the schema's type",
    "SCHEMAV_CVC_ELT_4_2": "an xsi:type is not declared by the schema",
}


def parse_cyclonedx_xml(data: bytes, path: str) -> tuple[Element, str]:
    """The root ``<bom>`` of untrusted XML and its CycloneDX version (from the namespace).

    Raises :class:`MaterialError` ``<path>: invalid cyclonedx xml sbom file: <problem>``.
    """
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden:
        raise invalid(
            path,
            _CDX,
            "XML entity declarations are not allowed (refused: entity expansion and external entities)",
        ) from None
    except defusedxml.DefusedXmlException as exc:  # its message quotes the declaration: named by kind only
        raise invalid(
            path,
            _CDX,
            "unsafe XML refused: " + _UNSAFE_XML.get(type(exc).__name__, "a construct crafter does not read"),
        ) from None
    except ParseError as exc:
        raise invalid(path, _CDX, f"not well-formed XML ({_xml_problem(exc)})") from None
    except RecursionError:
        raise invalid(path, _CDX, "XML nested too deeply") from None
    m = _NAMESPACE.fullmatch(str(root.tag))
    if m is None:
        raise invalid(
            path,
            _CDX,
            "root element is not <bom> in a CycloneDX namespace (http://cyclonedx.org/schema/bom/X.Y)",
        )
    return root, m.group(1)


@functools.cache
def _schema(spec_version: str) -> Any:
    """The XSD of one version, compiled once per process; its import (SPDX licence ids) is a sibling file."""
    from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type information

    xsd = resources.files("cyclonedx.schema") / "_res" / f"bom-{spec_version}.SNAPSHOT.xsd"
    with resources.as_file(xsd) as xsd_path:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        return etree.XMLSchema(etree.parse(str(xsd_path), parser))


def schema_problem(data: bytes, spec_version: str) -> str | None:
    """Why the document fails its version's XSD (``line L, column C: <problem>``), or ``None``."""
    if spec_version not in CYCLONEDX_XML_SCHEMA_VERSIONS:
        return (
            f"CycloneDX {spec_version} is not a version supported for schema validation "
            f"(supported: {', '.join(CYCLONEDX_XML_SCHEMA_VERSIONS)})"
        )
    from lxml import etree

    try:
        schema = _schema(spec_version)
    except (OSError, etree.Error) as exc:  # the installed cyclonedx-python-lib lacks or breaks the XSD
        raise MaterialError(
            f"CycloneDX {spec_version} XML schema cannot be loaded: {type(exc).__name__}"
        ) from exc
    # Entities were refused by defusedxml already; this parser also resolves none and fetches nothing.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        doc = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return f"cannot be read for validation (line {exc.lineno}: limits of the XML parser)"
    if schema.validate(doc):
        return None
    error = schema.error_log[0]
    problem = _SCHEMA_PROBLEMS.get(error.type_name, "schema violation " + error.type_name.lower())
    return f"line {error.line}, column {error.column}: {problem}"


def _drop_invented(doc: dict[str, Any], root: Element) -> dict[str, Any]:
    """cyclonedx-python-lib fills a serial number and a timestamp the document lacks with new ones: drop
    them, so that the JSON form depends only on the file (a policy replayed later sees the same input)."""
    ns = str(root.tag)[: -len("bom")]
    if root.get("serialNumber") is None:
        doc.pop("serialNumber", None)
    metadata = doc.get("metadata")
    if isinstance(metadata, dict) and root.find(f"{ns}metadata/{ns}timestamp") is None:
        metadata.pop("timestamp", None)
        if not metadata:
            doc.pop("metadata")
    return doc


def cyclonedx_json(root: Element, spec_version: str, path: str) -> dict[str, Any]:
    """The CycloneDX JSON document of the same version (1.2 for older ones) that ``root`` converts to.

    The model is written with its JSON view directly, not through the library's outputter: that one first
    "validates" the model (a search per component, quadratic: minutes for 10 000 components), adds a
    dependency entry for every component, renames duplicate bom-refs and refuses dangling references,
    none of which is in the file."""
    from cyclonedx.model.bom import Bom
    from cyclonedx.output.json import BY_SCHEMA_VERSION
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.schema.schema import SCHEMA_VERSIONS

    json_version = max(spec_version, "1.2", key=lambda v: tuple(int(p) for p in v.split(".")))
    try:
        target = SchemaVersion.from_version(json_version)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the library's advice on the model; the schema judged the file
            bom = Bom.from_xml(root)  # type: ignore[attr-defined]  # added by py-serializable's decorator
            doc: dict[str, Any] = json.loads(bom.as_json(view_=SCHEMA_VERSIONS[target]))
        schema_uri = BY_SCHEMA_VERSION[target](bom)._get_schema_uri()
    except MemoryError:
        raise
    except RecursionError:
        raise invalid(path, _CDX, "nested too deeply to convert to CycloneDX JSON") from None
    except Exception as exc:  # any failure of the converter: a document it cannot express as JSON
        raise invalid(
            path, _CDX, f"cannot be converted to CycloneDX JSON ({type(exc).__name__})", hint=_JSON_FORM_HINT
        ) from None
    doc.update({"$schema": schema_uri, "bomFormat": "CycloneDX", "specVersion": json_version})
    return _drop_invented(doc, root)


def _metadata_only(root: Element) -> Element:
    """The ``<bom>`` element with its attributes and its ``<metadata>`` child only (shared, not copied)."""
    light = root.makeelement(root.tag, dict(root.attrib))
    metadata = root.find(str(root.tag)[: -len("bom")] + "metadata")
    if metadata is not None:
        light.append(metadata)
    return light


_JSON_FORM_HINT = (
    "policies read CycloneDX XML in its JSON form; add the file as an ARTIFACT to record it as is"
)


def _read_json_form(source: Readable, path: str, name: str) -> dict[str, Any]:
    """The JSON form of the document ``source`` (the file at ``path``) reads, for policies."""
    from crafter._internal.materials.policy_input import read_capped

    data = read_capped(source, path, name)
    root, spec_version = parse_cyclonedx_xml(data, path)
    return cyclonedx_json(root, spec_version, path)


class CycloneDXXMLKind(MaterialKind):
    """A CycloneDX XML SBOM, validated against CycloneDX's XSD for its version (the bom namespace).

    A schema failure, or a version we have no schema for (outside 1.1-1.7), is an error when strict and a
    warning otherwise (``--no-strict-validation``). Unsafe or malformed XML, a root other than a CycloneDX
    ``<bom>``, and metadata cyclonedx-python-lib cannot convert to JSON are errors either way; the rest of the
    document is converted when a policy reads it (a failure then is that policy's error).

    Auto-detected by a ``<bom>`` root whose namespace is CycloneDX's.
    """

    kind = "SBOM_CYCLONEDX_XML"

    def sniff(self, sample: Sample) -> bool:
        return (
            sample.is_file
            and xml_root_name(sample.text_prefix) == "bom"
            and _NS_MARKER in sample.text_prefix
            and sample.text_suffix.endswith(">")
        )

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        from crafter._internal.materials.fileio import file_record

        fb = read_file(value)
        root, spec_version = parse_cyclonedx_xml(fb.data, value)
        problem = schema_problem(fb.data, spec_version)
        if problem is not None:
            if options.strict:
                raise invalid(value, _CDX, problem, hint=_NO_STRICT_HINT)
            options.warning(f"{value}: accepted without strict validation: invalid CycloneDX SBOM: {problem}")
        # What is recorded comes from the metadata alone: only it is converted here. The whole document's
        # JSON form (0.5 s per 1,000 components in cyclonedx-python-lib) is made when a policy reads it.
        doc = cyclonedx_json(_metadata_only(root), spec_version, value)
        metadata = doc.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
        annotations = _tools_annotations(_cyclonedx_tools(metadata))
        if (
            root.find(str(root.tag)[: -len("bom")] + "vulnerabilities") is not None
        ):  # as "vulnerabilities" in JSON
            annotations[ANN_SBOM_VULNS] = "true"
        return file_record(self.kind, fb, annotations, _cyclonedx_main_component(metadata))

    def policy_input(self, path: str, name: str) -> Any:
        """The CycloneDX JSON form of the document (:func:`cyclonedx_json`)."""
        from crafter._internal.materials.policy_input import projected

        return projected(path, name, lambda source: _read_json_form(source, path, name))
