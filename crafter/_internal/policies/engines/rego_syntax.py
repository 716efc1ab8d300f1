"""Reading Rego source without evaluating it: tokens, the module outline, Rego v0 conversion, boilerplate.

regopy reads a Rego v0 partial set rule (``deny[msg] { ... }``) as a partial *object* rule without a word of
warning, so a v0 policy would silently produce ``{"msg": true}`` instead of ``["msg"]``. Before any evaluation
the engine therefore reads the module outline here (package, imports, rule heads and where their bodies start)
with a real tokenizer that skips strings and comments, and rewrites the v0 forms into the Rego v1 forms with the
same meaning, or refuses what it cannot rewrite safely. Rewrites only insert text on the line where the
construct is, so line numbers in later error messages still point at the user's lines.

The outline is also what the boilerplate injection (reference section 3.4) and the restricted built-in check
need: rule names, ``default`` rules, the package and import lines, and every call of a dotted name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence

import attrs

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n\f\v]+)
    |(?P<comment>\#[^\n]*)
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<raw>`[^`]*`)
    |(?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>:=|==|!=|<=|>=|[=<>+\-*/%|&.,;:()\[\]{}])
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_OPEN = {"(": ")", "[": "]", "{": "}"}
_BINARY = frozenset({"+", "-", "*", "/", "%", "|", "&", "==", "!=", "<", ">", "<=", ">=", "in"})
_FUTURE_PREFIX = "future.keywords"
_KEYWORDS = frozenset(
    {"as", "contains", "default", "else", "every", "if", "import", "in", "not", "package", "some", "with"}
)


class RegoSyntaxError(Exception):
    """The source cannot be read, or a v0 form cannot be converted safely. ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.reason = message
        self.line = line


class RegoParseError(RegoSyntaxError):
    """The module's rules cannot be parsed (:func:`references`): a module neither engine would load."""


@attrs.frozen
class Token:
    kind: str  # string, raw, number, ident, op, other
    text: str
    start: int  # offsets in the source text
    end: int
    line: int  # 1-based line of the first and of the last character
    end_line: int


def tokenize(source: str) -> list[Token]:
    """Every token of ``source`` except whitespace and comments."""
    tokens: list[Token] = []
    line = 1
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or "other"
        text = match.group()
        newlines = text.count("\n")
        if kind == "other" and text == '"':
            raise RegoSyntaxError("unterminated string", line)
        if kind not in ("space", "comment"):
            tokens.append(Token(kind, text, match.start(), match.end(), line, line + newlines))
        line += newlines
    return tokens


@attrs.frozen
class Rule:
    """One rule as far as conversion and boilerplate care: its head and where its bodies begin."""

    name: str | None  # the rule name when the head is ``name`` or ``name[...]`` (as OPA's Head.Name)
    ref: str  # the head reference as written, e.g. ``deny`` or ``a.b[x]``
    line: int
    start: int  # token index where the rule begins (``default`` included)
    default: bool
    function: bool
    segments: int  # parts of the head reference: ``p`` 1, ``p[x]`` 2, ``a.b[x]`` 3
    value: bool  # ``= v`` or ``:= v``
    contains: bool
    uses_if: bool
    bare_bodies: tuple[int, ...]  # token indexes of body ``{`` with no ``if`` before them
    key_brackets: tuple[int, int] | None  # token indexes of the last ``[`` and ``]`` of the head


@attrs.frozen
class Module:
    """The outline of one module."""

    package: str  # the package path as written after ``package``
    package_line: int
    imports: tuple[tuple[str, str | None, int], ...]  # (path, alias, line)
    rules: tuple[Rule, ...]
    tokens: tuple[Token, ...]

    @property
    def rego_v1(self) -> bool:
        return any(path == "rego.v1" for path, _, _ in self.imports)

    @property
    def future_keywords(self) -> bool:
        return any(path.startswith(_FUTURE_PREFIX) for path, _, _ in self.imports)

    def bound_names(self) -> set[str]:
        """Names an import or a rule head binds in this module (they shadow built-in namespaces)."""
        names = {r.ref.split("[")[0] for r in self.rules}
        for path, alias, _ in self.imports:
            if path == "rego.v1" or path.startswith(_FUTURE_PREFIX):
                continue
            names.add(alias or path.split(".")[-1])
        return names

    def references(self) -> tuple[Reference, ...]:
        """Every name the module uses, how and on which line (:func:`references`; the module must be v1)."""
        return references(self)

    def calls(self) -> Iterator[tuple[str, int]]:
        """Every call of a name (``a.b.c(``, ``a["b"].c(``), with its line; strings and comments never count."""
        for ref in self.references():
            if ref.usage == CALLED and not ref.dynamic:
                yield ref.name, ref.line


# -- references: every name a module uses, from a parse of its rules --------------------------------------

#: How a name is used, as the restricted built-in check words it.
CALLED = "called"
WITH_TARGET = "used as a with target"
WITH_VALUE = "used as a with value"
VALUE = "used as a value"
IMPORTED = "imported"
ALIAS = "used as an import alias"
RULE = "defined as a rule"

_INFIX = frozenset({":=", "=", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "&", "|"})
_LITERALS = frozenset({"true", "false", "null"})
_STRING_KINDS = ("string", "raw")


@attrs.frozen
class Reference:
    """One use of a name: a variable, or a reference with its constant part (``opa.runtime``,
    ``opa["runtime"]`` and ``(opa).runtime`` are all the reference ``opa.runtime``).

    ``segments`` are the variable and the constant strings after it, up to the first segment that is not a
    constant string; ``dynamic`` says such a segment follows (``input.items[i]``: ``input.items``, dynamic).
    """

    segments: tuple[str, ...]
    line: int  # line of the variable's token
    usage: str  # CALLED, WITH_TARGET, WITH_VALUE, VALUE, IMPORTED, ALIAS or RULE
    dynamic: bool = False

    @property
    def name(self) -> str:
        return ".".join(self.segments)


@attrs.define
class _Operand:
    """What the parser knows about one operand: its reference (index into the list), or its constant string."""

    ref: int | None = None
    constant: str | None = None


class _Cursor:
    """A position in a token sequence, shared by the parser and the v0-to-v1 reader."""

    def __init__(self, tokens: Sequence[Token]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def at(self, text: str) -> bool:
        """The next token is the keyword or operator ``text``."""
        tok = self.peek()
        return tok is not None and tok.text == text and tok.kind in ("ident", "op")

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            last = self.toks[-1].end_line if self.toks else 1
            raise RegoSyntaxError("unexpected end of policy", last)
        self.i += 1
        return tok


class _Parser(_Cursor):
    """A recursive-descent reader of Rego v1 modules that records every reference with how it is used.

    It reads what OPA's parser reads: rule heads (name, keys, arguments, values), bodies, ``else`` chains,
    literals with ``not``/``some``/``every`` and ``with`` modifiers, infix expressions, calls, references
    with ``.name`` and ``[term]`` segments, parenthesised terms, arrays, objects, sets and comprehensions.
    Where regopy is more lenient than OPA it follows regopy, so that nothing it would evaluate goes unseen:
    ``opa . runtime``, ``opa.\\nruntime`` and ``opa.runtime ()`` are the same reference. Every identifier
    of the module (but the package path) ends up in exactly one reference; a token it does not expect is a
    :class:`RegoSyntaxError`, never skipped.
    """

    def __init__(self, tokens: tuple[Token, ...]) -> None:
        super().__init__(tokens)
        self.refs: list[Reference] = []

    # -- cursor ------------------------------------------------------------------------------------------
    def expect(self, text: str) -> Token:
        tok = self.take()
        if tok.text != text or tok.kind not in ("ident", "op"):
            raise RegoSyntaxError(f"expected {text!r}, found {tok.text!r}", tok.line)
        return tok

    def same_line(self) -> bool:
        """The next token starts on the line where the previous one ends."""
        tok = self.peek()
        return tok is not None and self.i > 0 and tok.line == self.toks[self.i - 1].end_line

    def unexpected(self, tok: Token) -> RegoSyntaxError:
        return _unexpected(tok)

    # -- module ------------------------------------------------------------------------------------------
    def module(self) -> tuple[Reference, ...]:
        self.expect("package")
        mark = len(self.refs)
        self.operand(VALUE)
        del self.refs[mark:]  # the package path names this module, nothing it uses
        while self.at("import"):
            self.take()
            self.operand(IMPORTED)
            if self.at("as"):
                self.take()
                alias = self.take()
                if alias.kind != "ident":
                    raise self.unexpected(alias)
                self.refs.append(Reference((alias.text,), alias.line, ALIAS))
        while self.peek() is not None:
            self.rule()
        return tuple(self.refs)

    def rule(self) -> None:
        if self.at("default"):
            self.take()
        name = self.take()
        if name.kind != "ident" or name.text in _KEYWORDS:
            raise RegoSyntaxError(f"unexpected {name.text!r} where a rule should start", name.line)
        self.i -= 1
        mark = len(self.refs)
        self.operand(RULE, head=True)
        if self.at("contains") or self.at(":=") or self.at("="):  # a set element, or the value
            self.take()
            self.expr(VALUE)
        head = self.refs[mark:]
        while True:
            if self.at("if"):
                self.take()
                if self.at("{"):
                    self.body_or_literal()
                else:
                    self.literal()
            elif self.at("{"):
                self.body()
            else:
                return
            while self.at("{"):  # further bodies: each one is a rule with the same head, as OPA reads them
                self.refs.extend(head)
                self.body()
            if not self.at("else"):
                return
            self.take()
            if self.at(":=") or self.at("="):
                self.take()
                self.expr(VALUE)
            if not (self.at("if") or self.at("{")):
                return

    def body_or_literal(self) -> None:
        """After ``if``: a braced body, unless it is not one (``if {1: 1}``, ``if {1} == x``): then, as OPA
        does, one literal starting with an object or set."""
        start, mark = self.i, len(self.refs)
        try:
            self.body()
            if not self._continues():
                return
        except RegoSyntaxError:
            pass
        self.i = start
        del self.refs[mark:]
        self.literal()

    def _continues(self) -> bool:
        """The next token carries on the term just read (an infix operator, ``with``, or a postfix)."""
        tok = self.peek()
        if tok is None:
            return False
        if tok.kind == "ident":
            return tok.text in ("in", "with")
        return tok.kind == "op" and (
            tok.text in _INFIX or tok.text == "." or (tok.text == "[" and self.same_line())
        )

    def body(self) -> None:
        """``{ literal; literal \\n literal }``."""
        self.expect("{")
        self._literals("}")

    def _literals(self, closer: str) -> None:
        """Literals separated by ``;`` or line breaks, to ``closer`` (a body's, or a comprehension's)."""
        while not self.at(closer):
            self.literal()
            if self.at(";"):
                self.take()
            elif not self.at(closer) and self.same_line():
                raise self.unexpected(self.take())
        self.take()

    def literal(self) -> None:
        """A literal and its ``with`` modifiers, which OPA accepts after any kind (``some x in xs with ...``)."""
        every = self.at("every")
        if self.at("some") or every or self.at("not"):
            self.take()
        self.expr(VALUE)
        while self.at(","):  # ``key, value in collection``, ``some a, b``
            self.take()
            self.expr(VALUE)
        if every:
            self.body()
        while self.at("with"):
            self.take()
            self.expr(WITH_TARGET)
            self.expect("as")
            self.expr(WITH_VALUE)

    # -- expressions ---------------------------------------------------------------------------------------
    def expr(self, usage: str, *, bar: bool = True) -> _Operand:
        """Operands joined by infix operators (across lines, as OPA reads them). ``usage`` applies to the
        first operand only when it stands alone (``with f as opa.runtime``, not ``with f as x + 1``)."""
        first = self.operand(usage)
        alone = True
        while (tok := self.peek()) is not None and (
            (tok.kind == "op" and tok.text in _INFIX and (bar or tok.text != "|"))
            or (tok.kind == "ident" and tok.text == "in")
        ):
            self.take()
            self.operand(VALUE)
            alone = False
        if not alone:
            if first.ref is not None and self.refs[first.ref].usage not in (VALUE, CALLED):
                self.refs[first.ref] = attrs.evolve(self.refs[first.ref], usage=VALUE)
            return _Operand()
        return first

    def operand(self, usage: str, *, head: bool = False) -> _Operand:
        """A term with its ``.name``, ``[term]`` and ``(args)`` postfixes; ``head``: a rule head reference,
        whose ``(args)`` are the function's parameters, not a call."""
        while self.at("-"):
            self.take()
        tok = self.take()
        segments: list[str] | None = None
        ref: int | None = None
        constant: str | None = None
        line = tok.line
        if tok.kind in _STRING_KINDS:
            constant = _string_value(tok)
        elif tok.kind == "number" or (tok.kind == "ident" and tok.text in _LITERALS):
            pass
        elif tok.kind == "ident" and tok.text == "set" and self.at("(") and self._closes(1):
            self.take()
            self.take()  # ``set()``: the empty set, not a call
        elif tok.kind == "ident" and tok.text not in _KEYWORDS:
            segments = [tok.text]
        elif tok.kind == "op" and tok.text == "(":
            inner = self.expr(VALUE)
            self.expect(")")
            constant = inner.constant
            adopted = self.refs[inner.ref] if inner.ref is not None else None
            if adopted is not None and not adopted.dynamic and adopted.usage == VALUE:
                # ``(opa).runtime``: OPA reads the parenthesised reference as the head of a longer one
                ref = inner.ref
                segments = list(adopted.segments)
                line = adopted.line
        elif tok.kind == "op" and tok.text == "[":
            self.collection("]")
        elif tok.kind == "op" and tok.text == "{":
            self.collection("}")
        else:
            raise self.unexpected(tok)
        dynamic = False

        def emit(how: str) -> int | None:
            nonlocal ref
            if segments is None:
                return None
            found = Reference(tuple(segments), line, how, dynamic)
            if ref is None:
                self.refs.append(found)
                ref = len(self.refs) - 1
            else:
                self.refs[ref] = found
            return ref

        while (nxt := self.peek()) is not None:
            if nxt.text == "." and nxt.kind == "op":  # across any space: a term never starts with a dot
                self.take()
                part = self.take()
                if part.kind != "ident":
                    raise self.unexpected(part)
                if segments is not None and not dynamic:
                    segments.append(part.text)
                constant = None
            elif nxt.text == "[" and nxt.kind == "op" and self.same_line():
                self.take()
                key = self.expr(VALUE)
                self.expect("]")
                if segments is not None and not dynamic:
                    if key.constant is not None:
                        segments.append(key.constant)
                    else:
                        dynamic = True
                constant = None
            elif nxt.text == "(" and nxt.kind == "op" and self.same_line():
                if head:
                    emit(usage)
                    segments = None
                    self.take()
                    self._arguments()
                    return _Operand(ref)
                emit(CALLED)
                segments, ref, constant = None, None, None
                self.take()
                self._arguments()
            else:
                break
        emit(usage)
        return _Operand(ref, constant if segments is None else None)

    def _closes(self, k: int) -> bool:
        tok = self.peek(k)
        return tok is not None and tok.kind == "op" and tok.text == ")"

    def _arguments(self) -> None:
        """After ``(``: expressions separated by commas, to ``)``."""
        while not self.at(")"):
            self.expr(VALUE)
            if not self.at(","):
                break
            self.take()
        self.expect(")")

    def collection(self, closer: str) -> None:
        """After ``[`` or ``{``: an array, set or object, or a comprehension."""
        if self.at(closer):
            self.take()
            return
        self.expr(VALUE, bar=False)
        if closer == "}" and self.at(":"):
            self.take()
            self.expr(VALUE, bar=False)
            pairs = True
        else:
            pairs = False
        if self.at("|"):
            self.take()
            self._literals(closer)
            return
        while self.at(","):
            self.take()
            if self.at(closer):
                break
            self.expr(VALUE, bar=False)
            if pairs:
                self.expect(":")
                self.expr(VALUE, bar=False)
        self.expect(closer)


def _unexpected(tok: Token) -> RegoSyntaxError:
    if tok.text == "$":  # OPA reads the expressions inside $"...{expr}..."; regopy has no template strings
        return RegoSyntaxError('template strings ($"...") are not supported', tok.line)
    return RegoSyntaxError(f"unexpected {tok.text!r}", tok.line)


def _string_value(tok: Token) -> str:
    if tok.kind == "raw":
        return tok.text[1:-1]
    try:
        value = json.loads(tok.text)
    except ValueError as exc:
        raise RegoSyntaxError(f"invalid string {tok.text}", tok.line) from exc
    if not isinstance(value, str):  # pragma: no cover - the tokenizer only makes quoted strings
        raise RegoSyntaxError(f"invalid string {tok.text}", tok.line)
    return value


def references(module: Module) -> tuple[Reference, ...]:
    """Every reference of ``module`` (Rego v1, as :func:`to_v1` returns it), in source order;
    :class:`RegoParseError` when the module cannot be parsed."""
    try:
        return _Parser(module.tokens).module()
    except RegoParseError:
        raise
    except RegoSyntaxError as exc:
        raise RegoParseError(exc.reason, exc.line) from exc


class _Reader(_Cursor):
    """A cursor over tokens that knows how to skip bracketed groups and head values."""

    def adjacent(self) -> bool:
        """The next token follows the previous one with no space in between (as in ``a[x]``, ``f(x)``)."""
        tok = self.peek()
        return tok is not None and self.i > 0 and self.toks[self.i - 1].end == tok.start

    def skip_group(self) -> int:
        """Skip from an opening bracket to its match; returns the index of the closing token."""
        opener = self.take()
        stack = [_OPEN[opener.text]]
        while stack:
            if self.peek() is None:
                raise RegoSyntaxError(f"{opener.text!r} opened here is never closed", opener.line)
            tok = self.take()
            if tok.kind != "op":
                continue
            if tok.text in _OPEN:
                stack.append(_OPEN[tok.text])
            elif tok.text in (")", "]", "}") and tok.text != stack.pop():
                raise RegoSyntaxError(f"unbalanced {tok.text!r}", tok.line)
        return self.i - 1

    def continues(self) -> bool:
        """The next token carries on the term just skipped: an infix operator, ``with``, or a postfix."""
        tok = self.peek()
        if tok is None:
            return False
        if tok.kind == "ident":
            return tok.text in ("in", "with")
        return tok.kind == "op" and (
            tok.text in _BINARY or tok.text in (":=", "=", ".") or (tok.text == "[" and self.adjacent())
        )

    def skip_operand(self) -> None:
        while self.at("-") or self.at("not"):
            self.take()
        tok = self.take()
        if tok.kind == "op" and tok.text in _OPEN:
            self.i -= 1
            self.skip_group()
        elif tok.kind not in ("ident", "string", "raw", "number"):
            raise _unexpected(tok)
        while True:  # postfix: .field, [key], (args)
            nxt = self.peek()
            if nxt is not None and nxt.text == "." and self.adjacent():
                self.take()
                self.take()
            elif nxt is not None and nxt.text in ("[", "(") and self.adjacent():
                self.skip_group()
            else:
                return

    def skip_term(self) -> None:
        """Skip a head value or ``contains`` term: operands joined by infix operators."""
        self.skip_operand()
        while (tok := self.peek()) is not None and tok.text in _BINARY and tok.kind in ("op", "ident"):
            self.take()
            self.skip_operand()

    def skip_line_body(self) -> None:
        """Skip a body written without braces after ``if``: one expression, to the end of its line.

        The expression goes on over a line break when the line ends in an operator or the next one starts
        with one; a rule never starts with an operator.
        """
        self.skip_operand()
        while (tok := self.peek()) is not None:
            prev = self.toks[self.i - 1]
            continues = prev.text in _BINARY or prev.text in (
                ",",
                ":=",
                "=",
                "some",
                "every",
                "not",
                "with",
                "as",
            )
            starts_rule = tok.kind == "ident" and tok.text not in _BINARY and tok.text not in ("with", "as")
            if (tok.line != prev.end_line and starts_rule and not continues) or tok.text == "else":
                return
            if tok.kind == "op" and tok.text in _OPEN:
                self.skip_group()
            else:
                self.take()


def read_module(source: str) -> Module:
    """The outline of ``source``; :class:`RegoSyntaxError` when it is not a module this reader understands."""
    reader = _Reader(tokenize(source))
    package: tuple[str, int] | None = None
    imports: list[tuple[str, str | None, int]] = []
    rules: list[Rule] = []
    while (tok := reader.peek()) is not None:
        if tok.kind == "ident" and tok.text == "package":
            reader.take()
            package = (_read_path(reader, tok.line), tok.line)
        elif tok.kind == "ident" and tok.text == "import":
            reader.take()
            path = _read_path(reader, tok.line)
            alias = None
            if reader.at("as"):
                reader.take()
                alias = reader.take().text
            imports.append((path, alias, tok.line))
        elif package is None:
            raise RegoSyntaxError("the policy must start with a package declaration", tok.line)
        else:
            rules.append(_read_rule(reader))
    if package is None:
        raise RegoSyntaxError("the policy has no package declaration", 1)
    return Module(package[0], package[1], tuple(imports), tuple(rules), tuple(reader.toks))


def _read_path(reader: _Reader, line: int) -> str:
    """A dotted path on one line (``a.b.c`` or ``a["b-c"]``), as written without spaces."""
    parts = [reader.take().text]
    while (tok := reader.peek()) is not None and tok.line == line and tok.text in (".", "["):
        if tok.text == ".":
            parts += [reader.take().text, reader.take().text]
        else:
            start = reader.i
            end = reader.skip_group()
            parts += [t.text for t in reader.toks[start : end + 1]]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", parts[0]):
        raise RegoSyntaxError(f"invalid path {parts[0]!r}", line)
    return "".join(parts)


def _read_rule(reader: _Reader) -> Rule:
    start = reader.i
    first = reader.take()
    default = first.kind == "ident" and first.text == "default"
    name_tok = reader.take() if default else first
    if name_tok.kind != "ident" or name_tok.text in _KEYWORDS:
        raise RegoSyntaxError(f"unexpected {name_tok.text!r} where a rule should start", name_tok.line)
    head_start = reader.i - 1
    segments, key = 1, None
    while (tok := reader.peek()) is not None and reader.adjacent() and tok.text in (".", "["):
        segments += 1
        if tok.text == ".":
            reader.take()
            reader.take()
            key = None
        else:
            open_i = reader.i
            key = (open_i, reader.skip_group())
    ref = "".join(t.text for t in reader.toks[head_start : reader.i])
    function = reader.at("(") and reader.adjacent()
    if function:
        reader.skip_group()
    value = contains = uses_if = False
    if reader.at("contains"):
        reader.take()
        reader.skip_term()
        contains = True
    elif reader.at("=") or reader.at(":="):
        reader.take()
        reader.skip_term()
        value = True
    bare: list[int] = []
    while True:
        if reader.at("if"):
            reader.take()
            uses_if = True
            brace = reader.i
            if reader.at("{"):
                reader.skip_group()
                if reader.continues():  # ``if {1} == x``: not a body but a literal, as OPA reads it
                    reader.i = brace
                    reader.skip_line_body()
            else:
                reader.skip_line_body()
        elif reader.at("{") and not default:
            bare.append(reader.i)
            reader.skip_group()
        else:
            break
        while reader.at("{"):  # further bodies of the same head (a disjunction, valid in v0 and v1)
            reader.skip_group()
        if not reader.at("else"):
            break
        else_tok = reader.take()
        if reader.at("=") or reader.at(":="):
            reader.take()
            reader.skip_term()
            if not (reader.at("if") or reader.at("{")):
                break  # ``else := value`` with no body of its own
        elif not (reader.at("if") or reader.at("{")):
            raise RegoSyntaxError("`else` must be followed by a value or a body", else_tok.line)
    return Rule(
        name=name_tok.text if segments == 1 or (segments == 2 and key is not None) else None,
        ref=ref,
        line=name_tok.line,
        start=start,
        default=default,
        function=function,
        segments=segments,
        value=value,
        contains=contains,
        uses_if=uses_if,
        bare_bodies=tuple(bare),
        key_brackets=key,
    )


# -- Rego v0 -> v1 ---------------------------------------------------------------------------------------


def to_v1(source: str) -> str:
    """``source`` with its Rego v0 rule forms rewritten to the v1 forms of the same meaning.

    Modules that ``import rego.v1`` must already be v1: a v0 form there is refused, as OPA refuses it. In other
    modules a rule body without ``if`` gets one, and a v0 partial set head ``name[x]`` (no value) becomes
    ``name contains x``. A bracketed head *with* ``if`` is read as v1 (an object) unless the module imports
    ``future.keywords``, the mark of a v0 module, where OPA v0 reads it as a set. A v0 set head deeper than
    ``name[x]`` (``a.b[x] { ... }``) is refused: which document it builds is not clear enough to rewrite.
    """
    module = read_module(source)
    edits: list[tuple[int, int, str]] = []
    for rule in module.rules:
        rule_edits = _rule_edits(module, rule)
        if module.rego_v1 and rule_edits:
            raise RegoSyntaxError(_v1_required(source, module, rule, rule_edits), rule.line)
        edits += rule_edits
    return _apply(source, edits)


def _rule_edits(module: Module, rule: Rule) -> list[tuple[int, int, str]]:
    toks = module.tokens
    edits: list[tuple[int, int, str]] = []
    # ``name[x] if`` is a v1 object rule, except in a v0 module (one importing future.keywords)
    v1_if = module.rego_v1 or not module.future_keywords
    set_head = (
        rule.key_brackets is not None
        and not (rule.value or rule.contains or rule.function or rule.default)
        and not (rule.uses_if and v1_if)
    )
    if set_head and rule.key_brackets is not None:
        if rule.segments > 2 and not module.rego_v1:
            open_i, close_i = rule.key_brackets
            ref, key = rule.ref[: rule.ref.rindex("[")], _text(module, open_i + 1, close_i)
            raise RegoSyntaxError(
                f"`{rule.ref} {{` is ambiguous in Rego v0 (a set or an object); write "
                f"`{ref} contains {key} if {{` for a set, or `{rule.ref} := true if {{` for an object",
                rule.line,
            )
        open_i, close_i = rule.key_brackets
        edits.append((toks[open_i].start, toks[open_i].end, " contains "))
        edits.append((toks[close_i].start, toks[close_i].end, ""))
    for brace in rule.bare_bodies:
        tok = toks[brace]
        edits.append((tok.start, tok.start, "if " if toks[brace - 1].end < tok.start else " if "))
    return edits


def _v1_required(source: str, module: Module, rule: Rule, edits: list[tuple[int, int, str]]) -> str:
    toks = module.tokens
    start = toks[rule.start].start
    line_end = source.find("\n", start)
    line_end = len(source) if line_end < 0 else line_end
    written = source[start:line_end].strip()
    local = [(a - start, b - start, t) for a, b, t in edits if b <= line_end]
    fixed = _apply(source[start:line_end], local).strip()
    what = (
        "`contains` keyword is required for partial set rules"
        if rule.key_brackets
        else "`if` keyword is required before rule body"
    )
    return f"{what} (the policy imports rego.v1): write `{written}` as `{fixed}`"


def _text(module: Module, first: int, last: int) -> str:
    toks = module.tokens
    return " ".join(t.text for t in toks[first:last])


def _apply(source: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


# -- boilerplate (reference section 3.4, pkg/policies/engine/rego/boilerplate.rego.tmpl) --------------------

_RESULT = (
    "result := {\n"
    '    "skipped": skipped,\n'
    '    "violations": violations,\n'
    '    "skip_reason": skip_reason,\n'
    '    "ignore": ignore,\n'
    "}\n\n"
)
_SKIP_REASON_RULE = (
    'skip_reason := m if {\n    not valid_input\n    m := "the file content is not recognized"\n}\n\n'
)


def inject_boilerplate(source: str, module: Module) -> str:
    """``source`` with the missing ``result``, ``skipped``, ``skip_reason``... rules added after its imports.

    Byte for byte what Chainloop's template renders: the same flags, order and blank lines (the golden files in
    tests/policies/rego/boilerplate/ hold the expected outputs).
    """
    rules = {r.name for r in module.rules if r.name}
    defaults = {r.name for r in module.rules if r.name and r.default}
    complete = "result" in rules and {"skip_reason", "skipped"} <= rules
    if complete and {"skip_reason", "skipped", "ignore", "valid_input", "violations"} <= defaults:
        return source
    absent = {n for n in ("skip_reason", "skipped", "ignore", "valid_input", "violations") if n not in rules}
    blocks = [
        ("result" not in rules, _RESULT),
        ("skip_reason" in absent, 'default skip_reason := ""\n\n'),
        ("skip_reason" not in rules, _SKIP_REASON_RULE),
        ("valid_input" in absent, "default valid_input := true\n\n"),
        ("skipped" in absent, "default skipped := true\n\n"),
        ("skipped" not in rules, "skipped := false if valid_input\n\n"),
        ("ignore" in absent, "default ignore := false\n\n"),
        ("violations" in absent, "default violations := []\n\n"),
    ]
    injection = "".join(text for needed, text in blocks if needed)
    if not injection:
        return source
    lines = source.split("\n")
    at = max([module.package_line, *(line for _, _, line in module.imports)])  # the line after them
    while at < len(lines) and not lines[at].strip():
        at += 1
    return "\n".join([*lines[:at], injection.removesuffix("\n"), *lines[at:]])
