"""Reading user documents (contracts, policies, policy groups, policy test cases, Helm chart metadata): YAML or
JSON, with errors naming the file.

YAML is read with the YAML 1.2 boolean rules (only ``true``/``false`` are booleans), so that ``with:``
arguments such as ``check_signature: yes`` or a country code ``no`` keep the text the user wrote.

Every document is bounded while it is parsed, before anything is expanded (see :class:`DocumentLimits` and
docs/security.md): YAML is composed by crafter's own composer over the parser's events, which counts aliases,
nodes (an alias counts as everything its anchor holds), scalar characters and nesting depth and refuses the
document as soon as a bound is passed, so an alias bomb is refused after reading a few events, never expanded.
Duplicate mapping keys are refused in YAML and JSON alike (no "last one wins").

A document loaded by reference (a policy, a policy group, a policy test case, a file inside a material) is
parsed with a :class:`~crafter._internal.redaction.Redaction`: its errors give the position and kind of the problem,
never a key, a value or a snippet of it, nor a parser message that could quote one (docs/security.md, "Error
messages"). :class:`KeyLines` finds the line of a key path again, for errors found after parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import attrs
import yaml
from yaml.events import (
    AliasEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from crafter._internal.redaction import Redaction, json_problem
from crafter.errors import CrafterError

_HINT = "crafter bounds the documents it reads; see docs/security.md"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@attrs.frozen
class DocumentLimits:
    """Bounds on one YAML or JSON document. The defaults are far above any real contract or policy (the
    largest shipped one has 73 nodes, nesting depth 6 and no alias)."""

    max_aliases: int = 100  # YAML alias uses (``*name``) in the file
    max_nodes: int = 100_000  # YAML nodes, each alias counting as all the nodes of its anchor
    max_depth: int = 100  # nesting of sequences and mappings (aliases expanded), YAML and JSON
    max_chars: int = 32 << 20  # characters of all YAML scalars, each alias counting its anchor's characters


DEFAULT_LIMITS = DocumentLimits()


class _Refused(yaml.YAMLError):
    """A document refused by a bound: ``str()`` is the one-line reason; :meth:`reason` the one that quotes
    nothing of the document."""

    hint: str | None = _HINT

    def __init__(self, message: str, redacted: str | None = None) -> None:
        super().__init__(message)
        self.redacted = message if redacted is None else redacted

    def reason(self, redaction: Redaction | None) -> str:
        return str(self) if redaction is None else self.redacted


class _DuplicateYamlKey(_Refused):
    hint = None

    def __init__(self, key: str, where: str) -> None:
        super().__init__(f"duplicate key {key!r} ({where})", f"duplicate key ({where})")
        self.key = key
        self.where = where

    def reason(self, redaction: Redaction | None) -> str:
        if redaction is not None and redaction.key(self.key) is None:
            return self.redacted
        return str(self)


@attrs.frozen
class _Size:
    nodes: int
    height: int  # levels of nesting, a scalar being 1
    chars: int


def _yaml12_resolvers(base: type[yaml.SafeLoader]) -> dict[Any, Any]:
    """``base``'s implicit resolvers without YAML 1.1's yes/no/on/off booleans."""
    return {
        key: [(tag, rx) for tag, rx in value if tag != "tag:yaml.org,2002:bool"]
        for key, value in base.yaml_implicit_resolvers.items()
    }


_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _BoundedLoader(_BASE):  # type: ignore[valid-type,misc]
    """The safe loader (libyaml's parser where available, PyYAML's safe constructor) with crafter's own
    composer: it builds the node graph from the parser's events, keeping the bounds of ``limits``."""

    limits: DocumentLimits = DEFAULT_LIMITS

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._anchors: dict[str, tuple[Node, _Size | None]] = {}  # None: the anchored node is still open
        self._aliases = 0
        self._nodes = 0
        self._chars = 0

    # The composer interface the constructor uses (check_node / get_node / get_single_node).

    def check_node(self) -> bool:
        if self.check_event(StreamStartEvent):
            self.get_event()
        return not self.check_event(StreamEndEvent)

    def get_node(self) -> Node | None:
        if self.check_event(StreamEndEvent):
            return None
        self.get_event()  # DocumentStartEvent
        node, _ = self._compose(1)
        self.get_event()  # DocumentEndEvent
        self._anchors = {}  # anchors do not cross documents
        return node

    def get_single_node(self) -> Node | None:
        self.check_node()
        node = self.get_node()
        if not self.check_event(StreamEndEvent):
            event = self.get_event()
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                None,
                "but found another document",
                event.start_mark,
            )
        return node

    # Composition with bounds.

    def _refuse(self, problem: str, event: Event | None = None) -> NoReturn:
        where = f" (line {event.start_mark.line + 1})" if event is not None and event.start_mark else ""
        raise _Refused(problem + where)

    def _count(self, size: _Size, depth: int, event: Event) -> None:
        limits = self.limits
        self._nodes += size.nodes
        self._chars += size.chars
        if self._nodes > limits.max_nodes:
            self._refuse(
                f"too many YAML nodes once aliases are expanded (more than {limits.max_nodes}): "
                "refused before expansion"
            )
        if self._chars > limits.max_chars:
            self._refuse(
                f"too much YAML text once aliases are expanded (more than {limits.max_chars} characters): "
                "refused before expansion"
            )
        if depth + size.height - 1 > limits.max_depth:
            self._refuse(f"YAML nesting deeper than {limits.max_depth} levels", event)

    def _tag(self, kind: type[Node], event: Any, value: str | None) -> str:
        tag: str | None = event.tag
        if tag is None or tag == "!":
            return str(self.resolve(kind, value, event.implicit))
        return tag

    def _compose(self, depth: int) -> tuple[Node, _Size]:
        if self.check_event(AliasEvent):
            return self._alias(depth)
        event = self.peek_event()
        if depth > self.limits.max_depth:
            self._refuse(f"YAML nesting deeper than {self.limits.max_depth} levels", event)
        anchor: str | None = event.anchor
        if anchor is not None and anchor in self._anchors:
            raise yaml.composer.ComposerError(
                f"found duplicate anchor {anchor!r}; first occurrence",
                self._anchors[anchor][0].start_mark,
                "second occurrence",
                event.start_mark,
            )
        node: Node
        if self.check_event(ScalarEvent):
            self.get_event()
            node = ScalarNode(
                self._tag(ScalarNode, event, event.value),
                event.value,
                event.start_mark,
                event.end_mark,
                style=event.style,
            )
            size = _Size(1, 1, len(event.value))
            self._count(size, depth, event)
        elif self.check_event(SequenceStartEvent):
            self.get_event()
            node = SequenceNode(
                self._tag(SequenceNode, event, None), [], event.start_mark, None, flow_style=event.flow_style
            )
            size = self._children(node, anchor, depth, event)
        elif self.check_event(MappingStartEvent):
            self.get_event()
            node = MappingNode(
                self._tag(MappingNode, event, None), [], event.start_mark, None, flow_style=event.flow_style
            )
            size = self._children(node, anchor, depth, event)
        else:  # the parser only yields the events above here
            raise yaml.composer.ComposerError(
                None, None, f"unexpected {type(event).__name__}", event.start_mark
            )
        if anchor is not None:
            self._anchors[anchor] = (node, size)
        return node, size

    def _alias(self, depth: int) -> tuple[Node, _Size]:
        event = self.get_event()
        self._aliases += 1
        if self._aliases > self.limits.max_aliases:
            self._refuse(
                f"too many YAML aliases (more than {self.limits.max_aliases}): refused before expansion"
            )
        anchor = event.anchor
        if anchor not in self._anchors:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias {anchor!r}", event.start_mark
            )
        node, size = self._anchors[anchor]
        if size is None:
            where = f" (line {event.start_mark.line + 1})" if event.start_mark else ""
            raise _Refused(
                f"cyclic YAML alias *{anchor}: it refers to a node that contains it{where}",
                f"cyclic YAML alias: it refers to a node that contains it{where}",
            )
        self._count(size, depth, event)
        return node, size

    def _children(self, node: Node, anchor: str | None, depth: int, start: Event) -> _Size:
        """Compose the items of an open sequence or mapping; returns its size, aliases expanded."""
        if anchor is not None:
            self._anchors[anchor] = (node, None)
        self._count(_Size(1, 1, 0), depth, start)
        nodes, height, chars = 1, 0, 0
        mapping = isinstance(node, MappingNode)
        end = MappingEndEvent if mapping else SequenceEndEvent
        keys: dict[tuple[str, str], int] = {}
        items: list[Node] = []
        while not self.check_event(end):
            child, size = self._compose(depth + 1)
            items.append(child)
            nodes, height, chars = nodes + size.nodes, max(height, size.height), chars + size.chars
        node.end_mark = self.get_event().end_mark
        if mapping:
            pairs = list(zip(items[::2], items[1::2], strict=True))
            for key, _ in pairs:
                if isinstance(key, ScalarNode) and key.tag != _MERGE_TAG:  # ``<<`` merges may be repeated
                    line = key.start_mark.line + 1
                    first = keys.get((key.tag, key.value))
                    if first is not None:
                        also = "" if first == line else f"; first on line {first}"
                        raise _DuplicateYamlKey(key.value, f"line {line}{also}")
                    keys[key.tag, key.value] = line
            node.value = pairs
        else:
            node.value = items
        return _Size(nodes, height + 1, chars)


def _loader(limits: DocumentLimits) -> type[_BoundedLoader]:
    class Loader(_BoundedLoader):
        pass

    Loader.limits = limits
    # Drop YAML 1.1's yes/no/on/off booleans; keep true/false only.
    Loader.yaml_implicit_resolvers = _yaml12_resolvers(_BASE)
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Loader


_DEFAULT_LOADER = _loader(DEFAULT_LIMITS)


# What crafter says of a YAML syntax error in a document loaded by reference: the first entry whose text is in
# the parser's context or problem (PyYAML's and libyaml's wording) gives the kind. The parser's own message is
# never shown there: some quote the document (a tag, an alias name, the character found).
_YAML_KINDS = (
    ("constructor for the tag", "unknown tag"),
    ("tag handle", "undefined tag handle"),
    ("while scanning a tag", "malformed tag"),
    ("undefined alias", "undefined alias"),
    ("duplicate anchor", "anchor defined twice"),
    ("second occurrence", "anchor defined twice"),
    ("while scanning an anchor", "malformed anchor"),
    ("while scanning an alias", "malformed alias"),
    ("escape character", "unknown escape sequence in a double-quoted string"),
    ("hexdecimal number", "malformed escape sequence in a double-quoted string"),
    ("hexadecimal number", "malformed escape sequence in a double-quoted string"),
    ("character escape code", "malformed escape sequence in a double-quoted string"),
    ("cannot start any token", "a character that cannot start a value (a tab in the indentation, @ or `?)"),
    ("control characters are not allowed", "a control character"),
    ("special characters are not allowed", "a control character"),
    ("unacceptable character", "a character YAML does not allow"),
    ("invalid leading UTF-8 octet", "not UTF-8 text"),
    ("invalid trailing UTF-8 octet", "not UTF-8 text"),
    (
        "mapping values are not allowed",
        "a ':' where no value can start (bad indentation, or an unquoted ': ')",
    ),
    ("while parsing a flow sequence", "unclosed flow sequence (expected ',' or ']')"),
    ("while parsing a flow mapping", "unclosed flow mapping (expected ',' or '}')"),
    ("while scanning a quoted scalar", "unclosed quoted string"),
    ("while scanning a block scalar", "malformed block scalar"),
    ("while scanning a plain scalar", "malformed plain value"),
    ("while scanning a simple key", "a key without ':'"),
    ("expected '-' indicator", "bad indentation of a sequence item"),
    ("did not find expected key", "bad indentation, or a line that is not a key"),
    ("while parsing a block", "bad indentation"),
    ("unhashable key", "a key that is a sequence or a mapping"),
    ("base64", "invalid !!binary value"),
    ("directive", "malformed or unknown directive"),
    ("incompatible YAML document", "unsupported YAML version"),
    ("single document", "more than one document"),
    ("document start", "content after the end of the document"),
    ("node content", "a missing value"),
    ("end of stream", "unexpected end of the document"),
    ("expected a", "a value of the wrong type for its tag"),
)


def _yaml_kind(exc: yaml.YAMLError) -> str:
    said = f"{getattr(exc, 'context', None) or ''} {getattr(exc, 'problem', None) or ''}"
    return next((kind for text, kind in _YAML_KINDS if text in said), "syntax error")


def _yaml_documents(
    text: str,
    source: str,
    error: type[CrafterError],
    limits: DocumentLimits,
    redaction: Redaction | None = None,
) -> list[Any]:
    """Every document of a YAML stream, bounded by ``limits``; every failure is one ``error`` line (quoting
    nothing of the document with ``redaction``)."""
    loader = _DEFAULT_LOADER if limits == DEFAULT_LIMITS else _loader(limits)
    try:
        return list(yaml.load_all(text, Loader=loader))
    except _Refused as exc:
        raise error(f"{source}: {exc.reason(redaction)}", hint=exc.hint) from None
    except RecursionError:  # only with a max_depth near Python's recursion limit
        raise error(f"{source}: YAML nesting too deep to compose", hint=_HINT) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "maximum nesting depth" in problem:  # libyaml's own bound (1000), met while scanning ahead
            raise error(f"{source}: YAML nesting deeper than {limits.max_depth} levels", hint=_HINT) from None
        if redaction is not None:
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise error(f"{source}: invalid YAML{at}: {_yaml_kind(exc)}") from None
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise error(f"{source}: invalid YAML{where}: {problem}") from exc
    # A constructor failing on a value: !!int x, 2024-02-30, !!timestamp x (PyYAML's own AttributeError).
    except (ValueError, TypeError, OverflowError, AttributeError, LookupError) as exc:
        if redaction is not None:
            raise error(
                f"{source}: invalid YAML: a value its type cannot hold (an impossible date, a tagged number "
                "that is not one)"
            ) from None
        raise error(f"{source}: invalid YAML: {exc}") from exc


class _DuplicateKey(dict[str, Any]):
    """Stands, in the parsed JSON, for an object that repeats ``key``; found afterwards to name its path."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


def _json_path(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "the top-level object"


def _walk(value: Any) -> Iterator[tuple[Any, list[str | int]]]:
    """Every value of a parsed JSON document with its path, in document order, without recursion."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        yield item, path
        if isinstance(item, dict):
            stack.extend((v, [*path, k]) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((v, [*path, i]) for i, v in reversed(list(enumerate(item))))


def _json_depth(value: Any) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def load_json(
    text: str | bytes,
    source: str,
    error: type[CrafterError] = CrafterError,
    *,
    limits: DocumentLimits = DEFAULT_LIMITS,
    redaction: Redaction | None = None,
) -> Any:
    """Parse a JSON document, refusing duplicate object keys and nesting deeper than ``limits.max_depth``.
    With ``redaction`` (a document loaded by reference), errors quote nothing of the document."""
    duplicates = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicates
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                duplicates = True
                return _DuplicateKey(key)
            obj[key] = value
        return obj

    try:
        doc = json.loads(text, object_pairs_hook=pairs)
    except RecursionError:  # CPython's parser recurses once per level
        raise error(f"{source}: JSON nesting deeper than {limits.max_depth} levels", hint=_HINT) from None
    except ValueError as exc:
        if redaction is not None:
            raise error(f"{source}: invalid JSON: {json_problem(exc)}") from None
        raise error(f"{source}: invalid JSON: {exc}") from exc
    if duplicates:
        for item, path in _walk(doc):
            if isinstance(item, _DuplicateKey):
                if redaction is None:
                    raise error(f"{source}: duplicate key {item.key!r} in {_json_path(path)}")
                key = redaction.key(item.key)
                named = f" {key!r}" if key is not None else ""
                raise error(
                    f"{source}: duplicate key{named} in {redaction.path(path, 'the top-level object')}"
                )
    if _json_depth(doc) > limits.max_depth:
        raise error(f"{source}: JSON nesting deeper than {limits.max_depth} levels", hint=_HINT)
    return doc


def load_yaml(
    data: str | bytes,
    source: str,
    error: type[CrafterError] = CrafterError,
    *,
    limits: DocumentLimits = DEFAULT_LIMITS,
    redaction: Redaction | None = None,
) -> Any:
    """Parse one YAML document (``None`` when the text holds none) with the bounds of ``limits``; with
    ``redaction``, errors quote nothing of the document."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise error(f"{source}: not UTF-8 text") from None
    docs = _yaml_documents(data, source, error, limits, redaction)
    if len(docs) > 1:
        raise error(f"{source}: expected one YAML document, found {len(docs)}")
    return docs[0] if docs else None


def parse_document(
    text: str,
    source: str,
    error: type[CrafterError] = CrafterError,
    *,
    limits: DocumentLimits = DEFAULT_LIMITS,
    redaction: Redaction | None = None,
) -> Any:
    """Parse ``text`` as JSON when it looks like JSON, else as YAML (YAML 1.2 booleans); bounded by ``limits``,
    duplicate keys refused. With ``redaction`` (a document loaded by reference), errors give positions and
    kinds of problems and quote nothing of the document."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise error(f"{source}: the document is empty")
    # The line breaks stripped are given back, so that positions in errors are lines of the file.
    kind = stripped[0]
    skipped = text[: len(text) - len(stripped)].replace("\r\n", "\n").replace("\r", "\n").count("\n")
    stripped = "\n" * skipped + stripped
    if kind in "{[":
        return load_json(stripped, source, error, limits=limits, redaction=redaction)
    docs = [d for d in _yaml_documents(stripped, source, error, limits, redaction) if d is not None]
    if len(docs) != 1:
        raise error(f"{source}: expected one YAML document, found {len(docs)}")
    return docs[0]


class KeyLines:
    """Where the keys of a document are: ``lines(("spec", "policies", 0, "kind"))`` is the line of that key
    (of the item, for an index), or None. The text is composed again only when an error asks, by the same
    bounded loader; a document it cannot compose (JSON that is not also YAML) has no lines."""

    def __init__(self, data: str | bytes) -> None:
        self._data = data
        self._root: Node | None = None
        self._done = False

    def _compose(self) -> Node | None:
        if not self._done:
            self._done = True
            try:
                text = self._data.decode("utf-8") if isinstance(self._data, bytes) else self._data
                self._root = yaml.compose(text.lstrip("\ufeff"), Loader=_DEFAULT_LOADER)
            except Exception:  # a position is a courtesy; the document's own error was reported already
                self._root = None
            self._data = b""
        return self._root

    def __call__(self, path: Sequence[str | int]) -> int | None:
        node = self._compose()
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in path:
            if isinstance(node, MappingNode) and isinstance(part, str):
                pair = next(
                    ((k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == part), None
                )
                if pair is None:
                    return None
                line, node = pair[0].start_mark.line + 1, pair[1]
            elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return None
        return line


#: A document file larger than this is refused before it is parsed (at most this + 1 bytes are read).
MAX_DOCUMENT_BYTES = 16 << 20


def read_document(path: Path, error: type[CrafterError] = CrafterError) -> tuple[Any, bytes]:
    """Read and parse a YAML/JSON file; returns the parsed value and the raw bytes.

    Only a regular file is read (a FIFO or a device is refused, never waited on), at most
    :data:`MAX_DOCUMENT_BYTES` of it (:func:`crafter._internal.files.open_regular`)."""
    from crafter._internal.files import open_regular

    with open_regular(path, error=error) as fh:
        raw = fh.read_at_most(MAX_DOCUMENT_BYTES)
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise error(f"{path}: file larger than {MAX_DOCUMENT_BYTES} bytes")
        fh.check_unchanged(len(raw))
    if path.suffix.lower() == ".cue":
        raise error(f"{path}: CUE contract format is no longer supported; use JSON or YAML")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text") from exc
    return parse_document(text, str(path), error), raw
