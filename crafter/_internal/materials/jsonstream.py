"""Reading a large JSON document without holding all of it as Python objects.

A 100 MB SBOM parsed whole takes five to seven times its size in memory (Python dicts and strings), nearly all
of it in one array (``components``). :func:`stream_object` reads the top-level object key by key, and the
items of the arrays a caller names one at a time: each item is handed to a callback (which checks it and keeps
what it needs) and dropped. Anything this reader does not follow to the end (a syntax error, a key given
twice) makes it give up, and the caller parses the text whole: errors are json's own, worded as
:func:`crafter._internal.materials.fileio.parse_json` words them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from json.decoder import scanstring  # type: ignore[attr-defined]  # public, but missing from typeshed
from typing import Any

import attrs

from crafter._internal.materials.fileio import FileBytes
from crafter._internal.redaction import json_problem
from crafter._internal.schema_check import CompiledSchema
from crafter.errors import MaterialError

#: What a callback returns for an item not to be kept.
DROP: Any = object()


@attrs.frozen
class EachObject:
    """For an array of objects: each is read key by key too, with ``handlers`` for its own arrays; ``done``
    is given each (its streamed arrays empty) and what was kept of its streamed arrays, and returns what to
    keep of it (or :data:`DROP`)."""

    handlers: ItemHandlers
    done: Callable[[dict[str, Any], dict[str, list[Any]]], Any]


#: Given the key of an array and the keys of its object read before it: a callback for each of its items
#: (returning what to keep of it, or :data:`DROP`), an :class:`EachObject`, or None to read it whole.
ItemHandlers = Callable[[str, dict[str, Any]], "Callable[[Any], Any] | EachObject | None"]

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def json_text(fb: FileBytes, what: str) -> str:
    """The file's text, decoded as :func:`json.loads` decodes bytes (UTF-8, -16 or -32, a UTF-8 BOM
    dropped)."""
    try:
        return fb.data.decode(json.detect_encoding(fb.data), "surrogatepass")
    except UnicodeError as exc:
        raise MaterialError(f"{fb.path}: invalid {what}: not valid JSON ({json_problem(exc)})") from None


def parse_text(text: str, path: str, what: str) -> Any:
    """``text`` parsed whole, as :func:`json.loads` parses the bytes it came from (a byte order mark left in
    the text is not JSON); errors as :func:`crafter._internal.materials.fileio.parse_json` words them."""
    try:
        return _DECODER.decode(text)
    except ValueError as exc:
        raise MaterialError(f"{path}: invalid {what}: not valid JSON ({json_problem(exc)})") from None
    except RecursionError as exc:
        raise MaterialError(f"{path}: invalid {what}: JSON nested too deeply") from exc


def stream_object(text: str, handlers: ItemHandlers) -> tuple[dict[str, Any], dict[str, list[Any]]] | None:
    """The top-level object of ``text``, with the arrays ``handlers`` streams empty, and what was kept of
    each of those (by key). None when ``text`` is not one JSON object this reader follows to the end."""
    try:
        pos = _skip(text, 0)
        obj, kept, pos = _read_object(text, pos, handlers)
        return (obj, kept) if _skip(text, pos) == len(text) else None
    except (ValueError, RecursionError, IndexError):
        return None


def _read_object(
    text: str, pos: int, handlers: ItemHandlers
) -> tuple[dict[str, Any], dict[str, list[Any]], int]:
    """The object at ``pos``: (its keys, streamed arrays empty; what was kept of those; the position after
    it). ValueError where this reader does not follow."""
    obj: dict[str, Any] = {}
    kept: dict[str, list[Any]] = {}
    if text[pos] != "{":
        raise ValueError("not an object")
    pos = _skip(text, pos + 1)
    if text[pos] == "}":
        return obj, kept, pos + 1
    while True:
        if text[pos] != '"':
            raise ValueError("not a key")
        key, pos = scanstring(text, pos + 1)
        if key in obj:  # json keeps the last value: a case not worth following
            raise ValueError("a key twice")
        pos = _skip(text, pos)
        if text[pos] != ":":
            raise ValueError("no colon")
        pos = _skip(text, pos + 1)
        handler = handlers(key, obj) if text[pos] == "[" else None
        if handler is None:
            obj[key], pos = _DECODER.raw_decode(text, pos)
        else:
            kept[key], pos = _read_array(text, pos, handler)
            obj[key] = []
        pos = _skip(text, pos)
        if text[pos] == "}":
            return obj, kept, pos + 1
        if text[pos] != ",":
            raise ValueError("no comma")
        pos = _skip(text, pos + 1)


def _read_array(text: str, pos: int, handler: Callable[[Any], Any] | EachObject) -> tuple[list[Any], int]:
    """Read the array at ``pos`` item by item: what was kept of them, and the position after it."""
    kept: list[Any] = []
    pos = _skip(text, pos + 1)
    if text[pos] == "]":
        return kept, pos + 1
    while True:
        if isinstance(handler, EachObject) and text[pos] == "{":
            obj, inner, pos = _read_object(text, pos, handler.handlers)
            value = handler.done(obj, inner)
        else:
            item, pos = _DECODER.raw_decode(text, pos)
            value = handler.done(item, {}) if isinstance(handler, EachObject) else handler(item)
        if value is not DROP:
            kept.append(value)
        pos = _skip(text, pos)
        if text[pos] == "]":
            return kept, pos + 1
        if text[pos] != ",":
            raise ValueError("not an array")
        pos = _skip(text, pos + 1)


def _skip(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def drop(item: Any) -> Any:
    """A reducer that keeps nothing of an item."""
    return DROP


@attrs.frozen
class Each:
    """In :func:`read_checked`'s ``keep``: an array of objects whose own arrays (``keep``) are streamed too;
    ``reduce`` is given each object, with what was kept of those arrays, and says what to keep of it."""

    keep: Mapping[str, Reducer | Each]
    reduce: Callable[[dict[str, Any]], Any] = lambda obj: obj


#: What to keep of an item of a streamed array (:data:`DROP`: nothing).
Reducer = Callable[[Any], Any]


def read_checked(
    text: str,
    path: str,
    what: str,
    schema: CompiledSchema | Callable[[dict[str, Any]], CompiledSchema | None],
    keep: Mapping[str, Reducer | Each],
    when: Callable[[dict[str, Any]], bool] | None = None,
) -> tuple[Any, list[Any] | None]:
    """The JSON document ``text`` (read from ``path``) and python-jsonschema's errors for it against
    ``schema`` (a schema, or a function choosing it from the top-level keys read before the first streamed
    array): ``[]`` when it is valid, None when the caller must check the document itself.

    The arrays under ``keep``'s top-level keys (and, through :class:`Each`, the arrays of their objects) are
    read an item at a time when the schema allows it (:meth:`CompiledSchema.item_check`) and ``when`` (given
    the top-level keys read before) agrees: each item is checked, then its reducer says what to keep of it;
    the array holds what was kept. An invalid document is described from its first invalid top-level item
    alone (:meth:`CompiledSchema.item_errors`), or from its other keys: it is never validated whole again.
    Nothing streamed (or an invalid item deeper down): the document is parsed whole, and the errors are None.
    """
    chosen: list[CompiledSchema] = []
    first_bad: list[tuple[str, int, Any]] = []
    nested_bad = False

    def schema_for(before: dict[str, Any]) -> CompiledSchema | None:
        if not chosen:
            picked = schema if isinstance(schema, CompiledSchema) else schema(before)
            if picked is None:
                return None
            chosen.append(picked)
        return chosen[0]

    def handlers_at(at: tuple[str, ...], keep: Mapping[str, Reducer | Each]) -> ItemHandlers:
        def handlers(key: str, before: dict[str, Any]) -> Callable[[Any], Any] | EachObject | None:
            spec = keep.get(key)
            if spec is None or (not at and when is not None and not when(before)):
                return None
            compiled = schema_for(before) if not at else chosen[0]
            check = compiled.item_check((*at, key)) if compiled is not None else None
            if check is None:
                return None
            index = -1

            def bad(value: Any) -> bool:
                nonlocal index, nested_bad
                index += 1
                if first_bad or nested_bad or check(value):
                    return False
                if at:
                    nested_bad = True
                else:
                    first_bad.append((key, index, value))
                return True

            if isinstance(spec, Each):
                reduce = spec.reduce

                def done(obj: Any, inner: dict[str, list[Any]]) -> Any:
                    bad(obj)  # its own streamed arrays empty: they are checked item by item
                    return reduce(obj | inner) if isinstance(obj, dict) else obj

                return EachObject(handlers_at((*at, key), spec.keep), done)

            def item(value: Any) -> Any:
                bad(value)
                return spec(value)

            return item

        return handlers

    streamed = stream_object(text, handlers_at((), keep))
    if streamed is None or not streamed[1] or not chosen:
        return (parse_text(text, path, what) if streamed is None else streamed[0]), None
    root, kept = streamed
    if not first_bad and not nested_bad and chosen[0].is_valid(root):
        return root | kept, []
    if not nested_bad:
        try:
            if first_bad:
                key, index, item = first_bad[0]
                errors = chosen[0].item_errors(root, key, index, item)
            else:  # the items are valid: the error is in the other keys
                errors = chosen[0].errors(root)
        except RecursionError:
            errors = []
        if errors:
            return root | kept, errors
    return parse_text(text, path, what), None
