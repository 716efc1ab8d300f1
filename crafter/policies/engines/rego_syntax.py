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

import re
from collections.abc import Iterator

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
        self.line = line


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

    def calls(self) -> Iterator[tuple[str, int]]:
        """Every ``a.b.c(`` call of a dotted name, with its line (strings and comments never count)."""
        toks = self.tokens
        for i, tok in enumerate(toks):
            if tok.kind != "ident" or (i and toks[i - 1].text == "."):
                continue
            j, parts = i, [tok.text]
            while j + 2 < len(toks) and toks[j + 1].text == "." and toks[j + 2].kind == "ident":
                j += 2
                parts.append(toks[j].text)
            if j + 1 < len(toks) and toks[j + 1].text == "(":
                yield ".".join(parts), tok.line


class _Reader:
    """A cursor over tokens that knows how to skip bracketed groups and head values."""

    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def is_(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.text == text and tok.kind in ("ident", "op")

    def adjacent(self) -> bool:
        """The next token follows the previous one with no space in between (as in ``a[x]``, ``f(x)``)."""
        tok = self.peek()
        return tok is not None and self.i > 0 and self.toks[self.i - 1].end == tok.start

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            last = self.toks[-1].end_line if self.toks else 1
            raise RegoSyntaxError("unexpected end of policy", last)
        self.i += 1
        return tok

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

    def skip_operand(self) -> None:
        while self.is_("-") or self.is_("not"):
            self.take()
        tok = self.take()
        if tok.kind == "op" and tok.text in _OPEN:
            self.i -= 1
            self.skip_group()
        elif tok.kind not in ("ident", "string", "raw", "number"):
            raise RegoSyntaxError(f"unexpected {tok.text!r}", tok.line)
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
            continues = prev.text in _BINARY or prev.text in (",", ":=", "=", "some", "every", "not")
            starts_rule = tok.kind == "ident" and tok.text not in _BINARY
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
            if reader.is_("as"):
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
    function = reader.is_("(") and reader.adjacent()
    if function:
        reader.skip_group()
    value = contains = uses_if = False
    if reader.is_("contains"):
        reader.take()
        reader.skip_term()
        contains = True
    elif reader.is_("=") or reader.is_(":="):
        reader.take()
        reader.skip_term()
        value = True
    bare: list[int] = []
    while True:
        if reader.is_("if"):
            reader.take()
            uses_if = True
            if reader.is_("{"):
                reader.skip_group()
            else:
                reader.skip_line_body()
        elif reader.is_("{") and not default:
            bare.append(reader.i)
            reader.skip_group()
        else:
            break
        while reader.is_("{"):  # further bodies of the same head (a disjunction, valid in v0 and v1)
            reader.skip_group()
        if not reader.is_("else"):
            break
        else_tok = reader.take()
        if reader.is_("=") or reader.is_(":="):
            reader.take()
            reader.skip_term()
            if not (reader.is_("if") or reader.is_("{")):
                break  # ``else := value`` with no body of its own
        elif not (reader.is_("if") or reader.is_("{")):
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
