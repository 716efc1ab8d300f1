"""The worker side of the Rego sandbox (:mod:`crafter._internal.policies.engines.sandbox`): runs jobs, one at a time, until EOF.

Started as ``python -I -c ...`` with a scrubbed environment; never imported by crafter's own process. Each job
is a JSON header and the raw input bytes; each answer is a JSON header and a payload (the query's value as
``{"expressions": [value]}`` JSON text, as regopy writes it). Errors in the policy come back as data; only a
crash or a timeout ends the process.
"""

from __future__ import annotations

import ctypes
import faulthandler
import importlib
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection
from typing import IO, Any

try:
    import resource
except ImportError:  # pragma: no cover - Windows: no address-space cap
    resource = None  # type: ignore[assignment]

INT64 = (-(1 << 63), (1 << 63) - 1)
PARENT_POLL = 0.2  # seconds between checks that crafter is still there
CACHED_MODULES = 8  # compiled modules kept per worker: the scripts of one attachment, re-run per material
# regopy's own copy of the input costs far more than its JSON text: measured on CycloneDX SBOMs, 800 to 1,090
# bytes per JSON value through set_input (Python values) and 550 to 700 through set_input_term (JSON text),
# which is 2 to 5 times slower to convert (docs/performance.md). The fast path is taken while its estimate
# (the most measured) stays within the cap; bigger inputs take the lean one.
SET_INPUT_BYTES_PER_VALUE = 1100
# Inputs from this size of JSON text up are dropped by their interpreter once evaluated (Regopy.query): below
# it, what 8 cached interpreters keep (about 60 times the text each) is not worth the reset's cost per query
DROP_INPUT_FROM = 256 << 10
_SEXPR_ERROR = re.compile(r"\(error\s+(?:(\d+):)?")
_SEXPR_MSG = re.compile(r"\(errormsg (\d+):")
_SEXPR_CODE = re.compile(r"\(errorcode (\d+):")


class JobError(Exception):
    """A failure to report to the parent: ``kind`` is input, parse, eval or backend."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def main(job_fd: int, reply_fd: int, parent: int, preload: str = "regopy") -> None:
    _die_with_parent(parent)
    faulthandler.enable()  # a native crash leaves a Python traceback in the stderr file the parent reads
    sys.stdout = sys.stderr  # Python-level prints must not reach fd 1 either
    jobs = Connection(job_fd, writable=False)
    replies = Connection(reply_fd, readable=False)
    runner = Runner()
    # import and warm up before saying ready (not part of any policy's time); a failure is reported to the
    # first job that asks for this backend
    with suppress(JobError):
        runner.backend(preload)
    replies.send_bytes(b'{"ready": true}')
    while True:
        try:
            header = json.loads(jobs.recv_bytes())
            box = [jobs.recv_bytes()]  # handed over in a box: serve() drops the only reference to the bytes
        except EOFError:
            return
        reply, payload = runner.serve(header, box)
        replies.send_bytes(json.dumps(reply).encode())
        replies.send_bytes(payload)


class Runner:
    """Serves jobs: input document, memory cap, stdout capture, backend dispatch."""

    def __init__(self) -> None:
        self.capture = tempfile.TemporaryFile()  # noqa: SIM115 - fd 1 points here during evaluations
        self._backends: dict[str, Regopy | Opa] = {}

    def backend(self, name: str) -> Regopy | Opa:
        if name not in self._backends:
            self._backends[name] = Opa(self.capture) if name == "opa" else Regopy(self.capture)
        return self._backends[name]

    def serve(self, header: Mapping[str, Any], box: list[bytes]) -> tuple[dict[str, Any], bytes]:
        """Run one job; ``box`` holds the input bytes, and is emptied as soon as they are parsed."""
        prints: list[str] = []
        try:
            backend = self.backend(str(header["backend"]))  # outside the cap: Go reserves a lot at start
            memory = int(header["memory"])
            with memory_cap(memory):
                if isinstance(backend, Opa):
                    backend.screen(header["module"], header["source"], header.get("denied") or {})
                document = Document.parse(box.pop(), header.get("args"), memory)
                found, payload = backend.query(
                    header["module"], header["source"], header["query"], document, prints
                )
        except JobError as exc:
            return {"error": exc.kind, "message": exc.message, "prints": prints}, b""
        except MemoryError:
            return {"error": "memory", "retire": True, "prints": prints}, b""
        except RecursionError:
            return {
                "error": "eval",
                "message": "the input or the result is nested too deeply",
                "retire": True,
            }, b""
        except Exception as exc:  # a bug here must come back as an answer, not hang the parent
            return {
                "error": "internal",
                "message": f"internal error in the Rego worker: {exc!r}",
                "retire": True,
            }, b""
        return {"defined": found, "prints": prints}, payload


def build_input(data: bytes, args: Mapping[str, Any] | None) -> tuple[Any, bool]:
    """The input document (reference 3.2, engine part) and whether regopy can take it as Python values.

    regopy's ``set_input`` (the fast path) is only right for plain documents. It silently wraps integers
    outside int64 (12345678901234567890 arrives as -6101065172474983725), and it stores strings unescaped
    while regopy keeps every other string (policy literals, JSON input) in JSON-escaped form: a string
    holding ``"``, ``\\`` or a control character then never equals the same literal, and passes out of the
    policy as text that is not JSON (``"say "hi""``; ``C:\\temp`` would even decode as a form feed). Such
    documents go through ``set_input_term`` as JSON text: in JSON a string holds those characters only as a
    backslash escape, so one backslash anywhere in the text is the test.
    """
    if not data.strip():
        raise JobError("input", "failed to parse input: the input is empty")
    wide = False

    def parse_int(text: str) -> int:
        nonlocal wide
        value = int(text)
        wide = wide or not INT64[0] <= value <= INT64[1]
        return value

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        doc = json.loads(data, parse_int=parse_int, parse_constant=no_constant)
    except (ValueError, RecursionError) as exc:
        raise JobError("input", f"failed to parse input: {exc}") from exc
    if isinstance(doc, list):
        doc = {"elements": doc}
    if args is not None:
        if not isinstance(doc, dict):
            raise JobError("input", "unexpected input arguments (the input is not a JSON object)")
        doc["args"] = dict(args)
    escapes = b"\\" in data or (args is not None and "\\" in json.dumps(args, ensure_ascii=False))
    return doc, not (wide or escapes)


class Document:
    """The input document, held until a backend takes it (then the worker keeps no Python copy of it).

    ``exact`` is False when the document must reach regopy as JSON text (:func:`build_input`), or when it
    is too big for the fast path: regopy's copy of it would not fit in the cap next to the Python values.
    """

    def __init__(self, value: Any, exact: bool, size: int = 0) -> None:
        self._value = value
        self.exact = exact
        self.size = size  # of the JSON text it came from

    @classmethod
    def parse(cls, data: bytes, args: Mapping[str, Any] | None, memory: int) -> Document:
        values, size = json_values(data), len(data)
        doc, exact = build_input(data, args)
        del data  # the caller's box is empty: these bytes go now, before regopy builds its own copy
        return cls(doc, exact and values * SET_INPUT_BYTES_PER_VALUE <= memory, size)

    def take(self) -> Any:
        value, self._value = self._value, None
        return value


def json_values(data: bytes) -> int:
    """About how many values (scalars, arrays, objects, object keys) a JSON text holds, counted without
    parsing it: separators and openers (one pass each in C, a few milliseconds for 10 MB)."""
    return data.count(b",") + data.count(b":") + data.count(b"{") + data.count(b"[") + 1


class Regopy:
    """Evaluation with regopy: one interpreter per module, kept for the next job with the same source."""

    def __init__(self, capture: IO[bytes]) -> None:
        import regopy
        from regopy import rego_shared

        self.regopy = regopy
        self.shared = rego_shared
        self.capture = capture
        self.cache: OrderedDict[tuple[str, str], Any] = OrderedDict()

    def query(
        self, module: str, source: str, query: str, document: Document, prints: list[str]
    ) -> tuple[bool, bytes]:
        interpreter = self._interpreter(module, source)
        try:
            if document.exact:
                interpreter.set_input(document.take())  # regopy's copy is made; the Python one goes
            else:
                # the canonical JSON text (never the bytes as received: build_input's checks hold for it)
                interpreter.set_input_term(json.dumps(document.take(), ensure_ascii=False))
            ok, text, error = captured(self.capture, prints, lambda: self._raw_query(interpreter, query))
        except self.regopy.RegoError as exc:
            if "bad_alloc" in str(exc):  # the cap, met while regopy copied the input
                raise MemoryError(str(exc)) from exc
            raise
        finally:
            # a cached interpreter would otherwise keep its converted input (hundreds of MB for a large
            # SBOM) until its next job: one such copy per cached policy, all held at once
            if document.size >= DROP_INPUT_FROM:
                with suppress(self.regopy.RegoError):
                    interpreter.set_input_term("{}")
        if not ok or text.startswith("("):
            raise JobError("eval", "failed to evaluate policy: " + (error or sexpr_message(text, source)))
        if text == "undefined":
            return False, b""
        return True, text.encode()

    def _interpreter(self, module: str, source: str) -> Any:
        key = (module, source)
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        interpreter = self.regopy.Interpreter()
        interpreter.strict_built_in_errors = True
        try:
            captured(self.capture, [], lambda: interpreter.add_module(module, source))
        except self.regopy.RegoError as exc:
            raise JobError("parse", "failed to parse policy: " + sexpr_message(str(exc), source)) from exc
        self.cache[key] = interpreter
        while len(self.cache) > CACHED_MODULES:
            self.cache.popitem(last=False)
        return interpreter

    def _raw_query(self, interpreter: Any, query: str) -> tuple[bool, str, str]:
        """Query through the C API: ``Output`` would raise JSONDecodeError on some error texts."""
        shared = self.shared
        out = shared.rego_query(interpreter._impl, query)
        try:
            ok = bool(shared.rego_output_ok(out))
            text = shared.rego_output_string(out)
            error = "" if ok else self._node_error(shared.rego_output_node(out))
        finally:
            shared.rego_free_output(out)
        return ok, text, error

    def _node_error(self, node: Any) -> str:
        """``code: message`` of the first error in an error node tree (ErrorSeq > Error > message, code)."""
        shared, kinds = self.shared, self.shared.NodeKind
        found: dict[int, str] = {}

        def walk(n: Any) -> None:
            kind = shared.rego_node_type(n)
            if kind in (kinds.ErrorMessage, kinds.ErrorCode) and kind not in found:
                found[kind] = shared.rego_node_value(n)
            for i in range(shared.rego_node_size(n)):
                walk(shared.rego_node_get(n, i))

        walk(node)
        message = found.get(kinds.ErrorMessage, "unknown error")
        code = found.get(kinds.ErrorCode, "")
        return f"{code}: {message}" if code else message


class Opa:
    """Evaluation with OPA's own Go implementation (opa-golib-python-bindings), when installed."""

    def __init__(self, capture: IO[bytes]) -> None:
        try:  # through importlib: the bindings are optional and untyped
            bindings = importlib.import_module("opa_bindings")
        except ImportError as exc:
            raise JobError("backend", f"the OPA bindings are not installed in this Python ({exc})") from exc
        self.engine_type = bindings.OpaEngine
        self.error, self.undefined = bindings.OpaError, bindings.OpaUndefinedError
        with self.engine_type() as warm:  # start the Go runtime now, before any memory cap applies
            warm.add_policy("warm.rego", "package warm\nx := 1\n")
            warm.eval_document("warm.x", {})
        self.parser = self.engine_type()  # an engine without modules: rego.parse_module, for screen()
        self.capture = capture
        self.cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self.screened: OrderedDict[tuple[str, str], None] = OrderedDict()

    def screen(self, module: str, source: str, denied: Mapping[str, Any]) -> None:
        """Refuse a module that names a denied built-in anywhere, found on OPA's own parse of it.

        The parent refuses these before sending a job (crafter's own reader); this is the second, independent
        check for the one backend that has ``http.send``: what OPA would evaluate, as OPA parses it.
        """
        names = frozenset(str(n) for n in denied.get("names", ()))
        prefixes = tuple(str(p) for p in denied.get("prefixes", ()))
        key = (module, source)
        if not (names or prefixes) or key in self.screened:
            return
        try:
            rows = self.parser.eval_query(
                "ast := rego.parse_module(input.module, input.source)", {"module": module, "source": source}
            )
        except self.error as exc:
            raise JobError("parse", "failed to parse policy: " + opa_message(exc.message)) from exc
        for name in sorted(ast_names(rows[0]["ast"] if rows else {})):
            if name in names or name.startswith(prefixes):
                raise JobError(
                    "parse",
                    f"failed to parse policy: {module}: {name} is not allowed in policies (OPA's parse)",
                )
        self.screened[key] = None
        while len(self.screened) > CACHED_MODULES:
            self.screened.popitem(last=False)

    def query(
        self, module: str, source: str, query: str, document: Document, prints: list[str]
    ) -> tuple[bool, bytes]:
        engine = self._engine(module, source)
        engine.print_handler = lambda message, _location: prints.append(str(message))
        doc = document.take()
        try:
            value = captured(self.capture, [], lambda: engine.eval_document(query.removeprefix("data."), doc))
        except self.undefined:
            return False, b""
        except self.error as exc:
            raise JobError("eval", "failed to evaluate policy: " + opa_message(exc.message)) from exc
        return True, json.dumps({"expressions": [value]}).encode()

    def _engine(self, module: str, source: str) -> Any:
        key = (module, source)
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        engine = self.engine_type()
        try:
            engine.add_policy(module, source)
        except self.error as exc:
            engine.close()
            raise JobError("parse", "failed to parse policy: " + opa_message(exc.message)) from exc
        self.cache[key] = engine
        while len(self.cache) > CACHED_MODULES:
            self.cache.popitem(last=False)[1].close()
        return engine


def ast_names(node: Any) -> set[str]:
    """Every name an OPA AST (``rego.parse_module``'s JSON) holds, with each leading part of a reference:
    ``opa["runtime"]().env`` gives ``opa`` and ``opa.runtime``. Walks every node, whatever its kind."""
    names: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            kind, value = item.get("type"), item.get("value")
            if kind == "var" and isinstance(value, str):
                names.add(value)
            elif kind == "ref" and isinstance(value, list) and value and isinstance(value[0], dict):
                parts: list[str] = []
                for term in value:
                    if not isinstance(term, dict) or term.get("type") not in (
                        ("var",) if not parts else ("string",)
                    ):
                        break
                    parts.append(str(term.get("value")))
                    names.add(".".join(parts))
            stack.extend(item.values())
    return names


def opa_message(text: str) -> str:
    """The first ``file:line: code: message`` line of an OPA error (it goes on with source excerpts)."""
    located = [line.strip() for line in text.splitlines() if re.match(r"\s*\S+:\d+: ", line)]
    if not located:
        return " ".join(text.split())
    return located[0] + (f" (and {len(located) - 1} more)" if len(located) > 1 else "")


def captured(capture: IO[bytes], prints: list[str], call: Callable[[], Any]) -> Any:
    """``call()`` with file descriptor 1 sent to ``capture``; what was written there is added to ``prints``."""
    capture.seek(0)
    capture.truncate()
    with _stdout_to(capture.fileno()):
        result = call()
    capture.seek(0)
    prints.extend(capture.read().decode("utf-8", "replace").splitlines())
    return result


@contextmanager
def _stdout_to(fd: int) -> Iterator[None]:
    saved = os.dup(1)
    os.dup2(fd, 1)
    try:
        yield
    finally:
        _flush_c_stdio()  # native code writes through C stdio; flush before fd 1 points elsewhere again
        os.dup2(saved, 1)
        os.close(saved)


def _flush_c_stdio() -> None:
    with suppress(OSError, AttributeError):  # no C library to talk to: nothing buffered there either
        ctypes.CDLL(None).fflush(None)


@contextmanager
def memory_cap(extra: int) -> Iterator[None]:
    """Cap the address space at its current size plus ``extra`` bytes for the duration of the block."""
    current = _address_space()
    if resource is None or current is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = current + extra if hard == resource.RLIM_INFINITY else min(current + extra, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):  # pragma: no cover - the platform refuses: run uncapped
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _address_space() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def sexpr_message(text: str, source: str) -> str:
    """A one-line message from a regopy S-expression error, with ``file:line:col`` when it has a location.

    regopy writes errors as length-prefixed S-expressions, e.g.
    ``(rego-errorseq (error 8:bad.rego|17|2 (errormsg 16:this is unclosed) ...))``: the number before a colon
    is the length of the string after it, and ``|17|2`` is a byte offset and length in the module.
    """
    messages: list[str] = []
    for match in _SEXPR_ERROR.finditer(text):
        where = ""
        if match.group(1):
            start = match.end()
            name = text[start : start + int(match.group(1))]
            location = re.match(r"\|(\d+)\|", text[start + len(name) :])
            where = name
            if location:
                where += ":" + _line_col(source, int(location.group(1)))
        message = _sized(_SEXPR_MSG, text, match.end())
        code = _sized(_SEXPR_CODE, text, match.end())
        part = f"{code}: {message}" if code else message
        messages.append(f"{where}: {part}" if where else part)
    if not messages:
        return " ".join(text.split())[:300]
    others = {m.rsplit(": ", 1)[-1] for m in messages[1:]} - {messages[0].rsplit(": ", 1)[-1]}
    return messages[0] + (f" (and {len(others)} more)" if others else "")


def _sized(pattern: re.Pattern[str], text: str, pos: int) -> str:
    match = pattern.search(text, pos)
    if not match:
        return ""
    start = match.end()
    return " ".join(text[start : start + int(match.group(1))].split())


def _line_col(source: str, offset: int) -> str:
    before = source.encode()[:offset]
    line = before.count(b"\n") + 1
    col = len(before) - (before.rfind(b"\n") + 1) + 1
    return f"{line}:{col}"


def _die_with_parent(parent: int) -> None:
    """Exit as soon as crafter is gone, even in the middle of an evaluation.

    A watchdog thread polls the parent id; evaluations run in native code that releases the GIL, so the
    thread gets its turn. (Linux's PR_SET_PDEATHSIG is no use here: it fires when the *thread* that started
    the worker ends, and crafter starts workers from short-lived verifier threads.)
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
