"""SPDX 3.0 JSON-LD SBOMs, recorded as SBOM_SPDX_JSON (the kind means SPDX in JSON, whatever the version).

SPDX publishes no offline JSON schema package; the document is validated by loading it with SPDX's
generated Python model, ``spdx-python-model`` (types, enumerations and patterns of every property, unknown
classes refused) and writing it back with the same model (required properties and cardinalities). The
version goes in ``chainloop.material.sbom.spec_version``; the main element is the package the document's
root element (or the SBOM it roots) names; the tools are the document's ``createdUsing`` tools. Policies
read the JSON-LD document as it is.

Errors name the property and class of the model when the model says them, never a value of the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from crafter._internal.materials.basic import invalid
from crafter._internal.materials.fileio import FileBytes, file_record
from crafter._internal.materials.interface import Crafted, CraftOptions
from crafter._internal.materials.sbom import Tool, _main_component, _tools_annotations
from crafter.errors import MaterialError

#: The annotation holding the SPDX version of an SPDX 3 document (SPDX 2 documents keep Chainloop's set).
ANN_SBOM_SPEC_VERSION = "chainloop.material.sbom.spec_version"
_SPDX3 = "spdx 3 sbom file"
_CONTEXT = re.compile(r"https://spdx\.org/rdf/(3\.\d+(?:\.\d+)?)/spdx-context\.jsonld")
_NO_STRICT_HINT = "use --no-strict-validation to accept a parseable but invalid SBOM"
# spdx-python-model's messages that name only the model's own property and class: passed on without the
# object id they end with.
_MODEL_MESSAGE = re.compile(
    r"Property '(\w+)' in (\w+) \(\d+\) (is required|requires a (?:minimum|maximum) of \d+ elements?)"
)


def spdx3_version(doc: dict[str, Any]) -> str | None:
    """The SPDX version of a JSON-LD document whose ``@context`` is SPDX 3's, else ``None``."""
    context = doc.get("@context")
    contexts = context if isinstance(context, list) else [context]
    for item in contexts:
        if isinstance(item, str) and (m := _CONTEXT.fullmatch(item)) is not None:
            return m.group(1)
    return None


def _known_versions() -> list[str]:
    """The SPDX versions the installed spdx-python-model ships a model of (by their context)."""
    from spdx_python_model.bindings import _CONTEXT_TABLE

    return [m.group(1) for c in _CONTEXT_TABLE if (m := _CONTEXT.fullmatch(c)) is not None]


def _load(doc: dict[str, Any], version: str, path: str) -> tuple[Any, Any]:
    """``(model module, object set)`` of the document, or :class:`MaterialError`; a document the model
    cannot load cannot be read at all, strict or not."""
    import spdx_python_model

    try:
        return spdx_python_model.load_data(doc)
    except spdx_python_model.LoadError:
        supported = ", ".join(sorted(_known_versions()))
        raise invalid(path, _SPDX3, f"SPDX {version} is not supported (supported: {supported})") from None
    except (MemoryError, KeyboardInterrupt):
        raise
    except RecursionError:
        raise invalid(path, _SPDX3, "nested too deeply") from None
    except Exception as exc:  # the model refuses a property, a type or a value: its message may quote it
        raise invalid(path, _SPDX3, f"does not load as SPDX 3 ({type(exc).__name__})") from None


def _validation_problem(model: Any, objects: Any) -> str | None:
    """What writing the loaded objects back refuses (a required property missing...), or ``None``."""
    try:
        model.JSONLDSerializer().serialize_data(objects)
    except (MemoryError, KeyboardInterrupt):
        raise
    except ValueError as exc:
        m = _MODEL_MESSAGE.search(str(exc))
        if m is not None:
            return f"property {m.group(1)} of a {m.group(2)} {m.group(3)}"
        return "the model refuses a property (ValueError)"
    except Exception as exc:
        return f"the model refuses the document ({type(exc).__name__})"
    return None


def _roots(element: Any) -> Iterator[Any]:
    roots = getattr(element, "rootElement", None) or []
    yield from (r for r in roots if not isinstance(r, str))  # a string is a reference outside the document


def _main_package(model: Any, objects: Any) -> Any:
    """The first package among the root elements of the SpdxDocument, looking into roots that are
    collections themselves (an SBOM), breadth first."""
    queue = list(objects.foreach_type(model.SpdxDocument))
    seen: set[int] = set()
    while queue:
        element = queue.pop(0)
        if id(element) in seen:
            continue
        seen.add(id(element))
        if isinstance(element, model.software_Package):
            return element
        queue.extend(_roots(element))
    return None


def _tools(model: Any, objects: Any) -> list[Tool]:
    tools: list[Tool] = []
    for document in objects.foreach_type(model.SpdxDocument):
        info = document.creationInfo
        for tool in getattr(info, "createdUsing", None) or []:
            if not isinstance(tool, str) and tool.name:
                tools.append(Tool(str(tool.name)))  # SPDX 3 tools have a name only, no version field
        break
    return tools


def craft_spdx3(
    kind: str, fb: FileBytes, doc: dict[str, Any], version: str, options: CraftOptions
) -> Crafted:
    """Record an SPDX 3 JSON-LD document read from ``fb`` as ``kind``."""
    path = fb.path
    model, objects = _load(doc, version, path)
    objects.link()  # references become objects; ids outside the document stay strings
    problem = _validation_problem(model, objects)
    if problem is not None:
        if options.strict:
            raise invalid(path, _SPDX3, problem, hint=_NO_STRICT_HINT)
        options.warning(f"{path}: accepted without strict validation: invalid SPDX 3 SBOM: {problem}")
    if not any(True for _ in objects.foreach_type(model.SpdxDocument)):
        raise MaterialError(f"{path}: invalid {_SPDX3}: no SpdxDocument element")
    annotations = {**_tools_annotations(_tools(model, objects)), ANN_SBOM_SPEC_VERSION: version}
    package = _main_package(model, objects)
    main = None
    if package is not None:
        purpose = package.software_primaryPurpose or ""
        main = _main_component(
            str(package.name or ""),
            purpose.rpartition("/")[2].lower(),
            str(package.software_packageVersion or ""),
        )
    return file_record(kind, fb, annotations, main)
