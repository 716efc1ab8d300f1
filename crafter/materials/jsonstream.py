"""Reading a large JSON document without holding all of it as Python objects.

A 100 MB SBOM parsed whole takes five to seven times its size in memory (Python dicts and strings), nearly all
of it in one array (``components``). :func:`stream_object` reads the top-level object key by key, and the
items of the arrays a caller names one at a time: each item is handed to a callback (which checks it and keeps
what it needs) and dropped. Anything this reader does not follow to the end (a syntax error, a key given
twice) makes it give up, and the caller parses the text whole: errors are json's own, worded as
:func:`crafter.materials.fileio.parse_json` words them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from json.decoder import scanstring  # type: ignore[attr-defined]  # public, but missing from typeshed
from typing import Any

from crafter.errors import MaterialError
from crafter.materials.fileio import FileBytes
from crafter.redaction import json_problem
from crafter.schema_check import CompiledSchema

#: Given the key of a top-level array and the keys read before it: a callback for each of its items, or None
#: to read that array whole.
ItemHandlers = Callable[[str, dict[str, Any]], Callable[[Any], None] | None]

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
    the text is not JSON); errors as :func:`crafter.materials.fileio.parse_json` words them."""
    try:
        return _DECODER.decode(text)
    except ValueError as exc:
        raise MaterialError(f"{path}: invalid {what}: not valid JSON ({json_problem(exc)})") from None
    except RecursionError as exc:
        raise MaterialError(f"{path}: invalid {what}: JSON nested too deeply") from exc


def stream_object(text: str, handlers: ItemHandlers) -> tuple[dict[str, Any], set[str]] | None:
    """The top-level object of ``text``, and the keys whose arrays were streamed: their items went to the
    callbacks ``handlers`` gave, in order, and their value here is ``[]``. None when ``text`` is not one JSON
    object this reader follows to the end."""
    try:
        return _stream(text, handlers)
    except (ValueError, RecursionError, IndexError):
        return None


def _stream(text: str, handlers: ItemHandlers) -> tuple[dict[str, Any], set[str]] | None:
    root: dict[str, Any] = {}
    streamed: set[str] = set()
    pos = _skip(text, 0)
    if text[pos] != "{":
        return None
    pos = _skip(text, pos + 1)
    if text[pos] == "}":
        return (root, streamed) if _skip(text, pos + 1) == len(text) else None
    while True:
        if text[pos] != '"':
            return None
        key, pos = scanstring(text, pos + 1)
        if key in root:  # json keeps the last value: a case not worth following
            return None
        pos = _skip(text, pos)
        if text[pos] != ":":
            return None
        pos = _skip(text, pos + 1)
        handler = handlers(key, root) if text[pos] == "[" else None
        if handler is None:
            root[key], pos = _DECODER.raw_decode(text, pos)
        else:
            pos = _stream_array(text, pos, handler)
            root[key] = []
            streamed.add(key)
        pos = _skip(text, pos)
        if text[pos] == "}":
            return (root, streamed) if _skip(text, pos + 1) == len(text) else None
        if text[pos] != ",":
            return None
        pos = _skip(text, pos + 1)


def _stream_array(text: str, pos: int, handler: Callable[[Any], None]) -> int:
    """Read the array at ``pos`` item by item; the position after it. ValueError when it is not one."""
    pos = _skip(text, pos + 1)
    if text[pos] == "]":
        return pos + 1
    while True:
        item, pos = _DECODER.raw_decode(text, pos)
        handler(item)
        pos = _skip(text, pos)
        if text[pos] == "]":
            return pos + 1
        if text[pos] != ",":
            raise ValueError("not an array")
        pos = _skip(text, pos + 1)


def _skip(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def drop(item: Any) -> Any:
    """A :func:`read_checked` reducer that keeps nothing of an item."""
    return DROP


#: What a reducer returns for an item not to be kept.
DROP: Any = object()


def read_checked(
    fb: FileBytes,
    what: str,
    schema: CompiledSchema,
    keep: Mapping[str, Callable[[Any], Any]],
    when: Callable[[dict[str, Any]], bool] | None = None,
) -> tuple[Any, bool]:
    """The JSON document of ``fb``, and whether it is already known to be valid against ``schema``.

    The arrays under ``keep``'s top-level keys are read an item at a time when the schema allows it
    (:meth:`CompiledSchema.item_check`) and ``when`` (given the keys read before) agrees: each item is
    checked, then its reducer says what to keep of it (:data:`DROP`: nothing); the array holds what was kept.
    Then True: the document is valid. Otherwise (not streamed, or found invalid) the document is parsed whole
    and False: the caller checks it with python-jsonschema's description of its errors
    (:func:`crafter.materials.basic.check_schema`)."""
    text = json_text(fb, what)
    failed = False
    kept: dict[str, list[Any]] = {}

    def handlers(key: str, before: dict[str, Any]) -> Callable[[Any], None] | None:
        reduce = keep.get(key)
        if reduce is None or (when is not None and not when(before)):
            return None
        check = schema.item_check(key)
        if check is None:
            return None
        items = kept[key] = []

        def item(value: Any) -> None:
            nonlocal failed
            failed = failed or not check(value)
            reduced = reduce(value)
            if reduced is not DROP:
                items.append(reduced)

        return item

    streamed = stream_object(text, handlers)
    if streamed is not None and streamed[1] and not failed and schema.is_valid(streamed[0]):
        return streamed[0] | kept, True
    if streamed is not None and not streamed[1]:
        return streamed[0], False
    return parse_text(text, fb.path, what), False
