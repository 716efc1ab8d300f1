"""A policy cannot reach a restricted Rego built-in by any way of naming it, and a replay never uses the network.

The restricted built-ins (``opa.runtime``: the environment; ``http.send``, ``net.*``: the network; ``trace``,
``rego.parse_module``) used to be found only where they were called directly. ``with f as opa.runtime`` makes
any call of ``f`` a call of ``opa.runtime``, and ``opa["runtime"]()`` or ``(opa).runtime()`` call it without
writing ``opa.runtime(``. Each form below is refused at load, before any evaluation, with exit code 10 and a
one-line error naming the built-in, how it is used and its line: through ``crafter policy eval`` and through
the library, on regopy and on OPA's own bindings (``--rego-backend opa``) when installed. The control tests
show that the forms are real escapes when the check is not there (regopy hands over the environment, OPA
sends the request).

A producer can put such a policy in a signed bundle: ``crafter verify --replay`` then must not evaluate it
with the network: a loopback server made here sees no connection at all, for Rego (both backends) and for a
WASM module asking for a URL, even when the verifier's options allow that host.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib
import importlib.util
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from crafter import Crafter
from crafter._internal.policies.engines.sandbox import Job, Sandbox
from crafter._internal.policies.verifier import evaluate_policy
from crafter._internal.signing.bundle import sign_statement, write_bundle
from crafter._internal.signing.keys import generate_key_pair, load_signer, public_key_from_pem
from crafter._internal.statement import serialize
from crafter.errors import ExitCode, PolicyError
from crafter.policies.options import VerifierOptions
from crafter.verify import verify_bundle
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
SBOM = ROOT / "examples" / "demo" / "sbom.cdx.json"
HAS_OPA = importlib.util.find_spec("opa_bindings") is not None
BACKENDS = [
    "regopy",
    pytest.param(
        "opa",
        marks=pytest.mark.skipif(
            not HAS_OPA,
            reason="OPA's bindings: pip install --ignore-requires-python -r tests/requirements-opa.txt",
        ),
    ),
]
CALLED = "called"
WITH_VALUE = "used as a with value"
WITH_TARGET = "used as a with target"
VALUE = "used as a value"
HERE = "# <- here"


class Listener:
    """A loopback TCP server that answers any HTTP request with 200 ``{}`` and counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.connections: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/leak"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.connections.append(conn.recv(65536))
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                    )
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def module(*lines: str, v1: bool = True) -> str:
    head = "package main\n\nimport rego.v1\n\n" if v1 else "package main\n\n"
    return head + "\n".join(lines) + "\n"


def line_of(source: str) -> int:
    return next(i for i, text in enumerate(source.splitlines(), 1) if HERE in text)


def rule(*body: str) -> str:
    """A violations rule whose body is ``body`` (one literal per line)."""
    return "violations contains msg if {\n" + "\n".join(f"    {b}" for b in body) + '\n    msg := "x"\n}'


#: (source with the line marked, the built-in named in the error, how it is used)
ESCAPES: dict[str, tuple[str, str, str]] = {
    "with value": (
        module(rule(f"x := time.now_ns() with time.now_ns as opa.runtime  {HERE}", "x")),
        "opa.runtime",
        WITH_VALUE,
    ),
    "with value reaching the network": (
        module(
            rule(
                f'x := json.marshal({{"method": "GET", "url": "URL"}}) with json.marshal as http.send  {HERE}',
                "x",
            )
        ),
        "http.send",
        WITH_VALUE,
    ),
    "with value on its own line": (
        module(rule("x := time.now_ns()", "    with time.now_ns", f"    as opa.runtime  {HERE}", "x")),
        "opa.runtime",
        WITH_VALUE,
    ),
    "with chain": (
        module(
            "stamp := 1",
            rule(
                f"x := time.now_ns() with time.now_ns as data.main.stamp with data.main.stamp as opa.runtime  {HERE}",
                "x",
            ),
        ),
        "opa.runtime",
        WITH_VALUE,
    ),
    "with value in brackets": (
        module(rule(f'x := time.now_ns() with time.now_ns as opa["runtime"]  {HERE}', "x")),
        "opa.runtime",
        WITH_VALUE,
    ),
    "with value in parentheses": (
        module(rule(f"x := time.now_ns() with time.now_ns as (opa.runtime)  {HERE}", "x")),
        "opa.runtime",
        WITH_VALUE,
    ),
    "with target": (
        module(rule(f'print("x") with trace as print  {HERE}')),
        "trace",
        WITH_TARGET,
    ),
    "net built-in as with value": (
        module(rule(f'x := upper("10.0.0.0/30") with upper as net.cidr_expand  {HERE}', "x")),
        "net.cidr_expand",
        WITH_VALUE,
    ),
    "parser as with value": (
        module(rule(f'x := concat("", ["a"]) with concat as rego.parse_module  {HERE}', "x")),
        "rego.parse_module",
        WITH_VALUE,
    ),
    "with in a comprehension": (
        module(
            f"xs := [y | y := time.now_ns() with time.now_ns as opa.runtime]  {HERE}", rule("count(xs) > 0")
        ),
        "opa.runtime",
        WITH_VALUE,
    ),
    "with in every": (
        module(
            rule("every k in [1] {", f"    k < time.now_ns() with time.now_ns as opa.runtime  {HERE}", "}")
        ),
        "opa.runtime",
        WITH_VALUE,
    ),
    "with in else": (
        module(
            "f(_) := 1 if { false } else := y if {",
            f"    y := time.now_ns() with time.now_ns as opa.runtime  {HERE}",
            "}",
            rule("f(1)"),
        ),
        "opa.runtime",
        WITH_VALUE,
    ),
    "with in a v0 module": (
        module(
            "deny[msg] {",
            f"    x := time.now_ns() with time.now_ns as opa.runtime  {HERE}",
            '    msg := sprintf("%v", [x])',
            "}",
            v1=False,
        ),
        "opa.runtime",
        WITH_VALUE,
    ),
    "bracket call": (module(rule(f'x := opa["runtime"]()  {HERE}', "x")), "opa.runtime", CALLED),
    "escaped bracket call": (
        module(rule(f'x := opa["r\\u0075ntime"]()  {HERE}', "x")),
        "opa.runtime",
        CALLED,
    ),
    "raw string bracket call": (module(rule(f"x := opa[`runtime`]()  {HERE}", "x")), "opa.runtime", CALLED),
    "parenthesised namespace": (module(rule(f"x := (opa).runtime()  {HERE}", "x")), "opa.runtime", CALLED),
    "parenthesised key": (module(rule(f'x := opa[("runtime")]()  {HERE}', "x")), "opa.runtime", CALLED),
    "computed key": (
        module(rule('k := "runtime"', f"x := opa[k]()  {HERE}", "x")),
        "opa[...]",
        CALLED,
    ),
    "spaces around the dot": (module(rule(f"x := opa . runtime()  {HERE}", "x")), "opa.runtime", CALLED),
    "line break after the dot": (
        module(rule(f"x := opa.  {HERE}", "    runtime()", "x")),
        "opa.runtime",
        CALLED,
    ),
    "space before the arguments": (module(rule(f"x := opa.runtime ()  {HERE}", "x")), "opa.runtime", CALLED),
    "reference without a call": (module(rule(f"x := opa.runtime  {HERE}", "x")), "opa.runtime", VALUE),
    "some in": (module(rule(f"some v in [opa.runtime()]  {HERE}", "v")), "opa.runtime", CALLED),
    "object key": (module(rule(f'x := {{trace("k"): 1}}  {HERE}', "x")), "trace", CALLED),
    "function value": (
        module(f"f(_) := opa.runtime()  {HERE}", rule("f(1)")),
        "opa.runtime",
        CALLED,
    ),
    "one-line body": (
        module(f"leak if opa.runtime()  {HERE}", rule("leak")),
        "opa.runtime",
        CALLED,
    ),
    "import alias": (
        module(f"import data.lib as trace  {HERE}", rule("true")),
        "trace",
        "used as an import alias",
    ),
}


def write_policy(directory: Path, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "policy.rego").write_text(source)
    (directory / "policy.yaml").write_text(
        "apiVersion: chainloop.dev/v1\nkind: Policy\nmetadata: {name: escape}\n"
        "spec:\n  policies:\n    - kind: SBOM_CYCLONEDX_JSON\n      path: policy.rego\n"
    )
    return directory / "policy.yaml"


def expected(name: str, url: str = "") -> tuple[str, str]:
    source, builtin, usage = ESCAPES[name]
    message = f'policy "escape": line {line_of(source)}: undefined function {builtin} (not allowed in policies; {usage})'
    return source.replace("URL", url), message


# -- refused at load ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_library_refuses_each_form(tmp_path: Path, listener: Listener, name: str, backend: str) -> None:
    source, message = expected(name, listener.url)
    policy = write_policy(tmp_path, source)
    with pytest.raises(PolicyError) as caught:
        evaluate_policy(str(policy), material=str(SBOM), options=VerifierOptions(rego_backend=backend))
    assert caught.value.exit_code is ExitCode.POLICY
    assert caught.value.message == message
    assert listener.connections == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_cli_refuses_each_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], listener: Listener, name: str, backend: str
) -> None:
    source, message = expected(name, listener.url)
    policy = write_policy(tmp_path, source)
    code, out, err = run_cli(
        capsys, "policy", "eval", "--policy", str(policy), "--material", str(SBOM), "--rego-backend", backend
    )
    assert code == ExitCode.POLICY
    assert int(ExitCode.POLICY) == 10
    assert out == ""
    first, *rest = err.splitlines()
    assert first == f"Error: {message}"
    assert all(line.startswith("Hint: ") for line in rest)
    assert listener.connections == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_template_strings_are_refused_as_unreadable(tmp_path: Path, backend: str) -> None:
    # OPA evaluates the expressions inside $"...{...}..."; crafter does not read them, so it refuses them
    policy = write_policy(tmp_path, module(rule('x := $"{opa.runtime()}"', "x")))
    with pytest.raises(
        PolicyError, match=r'escape.rego:6: template strings \(\$"\.\.\."\) are not supported'
    ) as caught:
        evaluate_policy(str(policy), material=str(SBOM), options=VerifierOptions(rego_backend=backend))
    assert caught.value.exit_code is ExitCode.POLICY


def test_names_in_strings_and_comments_are_not_uses(tmp_path: Path) -> None:
    source = module(
        'note := "x := 1 with time.now_ns as opa.runtime"  # with f as http.send',
        "violations contains msg if {",
        '    msg := concat("", [`opa["runtime"]()`])',
        "    false",
        "}",
    )
    evaluation = evaluate_policy(str(write_policy(tmp_path, source)), material=str(SBOM))
    assert evaluation is not None and not evaluation.violations


# -- the controls: without crafter's check these forms do escape ------------------------------------------------
def test_control_regopy_hands_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import regopy

    monkeypatch.setenv("CRAFTER_ESCAPE_CANARY", "secret-value")
    interpreter = regopy.Interpreter()
    interpreter.add_module(
        "m", "package m\nx := y if { y := time.now_ns() with time.now_ns as opa.runtime }\n"
    )
    assert "secret-value" in str(interpreter.query("data.m.x"))


@pytest.mark.skipif(not HAS_OPA, reason="OPA's bindings are not installed")
def test_control_opa_sends_the_request(listener: Listener) -> None:
    opa_bindings: Any = importlib.import_module("opa_bindings")
    source = f'package m\nx := y if {{ y := json.marshal({{"method": "GET", "url": "{listener.url}"}}) with json.marshal as http.send }}\n'
    with opa_bindings.OpaEngine() as engine:
        engine.add_policy("m.rego", source)
        assert engine.eval_document("m.x", {})["status_code"] == 200
    assert len(listener.connections) == 1


@pytest.mark.skipif(not HAS_OPA, reason="OPA's bindings are not installed")
def test_opa_worker_refuses_on_its_own_parse(listener: Listener) -> None:
    # the second check, without crafter's reader: the worker reads the module with OPA's parser first
    source = f'package m\nx := y if {{ y := json.marshal({{"method": "GET", "url": "{listener.url}"}}) with json.marshal as http.send }}\n'
    job = Job("escape", source, "data.m.x", b"{}", None, 30.0, 512 << 20, "opa", ("http.send",), ("net.",))
    with Sandbox(1, preload="opa") as sandbox, pytest.raises(PolicyError) as caught:
        sandbox.run(job)
    assert caught.value.message == (
        'policy "escape": failed to parse policy: escape.rego: http.send is not allowed in policies (OPA\'s parse)'
    )
    assert listener.connections == []


# -- replay: no network, whatever the bundle says -------------------------------------------------------------
@attrs.define
class Signed:
    work: Path
    key: Path
    pub: Path
    bundle: Path

    def statement(self) -> dict[str, Any]:
        envelope = json.loads(self.bundle.read_text())["dsseEnvelope"]
        return json.loads(base64.b64decode(envelope["payload"]))  # type: ignore[no-any-return]

    def with_policy(self, name: str, source: bytes, engine: str) -> Path:
        """The bundle re-signed with the SBOM's evaluation replaced by an embedded policy of ``source``."""
        statement = copy.deepcopy(self.statement())
        (evaluation,) = statement["predicate"]["policyEvaluations"]["sbom"]
        evaluation["policyReference"] = {"name": evaluation["name"]}
        evaluation["sources"] = [base64.b64encode(source).decode()]
        evaluation["sourceDigests"] = ["sha256:" + hashlib.sha256(source).hexdigest()]
        evaluation["engine"] = engine
        target = self.work / name
        write_bundle(target, sign_statement(serialize(statement), load_signer(str(self.key), lambda: b"pw")))
        return target


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    work = tmp_path_factory.mktemp("replay")
    (work / "contract.yaml").write_text(
        "schemaVersion: v1\nmaterials: [{name: sbom, type: SBOM_CYCLONEDX_JSON}]\n"
        "policies:\n  materials: [{ref: 'builtin://cyclonedx-banned-licenses', with: {licenses: MIT}}]\n"
    )
    key, pub = generate_key_pair(work / "k", b"pw")
    crafter = Crafter(state_dir=work / "state", cwd=work, environ={"PATH": "/usr/bin:/bin"})
    crafter.init(contract=work / "contract.yaml")
    crafter.add([str(SBOM)], name="sbom")
    bundle = crafter.push(key=str(key), password=b"pw", bundle=work / "b.json").bundle_path
    return Signed(work, key, pub, bundle)


def replay(signed: Signed, bundle: Path, backend: str = "regopy") -> Any:
    # the verifier's options even allow the listener's host: a replay ignores them
    options = VerifierOptions(rego_backend=backend, allowed_hosts=("127.0.0.1", "localhost"))
    result = verify_bundle(
        bundle, public_key=public_key_from_pem(signed.pub), materials=[SBOM], replay=True, options=options
    )
    result.check()  # not replayed does not change the outcome
    (outcome,) = result.replay
    return outcome


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [
        'http.send({"method": "GET", "url": "URL"})',
        'json.marshal({"method": "GET", "url": "URL"}) with json.marshal as http.send',
        'json.marshal({"method": "GET", "url": "URL"}) with json.marshal as http["send"]',
        'net.lookup_ip_addr("localhost")',
    ],
)
def test_replay_of_a_network_rego_policy_sends_nothing(
    signed: Signed, listener: Listener, backend: str, call: str
) -> None:
    source = module(rule(f"x := {call.replace('URL', listener.url)}", "x")).encode()
    outcome = replay(signed, signed.with_policy("net.json", source, "rego"), backend)
    assert outcome.status == "not-replayed"
    builtin = "net.lookup_ip_addr" if "lookup" in call else "http.send"
    assert outcome.detail == f"network: the policy uses {builtin} (line 6); a replay never uses the network"
    assert listener.connections == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_replay_of_an_environment_escape_is_refused(signed: Signed, backend: str) -> None:
    source, message = expected("with value")
    outcome = replay(signed, signed.with_policy("env.json", source.encode(), "rego"), backend)
    assert outcome.status == "not-replayed"
    recorded_name = message.replace('"escape"', '"cyclonedx-banned-licenses"')  # the evaluation's name
    assert outcome.detail == f"evaluation failed: {recorded_name}"


def test_replay_of_a_wasm_policy_asking_for_a_url_sends_nothing(signed: Signed, listener: Listener) -> None:
    wasmtime = pytest.importorskip("wasmtime", reason="the dev extra (wasmtime) builds the WASM module")
    wasm = bytes(wasmtime.wat2wasm(fetching_module(listener.url)))
    outcome = replay(signed, signed.with_policy("wasm.json", wasm, "wasm"))
    assert outcome.status == "not-replayed"
    assert outcome.detail == f"network: the policy asked for {listener.url}; a replay never uses the network"
    assert listener.connections == []


def test_cli_replay_warns_and_keeps_the_exit_code(
    signed: Signed, listener: Listener, capsys: pytest.CaptureFixture[str]
) -> None:
    source = module(rule(f'x := http.send({{"method": "GET", "url": "{listener.url}"}})', "x")).encode()
    bundle = signed.with_policy("cli.json", source, "rego")
    backend = "opa" if HAS_OPA else "regopy"
    code, _, err = run_cli(
        capsys, "verify", str(bundle), "--key", str(signed.pub), "--material", str(SBOM), "--replay",
        "--rego-backend", backend,
    )  # fmt: skip
    assert code == 0
    assert (
        "Warning: not replayed: cyclonedx-banned-licenses on sbom: network: the policy uses http.send (line 6)"
        in err
    )
    assert listener.connections == []


def fetching_module(url: str) -> str:
    """WAT of a policy that asks Extism for ``url`` (GET), then reports no violation."""
    request = json.dumps({"url": url, "method": "GET"})
    output = '{"violations":[]}'
    escaped, escaped_output = (text.replace("\\", "\\\\").replace('"', '\\"') for text in (request, output))
    return f"""
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "http_request" (func $http_request (param i64 i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{escaped}")
  (data (i32.const 2048) "{escaped_output}")
  (func $copy (param $from i32) (param $n i64) (result i64)
    (local $to i64) (local $i i64)
    (local.set $to (call $alloc (local.get $n)))
    (block $done (loop $next
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $to) (local.get $i))
                      (i32.load8_u (i32.add (local.get $from) (i32.wrap_i64 (local.get $i)))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $next)))
    (local.get $to))
  (func (export "Execute") (result i32)
    (drop (call $http_request (call $copy (i32.const 0) (i64.const {len(request)})) (i64.const 0)))
    (call $output_set (call $copy (i32.const 2048) (i64.const {len(output)})) (i64.const {len(output)}))
    (i32.const 0)))
"""
