"""SBOM_SPDX_TAG_VALUE: an SPDX 2.2 or 2.3 SBOM in tag-value form, a crafter extension Chainloop lacks.

The document is parsed and validated by SPDX's own Python library, spdx-tools (the ``spdx`` extra),
imported only when such a file is read: commands that never meet one do not pay for it. Policies read its
SPDX JSON form (spdx-tools' converter), so a policy written for SBOM_SPDX_JSON serves both; the main
element and the tools are taken from that JSON form exactly as for SBOM_SPDX_JSON.

Errors never quote the document: spdx-tools' messages quote values, so only the ones known to carry none
(a line number, the name of a missing field) are passed on; otherwise a fixed kind of problem.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from crafter._internal.materials.basic import invalid
from crafter._internal.materials.fileio import FileBytes, read_file
from crafter._internal.materials.interface import Crafted, CraftOptions, MaterialKind, Sample
from crafter._internal.materials.sbom import _spdx_main_component, _spdx_tools, _tools_annotations
from crafter.errors import MaterialError

if TYPE_CHECKING:
    from crafter._internal.materials.reports import Readable

_SPDX_TV = "spdx tag-value sbom file"
#: The SPDX versions spdx-tools validates.
SPDX_TAG_VALUE_VERSIONS = ("SPDX-2.2", "SPDX-2.3")
_EXTRA_HINT = "install the spdx extra: pip install 'crafter-attest[spdx]'"
_NO_STRICT_HINT = "use --no-strict-validation to accept a parseable but invalid SBOM"
_VERSION_LINE = re.compile(r"^SPDXVersion:[ \t]*SPDX-\d", re.M)
# spdx-tools messages that quote nothing of the document: passed on as they are.
_SAFE_MESSAGES = (
    re.compile(r"Unknown tag provided in line \d+"),
    re.compile(
        r"Error while constructing \w+: \w+\.__init__\(\) missing \d+ required positional arguments?: "
        r"'[a-z_]+'(?:(?:, | and |, and )'[a-z_]+')*"
    ),
)
_LINE = re.compile(r"\bline:? (\d+)", re.I)


def _spdx_tools_parser() -> Any:
    """A fresh spdx-tools tag-value parser (one parses one document: it keeps state), writing no parse
    tables to disk and logging nothing."""
    try:
        from ply import yacc  # type: ignore[import-untyped]  # spdx-tools' dependency, untyped
        from spdx_tools.spdx.parser.tagvalue.parser import Parser
    except ImportError as exc:
        raise MaterialError(
            "SBOM_SPDX_TAG_VALUE needs spdx-tools, which is not installed", hint=_EXTRA_HINT
        ) from exc
    parser: Any = Parser  # spdx-tools' classes are untyped
    return parser(write_tables=False, debug=False, errorlog=yacc.NullLogger())


def _parse_problem(messages: list[str]) -> str:
    first = messages[0] if messages else ""
    if any(p.fullmatch(first) for p in _SAFE_MESSAGES):
        return first
    line = _LINE.search(first)
    return "not SPDX tag-value" + (f" (a problem at line {line.group(1)})" if line else "")


def _parse(data: bytes, path: str) -> Any:
    """The spdx-tools ``Document`` of the tag-value bytes; raises :class:`MaterialError` naming ``path``."""
    try:
        text = data.decode("utf-8-sig")  # a BOM some Windows tools write is not part of the first tag
    except UnicodeDecodeError as exc:
        raise invalid(path, _SPDX_TV, f"not UTF-8 text (byte {exc.start})") from None
    parser = _spdx_tools_parser()
    from spdx_tools.spdx.parser.error import SPDXParsingError

    try:
        return parser.parse(text.replace("\r\n", "\n"))  # spdx-tools' lexer fails on CRLF line ends
    except SPDXParsingError as exc:
        raise invalid(path, _SPDX_TV, _parse_problem(list(exc.messages))) from None
    except RecursionError:
        raise invalid(path, _SPDX_TV, "nested too deeply") from None
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # the parser's own failures on input it does not expect
        raise invalid(
            path, _SPDX_TV, f"not SPDX tag-value (the parser failed: {type(exc).__name__})"
        ) from None


def _validation_problem(document: Any) -> str | None:
    """Why spdx-tools finds the document invalid (the kind of element, never its values), or ``None``."""
    version = document.creation_info.spdx_version
    if version not in SPDX_TAG_VALUE_VERSIONS:
        return f"SPDXVersion is not one supported ({' or '.join(SPDX_TAG_VALUE_VERSIONS)})"
    if _size(document) > WHOLE_DOCUMENT_LIMIT:
        return _element_problem(document, version)
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    return _first(validate_full_spdx_document(document))


#: Documents with more elements (packages, files, snippets, relationships) than this are validated element
#: by element, with crafter's own linear check of the ids relationships name: spdx-tools' document-level
#: checks scan every relationship for every element (5 000 packages take 20 s, 20 000 several minutes).
WHOLE_DOCUMENT_LIMIT = 2000


def _size(document: Any) -> int:
    return sum(len(x) for x in (document.packages, document.files, document.snippets, document.relationships))


def _first(messages: list[Any]) -> str | None:
    if not messages:
        return None
    element = messages[0].context.element_type if messages[0].context is not None else None
    where = f"a {element.name.lower().replace('_', ' ')}" if element is not None else "the document"
    return f"{len(messages)} validation problem(s) found by spdx-tools, the first in {where}"


def _element_problem(document: Any, version: str) -> str | None:
    """spdx-tools' checks of each element, then the ids: unique, and every relationship's within reach."""
    from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
    from spdx_tools.spdx.model.spdx_none import SpdxNone
    from spdx_tools.spdx.validation.creation_info_validator import validate_creation_info
    from spdx_tools.spdx.validation.extracted_licensing_info_validator import (
        validate_extracted_licensing_infos,
    )
    from spdx_tools.spdx.validation.file_validator import validate_files
    from spdx_tools.spdx.validation.package_validator import validate_packages
    from spdx_tools.spdx.validation.snippet_validator import validate_snippets
    from spdx_tools.spdx.validation.spdx_id_validators import is_valid_internal_spdx_id

    messages = [
        *validate_creation_info(document.creation_info, version),
        *validate_packages(document.packages, version),
        *validate_files(document.files, version),
        *validate_snippets(document.snippets, version),
        *validate_extracted_licensing_infos(document.extracted_licensing_info),
    ]
    if messages:
        return _first(messages)
    ids = [e.spdx_id for e in (*document.packages, *document.files, *document.snippets)]
    if not all(is_valid_internal_spdx_id(i) for i in ids):
        return 'an SPDX id is not "SPDXRef-" followed by letters, digits, "." and "-"'
    known = set(ids)
    if len(known) != len(ids):
        return "an SPDX id is used by two elements"
    known.add(document.creation_info.spdx_id)
    for rel in document.relationships:
        for end in (rel.spdx_element_id, rel.related_spdx_element_id):
            external = isinstance(end, str) and end.startswith("DocumentRef-")
            if not (isinstance(end, SpdxNone | SpdxNoAssertion) or external or end in known):
                return "a relationship names an element the document does not have"
    return None


def spdx_json(document: Any, path: str) -> dict[str, Any]:
    """The SPDX JSON form of a parsed document (spdx-tools' own converter)."""
    from spdx_tools.spdx.jsonschema.document_converter import DocumentConverter

    try:
        converter: Any = DocumentConverter  # untyped
        converted: dict[str, Any] = converter().convert(document)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a parsed but inconsistent document the converter cannot express
        raise invalid(path, _SPDX_TV, f"cannot be converted to SPDX JSON ({type(exc).__name__})") from None
    return converted


def _read_json_form(source: Readable, path: str, name: str) -> dict[str, Any]:
    """The SPDX JSON form of the document ``source`` (the file at ``path``) reads, for policies."""
    from crafter._internal.materials.policy_input import read_capped

    data = read_capped(source, path, name)
    return spdx_json(_parse(data, path), path)


class SPDXTagValueKind(MaterialKind):
    """An SPDX 2.2/2.3 tag-value SBOM, parsed and validated by spdx-tools.

    A document spdx-tools cannot parse is an error; one it parses but finds invalid (or of another SPDX
    version) is an error when strict and a warning otherwise (``--no-strict-validation``).

    Auto-detected by an ``SPDXVersion: SPDX-`` line in a text file's prefix.
    """

    kind = "SBOM_SPDX_TAG_VALUE"

    def sniff(self, sample: Sample) -> bool:
        text = sample.text_prefix
        return (
            sample.is_file and not text.startswith(("{", "[", "<")) and _VERSION_LINE.search(text) is not None
        )

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        from crafter._internal.materials.fileio import file_record

        fb: FileBytes = read_file(value)
        document = _parse(fb.data, value)
        problem = _validation_problem(document)
        if problem is not None:
            if options.strict:
                raise invalid(value, _SPDX_TV, problem, hint=_NO_STRICT_HINT)
            options.warning(f"{value}: accepted without strict validation: invalid SPDX SBOM: {problem}")
        doc = spdx_json(document, value)
        return file_record(self.kind, fb, _tools_annotations(_spdx_tools(doc)), _spdx_main_component(doc))

    def policy_input(self, path: str, name: str) -> Any:
        """The SPDX JSON form of the document (:func:`spdx_json`)."""
        from crafter._internal.materials.policy_input import projected

        return projected(path, name, lambda source: _read_json_form(source, path, name))
