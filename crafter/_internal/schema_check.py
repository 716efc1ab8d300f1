"""Checking a user document against one of the published JSON Schemas, with one clear error line.

Shared by contracts and policy documents. Documents are accepted with camelCase or snake_case keys: they are
first copied with every schema key turned to camelCase (the caller's document is never touched), then
validated; the most specific schema error is turned into ``<source>: <key path>: <problem>`` plus a hint,
with the key path spelled as the user wrote it.

A document loaded by reference (a policy, a policy group) is described with a
:class:`~crafter._internal.redaction.Redaction`: positions and kinds of problems, never its keys or values (only
crafter's own names, :func:`crafter_names`).

Materials, which can be hundreds of megabytes, are checked with a :class:`CompiledSchema`: jsonschema-rs
decides, python-jsonschema only describes an invalid document.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from crafter._internal.redaction import Redaction, schema_names, schema_problem, unknown_key
from crafter._internal.redaction import json_type as json_type  # kept here for its users
from crafter.errors import CrafterError

_SNAKE = re.compile(r"_([a-z0-9])")
# Objects whose keys are user data, never schema keys: not converted from snake_case.
_FREE_MAPS = {"with", "embedded"}
DNS_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_OR_EMPTY = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$"
NAME_HINT = "names must contain only lowercase letters, numbers, and hyphens (DNS-1123 label, at most 63)"
# A schema object may carry this (non-validating) keyword: the message used when it fails as a whole, for
# rules a plain schema error would describe poorly ("a named material needs a type").
MESSAGE_KEYWORD = "errorMessage"


def camel(key: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), key) if "_" in key else key


def snake(key: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)


@cache
def crafter_names() -> frozenset[str]:
    """Every key of crafter's published schemas, camelCase and snake_case: the names an error about a
    document loaded by reference may quote."""
    from crafter._internal.resources import load_schema, schemas_dir

    names = frozenset().union(
        *(schema_names(load_schema(p.name)) for p in schemas_dir().glob("*.schema.json"))
    )
    return names | {snake(n) for n in names}


def normalise(
    value: Any,
    source: str,
    error: type[CrafterError],
    *,
    text_keys: Collection[str] = (),
    path: tuple[str | int, ...] = (),
    redaction: Redaction | None = None,
) -> Any:
    """A copy of ``value`` with snake_case keys turned to camelCase.

    ``with`` values (and the values of ``text_keys``) that YAML read as numbers or booleans keep their text:
    arguments are strings. An ``embedded`` document is copied as is: it is validated on its own later.
    With ``redaction``, errors name positions only (a document loaded by reference).
    """
    if isinstance(value, list):
        return [
            normalise(v, source, error, text_keys=text_keys, path=(*path, i), redaction=redaction)
            for i, v in enumerate(value)
        ]
    if not isinstance(value, dict):
        return value
    free = bool(path) and (path[-1] in _FREE_MAPS or path[-2:] == ("metadata", "annotations"))
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            if redaction is not None:
                raise error(f"{source}: {redaction.where(path)}: keys must be strings, got {json_type(key)}")
            raise error(f"{source}: {fmt_path(path)}: keys must be strings, got {key!r}")
        new = key if free else camel(key)
        if new in out and redaction is not None:
            raise error(
                f"{source}: {redaction.where((*path, key))}: the key is given twice, in camelCase and snake_case",
                hint="use one spelling, camelCase or snake_case",
            )
        if new in out:
            raise error(
                f"{source}: {fmt_path((*path, key))}: the key is given twice ({new!r} and {key!r})",
                hint="use one spelling, camelCase or snake_case",
            )
        if free and path[-1] == "embedded":
            out[new] = item
        elif not free and new in text_keys:
            out[new] = scalar_text(item)
        else:
            out[new] = normalise(
                item, source, error, text_keys=text_keys, path=(*path, new), redaction=redaction
            )
    if free and path[-1] == "with":
        out = {k: scalar_text(v) for k, v in out.items()}
    return out


def scalar_text(v: Any) -> Any:
    """The text of a YAML number or boolean (``yes`` is already text under YAML 1.2); anything else as is."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return v


def fmt_path(path: Iterable[str | int]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or "(top level)"


def _original_path(doc: Any, norm: Sequence[str | int]) -> list[str | int]:
    """Map a path in the normalised document back to the user's own spelling of each key."""
    out: list[str | int] = []
    node = doc
    for part in norm:
        if isinstance(node, dict) and isinstance(part, str):
            key = next((k for k in node if k == part or camel(k) == part), part)
            out.append(key)
            node = node.get(key)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        else:
            out.append(part)
            node = None
    return out


def _quoted_alternatives(names: Sequence[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _one_of_keys(schema: Any) -> list[str]:
    """The keys of a "give exactly one of" rule: the first required key of each ``oneOf`` branch."""
    branches = schema.get("oneOf", []) if isinstance(schema, dict) else []
    return [b["required"][0] for b in branches if isinstance(b, dict) and b.get("required")]


def describe(
    error: Any, doc: Any, source: str, error_type: type[CrafterError], redaction: Redaction | None = None
) -> CrafterError:
    """One clear line (plus a hint) for a jsonschema error; ``doc`` is the document as the user wrote it.
    With ``redaction``, the line quotes none of the document (:func:`_describe_redacted`)."""
    if redaction is not None:
        return _describe_redacted(error, doc, source, error_type, redaction)
    where = fmt_path(_original_path(doc, list(error.absolute_path)))
    validator, inst, expected = error.validator, error.instance, error.validator_value
    custom = error.schema.get(MESSAGE_KEYWORD) if isinstance(error.schema, dict) else None
    if custom:
        return error_type(f"{source}: {where}: {custom}")
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(k for k in inst if k not in allowed)
        key = fmt_path(_original_path(doc, [*error.absolute_path, extra[0]]))  # as the user spelled it
        return error_type(
            f"{source}: unknown key '{key}'",
            hint="allowed keys here: " + ", ".join(allowed) if allowed else None,
        )
    if validator == "type":
        return error_type(f"{source}: {where}: expected {expected}, got {json_type(inst)} {inst!r}")
    if validator == "required":
        missing = next(k for k in expected if k not in inst)
        return error_type(f"{source}: {where}: missing required key '{missing}'")
    if validator == "enum":
        return error_type(
            f"{source}: {where}: {inst!r} is not one of the accepted values",
            hint="accepted: " + ", ".join(map(str, expected)),
        )
    if validator == "const":
        return error_type(f"{source}: {where}: expected {expected!r}, got {inst!r}")
    if validator == "pattern":
        hint = NAME_HINT if expected in (DNS_PATTERN, DNS_OR_EMPTY) else None
        return error_type(f"{source}: {where}: {inst!r} does not match {expected}", hint=hint)
    if validator == "maxLength":
        return error_type(f"{source}: {where}: {inst!r} is longer than {expected} characters")
    if validator == "minLength":
        return error_type(f"{source}: {where}: must not be empty")
    if validator == "exclusiveMinimum":
        return error_type(f"{source}: {where}: {inst!r} must be greater than {expected}")
    if validator == "oneOf" and _one_of_keys(error.schema):
        return error_type(
            f"{source}: {where}: give exactly one of {_quoted_alternatives(_one_of_keys(error.schema))}"
        )
    return error_type(f"{source}: {where}: {error.message}")


def _describe_redacted(
    error: Any, doc: Any, source: str, error_type: type[CrafterError], redaction: Redaction
) -> CrafterError:
    """:func:`describe` for a document loaded by reference: where (key path, line) and what kind of problem,
    naming only crafter's own keys and values (the schema's keys, its accepted values in the hint)."""
    path = _original_path(doc, list(error.absolute_path))
    where = redaction.where(path)
    validator, inst, expected = error.validator, error.instance, error.validator_value
    custom = error.schema.get(MESSAGE_KEYWORD) if isinstance(error.schema, dict) else None
    if custom:
        return error_type(f"{source}: {where}: {custom}")
    if validator == "additionalProperties" and isinstance(inst, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(k for k in inst if k not in allowed)
        line = redaction.line_of(_original_path(doc, [*error.absolute_path, extra[0]])) if extra else None
        return error_type(
            f"{source}: {unknown_key(redaction, path, line)}",
            hint="allowed keys here: " + ", ".join(allowed) if allowed else None,
        )
    if validator == "enum":
        return error_type(
            f"{source}: {where}: not one of the accepted values",
            hint="accepted: " + ", ".join(map(str, expected)),
        )
    if validator == "pattern":
        hint = NAME_HINT if expected in (DNS_PATTERN, DNS_OR_EMPTY) else None
        return error_type(f"{source}: {where}: does not match {expected}", hint=hint)
    if validator == "oneOf" and _one_of_keys(error.schema):
        return error_type(
            f"{source}: {where}: give exactly one of {_quoted_alternatives(_one_of_keys(error.schema))}"
        )
    return error_type(f"{source}: {schema_problem(error, redaction, path)}")


def validate(
    doc: Any,
    raw: Any,
    source: str,
    schema_name: str,
    error_type: type[CrafterError],
    redaction: Redaction | None = None,
) -> None:
    """Validate the normalised ``doc`` against ``schemas/<schema_name>``; raise one described error (naming
    positions only, with ``redaction``)."""
    errors = schema_errors(schema_name, doc)
    if not errors:
        return
    raise describe(_best(errors), raw, source, error_type, redaction)


def schema_errors(schema_name: str, doc: Any) -> list[Any]:
    """python-jsonschema's errors for ``doc`` against a published schema; empty when it is valid.

    jsonschema-rs decides (:class:`CompiledSchema`): python-jsonschema is imported only to describe an invalid
    document. Importing it is not free: where ``rfc3987-syntax`` is installed (cyclonedx-python-lib's
    ``json-validation`` extra pulls it in), jsonschema builds that grammar at import, about a second, which
    contracts, policies, parts and ``verify`` would otherwise pay on every run."""
    compiled = _compiled(schema_name)
    try:
        return compiled.errors(doc)
    except SchemaUnusable:  # jsonschema-rs cannot take the schema: python-jsonschema alone, as before
        return compiled.python_errors(doc)


@cache
def _compiled(schema_name: str) -> CompiledSchema:
    from crafter._internal.resources import load_schema, schemas_dir

    resources = {
        load_schema(p.name)["$id"]: load_schema(p.name) for p in sorted(schemas_dir().glob("*.schema.json"))
    }
    schema = load_schema(schema_name)

    def python_class() -> Any:
        import jsonschema

        return jsonschema.Draft202012Validator

    return CompiledSchema(schema, resources=resources, python_class=python_class)


def _best(errors: Sequence[Any]) -> Any:
    """The error to report: jsonschema's ``best_match``, except that a rule with its own message is kept whole.

    Among sibling errors the shallowest wins; inside oneOf/anyOf the deepest branch error, unless the
    branches fail alike (then the oneOf itself, e.g. "give exactly one of ...").
    """
    import heapq

    from jsonschema.exceptions import relevance

    def key(e: Any) -> Any:
        return (-len(e.absolute_path), relevance(e))

    best = max(errors, key=key)
    while best.context and not (isinstance(best.schema, dict) and best.schema.get(MESSAGE_KEYWORD)):
        smallest = heapq.nsmallest(2, best.context, key=key)
        if len(smallest) == 2 and key(smallest[0]) == key(smallest[1]):
            return best
        best = smallest[0]
    return best


class SchemaUnusable(Exception):
    """A schema that cannot be compiled (a reference to a schema that is not registered): a fault of the
    installed schemas, which the caller reports in its own error type."""


class CompiledSchema:
    """A JSON Schema that large documents (materials) are validated against, compiled once per process, on
    first use (never at start-up).

    jsonschema-rs decides whether a document is valid: a 100 MB SBOM in a fraction of a second, where
    python-jsonschema takes minutes. Only for an invalid document is python-jsonschema built and run, because
    crafter's messages are written from its errors (its ranking, paths and keywords:
    :func:`crafter._internal.redaction.schema_problem`). When the two disagree (a value jsonschema-rs cannot take, such
    as a lone surrogate), python-jsonschema's verdict stands.

    ``fast_schema``: the schema jsonschema-rs compiles, when the errors ``tolerated`` drops must not count
    there either (it accepts exactly the documents whose only errors are tolerated). ``formats``: check
    ``format`` with :data:`crafter._internal.schema_formats.FORMATS` (both validators alike); otherwise it is only an
    annotation. ``python_class``: returns python-jsonschema's validator class (default: the schema's draft),
    called only when one is needed.
    """

    def __init__(
        self,
        schema: Mapping[str, Any],
        *,
        resources: Mapping[str, Any] | None = None,
        formats: bool = False,
        python_class: Callable[[], Any] | None = None,
        tolerated: Callable[[Any], bool] | None = None,
        fast_schema: Mapping[str, Any] | None = None,
    ) -> None:
        self.schema = schema
        self._resources = dict(resources or {})
        self._formats = formats
        self._python_class = python_class
        self._tolerated = tolerated
        self._fast_schema = schema if fast_schema is None else fast_schema
        self._lock = threading.Lock()
        self._fast: Any = None
        self._registry: Any = None
        self._items: dict[tuple[str, ...], Callable[[Any], bool] | None] = {}
        self._python: Any = None

    def errors(self, doc: Any) -> list[Any]:
        """python-jsonschema's errors for ``doc`` (those not tolerated); empty when it is valid. May raise
        RecursionError (a document nested too deeply for python-jsonschema) and :class:`SchemaUnusable`."""
        if self.is_valid(doc):
            return []
        return self.python_errors(doc)

    def python_errors(self, doc: Any) -> list[Any]:
        """python-jsonschema's verdict alone (its errors not tolerated), without asking jsonschema-rs: for a
        schema jsonschema-rs cannot compile (:class:`SchemaUnusable`), and as an independent check."""
        errors = self._python_validator().iter_errors(doc)
        if self._tolerated is None:
            return list(errors)
        return [e for e in errors if not self._tolerated(e)]

    def _used_formats(self) -> dict[str, Any]:
        from crafter._internal.schema_formats import FORMATS

        used = _keyword_values([self._fast_schema, *self._resources.values()], "format")
        # A format without a rule is not checked, as python-jsonschema leaves a format it has no checker for:
        # jsonschema-rs must not apply a rule of its own.
        return {name: FORMATS.get(name, _any_string) for name in used}

    def is_valid(self, doc: Any) -> bool:
        """jsonschema-rs's verdict alone: False also for a value it cannot take (a lone surrogate), which only
        python-jsonschema (:meth:`errors`) can judge."""
        fast = self._fast_validator()
        try:
            return bool(fast.is_valid(doc))
        except (ValueError, OverflowError):
            return False

    def item_check(self, path: str | tuple[str, ...]) -> Callable[[Any], bool] | None:
        """For the array under the top-level key ``path`` (or under ``path[-1]`` in the items of the array
        under ``path[:-1]``): a check of one of its items (as :meth:`is_valid`) such that a document is valid
        exactly when it is valid with that array empty and each item passes. A large document can then be
        checked an item at a time (:mod:`crafter._internal.materials.jsonstream`). None when the schema says more of
        that array than what its items are (a length, uniqueness), or more of the objects holding it than
        their keys' values."""
        path = (path,) if isinstance(path, str) else path
        self._fast_validator()
        with self._lock:
            if path not in self._items:
                self._items[path] = self._compile_item_check(path)
            return self._items[path]

    def item_errors(self, root: Mapping[str, Any], key: str, index: int, item: Any) -> list[Any]:
        """:meth:`errors` for a document found invalid at ``item``, the ``index``-th of the top-level array
        ``key`` (:meth:`item_check`): ``root`` (its arrays read item by item empty) with only that item in
        that array, the errors' paths saying where it stood. The whole document is not validated again."""
        errors = self.errors({**root, key: [item]})
        for error in errors:
            where = error.path  # a top-level error's path is its absolute path; nested ones follow it
            if len(where) >= 2 and where[0] == key and where[1] == 0:
                where[1] = index
        return errors

    def _compile_item_check(self, path: tuple[str, ...]) -> Callable[[Any], bool] | None:
        import jsonschema_rs

        root = self._fast_schema
        if not isinstance(root.get("$id"), str):
            return None
        node: Any = root
        pointer = "#"
        for depth, key in enumerate(path):
            node, pointer = _local_ref(root, node, pointer)
            if not isinstance(node, dict) or not set(node) <= _OBJECT_KEYWORDS:
                return None
            props = node.get("properties", {})
            prop = props.get(key) if isinstance(props, dict) else None
            if prop is None and node.get("additionalProperties", True) is True and depth == len(path) - 1:
                return _any_item  # a key the schema does not name, and allows: anything goes
            types = prop.get("type") if isinstance(prop, dict) else None
            if (
                not isinstance(prop, dict)
                or "array" not in (types if isinstance(types, list) else [types])
                or not isinstance(prop.get("items"), dict)
                or not set(prop) <= _ARRAY_KEYWORDS
            ):
                return None
            node = prop["items"]
            pointer += f"/properties/{_escape(key)}/items"
        validator = jsonschema_rs.validator_for(
            {"$schema": root.get("$schema", ""), "$ref": root["$id"].split("#", 1)[0] + pointer},
            registry=self._registry,
            validate_formats=self._formats,
            formats=self._used_formats() if self._formats else None,
            offline=True,
        )

        def check(item: Any) -> bool:
            try:
                return bool(validator.is_valid(item))
            except (ValueError, OverflowError):
                return False

        return check

    def _fast_validator(self) -> Any:
        with self._lock:
            if self._fast is None:
                import jsonschema_rs

                fast = _python_patterns(self._fast_schema)
                resources = [(uri, _python_patterns(contents)) for uri, contents in self._resources.items()]
                if isinstance(fast.get("$id"), str):  # item checks refer to it
                    resources.append((fast["$id"].split("#", 1)[0], fast))
                try:
                    self._registry = jsonschema_rs.Registry(resources)
                    self._fast = jsonschema_rs.validator_for(
                        fast,
                        registry=self._registry,
                        validate_formats=self._formats,
                        formats=self._used_formats() if self._formats else None,
                        offline=True,  # every schema it refers to is in the registry: never fetch one
                    )
                except Exception as exc:  # its errors for a schema it cannot compile have no common base
                    raise SchemaUnusable(str(exc).split("\n", 1)[0]) from exc
            return self._fast

    def _python_validator(self) -> Any:
        with self._lock:
            if self._python is None:
                import jsonschema
                from referencing import Registry, Resource

                cls = (
                    self._python_class()
                    if self._python_class
                    else jsonschema.validators.validator_for(self.schema)
                )
                registry: Registry[Any] = Registry().with_resources(
                    (uri, Resource.from_contents(contents)) for uri, contents in self._resources.items()
                )
                checker = None
                if self._formats:
                    checker = jsonschema.FormatChecker(formats=())
                    for name, check in self._used_formats().items():
                        checker.checks(name)(_strings_only(check))
                self._python = cls(self.schema, registry=registry, format_checker=checker)
            return self._python


# An object schema with only these keywords says nothing of a property's value beyond ``properties``; an
# array property with only these says nothing beyond what each item is (``additionalItems`` applies to tuple
# forms; a type list still holds "array", which the array read is).
_OBJECT_KEYWORDS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "type", "required", "additionalProperties"}
    | {"properties", "definitions", "$defs"}
)
_ARRAY_KEYWORDS = frozenset({"$id", "$comment", "title", "description", "type", "items", "additionalItems"})


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _local_ref(root: Any, node: Any, pointer: str) -> tuple[Any, str]:
    """``node`` (at ``pointer`` in ``root``), or the schema its ``$ref`` names when that is all it says and
    the reference is local (``#/...``)."""
    for _ in range(16):  # a chain of references, not a cycle
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not (isinstance(ref, str) and ref.startswith("#/") and set(node) == {"$ref"}):
            return node, pointer
        pointer, node = ref, root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
    return None, pointer


def _any_item(value: Any) -> bool:
    return True


def _any_string(value: str) -> bool:
    return True


def _strings_only(check: Callable[[str], bool]) -> Callable[[Any], bool]:
    """A format rule as python-jsonschema calls it: with any JSON value, a non-string one having every format."""
    return lambda value: not isinstance(value, str) or check(value)


# Keywords whose values are data, not schemas: not walked.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})


def _keyword_values(schemas: Iterable[Any], keyword: str) -> set[str]:
    """The string values ``keyword`` takes anywhere in ``schemas``."""
    found: set[str] = set()
    stack = list(schemas)
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if isinstance(node.get(keyword), str):
                found.add(node[keyword])
            stack.extend(v for k, v in node.items() if k not in _DATA_KEYWORDS)
    return found


def _python_patterns(schema: Any) -> Any:
    """``schema`` with each ``pattern`` ending in ``$`` made to mean what it means to Python's ``re``, which
    python-jsonschema uses: the end, or before a newline that ends the string (``\\n?$`` to jsonschema-rs)."""
    if isinstance(schema, list):
        return [_python_patterns(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _DATA_KEYWORDS:
            out[key] = value
        elif (
            key == "pattern" and isinstance(value, str) and value.endswith("$") and not value.endswith("\\$")
        ):
            out[key] = value[:-1] + "\\n?$"
        else:
            out[key] = _python_patterns(value)
    return out
