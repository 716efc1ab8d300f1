"""What an error may say about a document crafter reads without the user having written it.

Policies and policy groups are loaded by reference (``file:///etc/shadow`` is a reference a hostile contract
or group can make), policy test cases name the files they evaluate, and materials are whatever file was
given. An error about such a document gives **positions** (line, column, the key path) and the **kind** of
the problem, never the document's own bytes: no key and no value taken from it, no snippet, and no parser
message that could embed one (docs/security.md, "Error messages").

A key may be named only when it is one of crafter's own names (:attr:`Redaction.names`: the keys of the
schema the document is checked against); any other key of a path is written ``*``. Contracts are the user's
own input (``crafter init --contract FILE``): their errors keep quoting what the contract says.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

#: Where a key path is in the document's text: the line of its key (or item), None when unknown.
LineOf = Callable[[Sequence[str | int]], int | None]
#: How a key that is not one of crafter's own names is written in a path.
HIDDEN_KEY = "*"


@attrs.frozen
class Redaction:
    """How errors about one document loaded by reference are written: which of its keys may be named, and
    where its keys are (``line``), when the text is at hand."""

    names: frozenset[str] = frozenset()
    line: LineOf | None = None
    root: str = ""  # "$" writes paths as JSON paths: $.components[0].type

    def key(self, key: object) -> str | None:
        """``key`` when it is one of crafter's own names, else None (it must not be quoted)."""
        return key if isinstance(key, str) and key in self.names else None

    def path(self, parts: Iterable[str | int], top: str = "(top level)") -> str:
        """A key path such as ``spec.policies[0].kind``, other keys than crafter's own written ``*``."""
        out = self.root
        for part in parts:
            if isinstance(part, int):
                out += f"[{part}]"
            else:
                name = self.key(part) or HIDDEN_KEY
                out += f".{name}" if out else name
        return out or top

    def line_of(self, parts: Sequence[str | int]) -> int | None:
        if self.line is None:
            return None
        try:
            return self.line(tuple(parts))
        except Exception:  # a position is a courtesy: never the reason an error cannot be reported
            return None

    def where(self, parts: Sequence[str | int]) -> str:
        """The key path with the line of its key when known: ``spec.type (line 4)``."""
        line = self.line_of(parts) if parts else None
        return self.path(parts) + (f" (line {line})" if line is not None else "")


def unknown_key(redaction: Redaction, parent: Sequence[str | int], line: int | None) -> str:
    """``unknown key at line 5 in metadata``: an unknown key by its position, never by its name."""
    inside = f"in {redaction.path(parent)}" if parent else ""
    if line is None:
        return f"unknown key {inside or 'at the top level'}"
    return f"unknown key at line {line}" + (f" {inside}" if inside else "")


def schema_names(schema: Any) -> frozenset[str]:
    """Every key a JSON Schema names (``properties``, ``required``, ``dependentRequired``), anywhere in it:
    crafter's own names for the documents checked against it."""
    names: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for keyword in ("properties", "dependentRequired", "dependencies"):
                if isinstance(node.get(keyword), dict):
                    names.update(k for k in node[keyword] if isinstance(k, str))
            if isinstance(node.get("required"), list):
                names.update(k for k in node["required"] if isinstance(k, str))
            stack.extend(v for k, v in node.items() if k not in ("enum", "const", "examples", "default"))
    return frozenset(names)


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


def json_type(value: Any) -> str:
    """The JSON name of a value's type (``object``, ``string``...); other types by their Python name."""
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


# The messages of Python's json module, by their fixed start; what crafter says instead (some of the module's
# messages quote the character they stopped at).
_JSON_PROBLEMS = (
    ("Expecting value", "expected a value"),
    ("Expecting ',' delimiter", "expected ','"),
    ("Expecting ':' delimiter", "expected ':'"),
    ("Expecting property name", "expected a key in double quotes"),
    ("Unterminated string", "unterminated string"),
    ("Invalid control character", "control character in a string"),
    ("Invalid \\uXXXX escape", "invalid \\uXXXX escape"),
    ("Invalid \\escape", "invalid escape sequence"),
    ("Extra data", "more data after the document"),
    ("Unexpected UTF-8 BOM", "byte order mark before the document"),
    ("Illegal trailing comma", "trailing comma"),
)


def json_problem(exc: BaseException) -> str:
    """What is wrong with a document :func:`json.loads` refused, in words that quote none of it: the position
    and kind of a syntax error (``line 1, column 19: control character in a string``)."""
    if isinstance(exc, json.JSONDecodeError):
        kind = next((text for start, text in _JSON_PROBLEMS if exc.msg.startswith(start)), "syntax error")
        return f"line {exc.lineno}, column {exc.colno}: {kind}"
    if isinstance(exc, UnicodeError):
        return "not UTF-8, UTF-16 or UTF-32 text"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if "digits" in str(exc):  # int() refusing a number of more than sys.get_int_max_str_digits() digits
        return "a number with too many digits"
    return "not a JSON document"


_RELATIONS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


def _count(n: Any, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def schema_problem(error: Any, redaction: Redaction, path: Sequence[str | int] | None = None) -> str:
    """A jsonschema error as ``<where>: <problem>``, quoting none of the instance: what the schema expects
    (its own types, keys, bounds and patterns) and where, keys written as ``redaction`` allows. ``path``:
    the instance's key path as written in the document (default: the error's own)."""
    path = list(error.absolute_path) if path is None else list(path)
    where = redaction.where(path)
    validator, expected, inst = error.validator, error.validator_value, error.instance
    if validator == "additionalProperties" and isinstance(inst, dict):
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extra = next((k for k in inst if k not in allowed), None)
        return unknown_key(redaction, path, redaction.line_of([*path, extra]) if extra is not None else None)
    problem: str
    if validator == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        problem = f"expected {wanted}, got {json_type(inst)}"
    elif validator == "required" and isinstance(inst, dict):
        missing = next((k for k in expected if k not in inst), "")
        problem = f"missing required key '{missing}'"
    elif validator == "enum":
        problem = "not one of the accepted values"
    elif validator == "const":
        fixed = isinstance(expected, str | int | bool)
        problem = f"expected {json.dumps(expected)}" if fixed else "not the one value the schema allows"
    elif validator == "pattern":
        problem = f"does not match {expected}"
    elif validator == "format":
        problem = f"not a valid {expected}"
    elif validator == "minLength":
        problem = "must not be empty" if expected == 1 else f"shorter than {_count(expected, 'character')}"
    elif validator == "maxLength":
        problem = f"longer than {_count(expected, 'character')}"
    elif validator in ("minItems", "maxItems"):
        bound = "at least" if validator == "minItems" else "at most"
        problem = f"expected {bound} {_count(expected, 'item')}"
    elif validator in ("minProperties", "maxProperties"):
        bound = "at least" if validator == "minProperties" else "at most"
        problem = f"expected {bound} {_count(expected, 'key')}"
    elif validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = _RELATIONS[validator]
        problem = f"must be {relation} {expected}"
    elif validator == "multipleOf":
        problem = f"must be a multiple of {expected}"
    elif validator == "uniqueItems":
        problem = "items are not unique"
    elif validator in ("oneOf", "anyOf"):
        problem = "matches none of the accepted forms"
    elif validator == "not":
        problem = "is of a form that is not allowed here"
    elif validator in ("dependentRequired", "dependencies"):
        problem = "a key that requires others is given without them"
    else:
        problem = f"does not satisfy the schema's {validator!r} rule"
    return f"{where}: {problem}"
