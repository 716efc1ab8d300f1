"""The WASM contract: input, config args, output parsing, matchers, logs, compile cache, instances, threads."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import attrs
import pytest

from crafter._internal.policies.engines.interface import EngineResult, Limits, Script, Violation
from crafter._internal.policies.engines.wasm import (
    DEFAULT_MEMORY_CAP,
    WasmEngine,
    allowed_hosts,
    args_config,
    parse_output,
)
from crafter._internal.policies.engines.wasm_errors import Category, WasmPolicyError
from crafter.errors import PolicyError
from tests.policies.wasm.conftest import LIMITS

Make = Callable[[str], Script]


def echoed(result: EngineResult) -> dict[str, object]:
    """The echo_args module's one violation: its message is the config value ``args`` as text."""
    (violation,) = result.violations
    assert violation.raw is not None
    raw = dict(violation.raw)
    expected = "no args" if raw["args"] is None else args_config(raw["args"])  # type: ignore[arg-type]
    assert violation.message == expected
    return raw


# -- input and arguments -------------------------------------------------------------------------------------
def test_clean_policy_gets_the_input_and_args_as_config(engine: WasmEngine, script: Make) -> None:
    args = {"licenses": ["GPL-3.0-only", "AGPL-3.0-only"], "severity": "high"}
    result = engine.evaluate(script("echo_args"), b'{"components":[{"name":"a"}]}', args, LIMITS)
    raw = echoed(result)
    assert raw["args"] == args
    assert raw["input"] == {"components": [{"name": "a"}]}
    assert not result.skipped and not result.findings


def test_no_args_means_no_args_key(engine: WasmEngine, script: Make) -> None:
    assert echoed(engine.evaluate(script("echo_args"), b"{}", {}, LIMITS))["args"] is None


def test_args_config_is_written_as_go_marshals_it() -> None:
    text = args_config({"z": "<a&b>", "a": ["x", "y"], "u": "\u2028é"})
    assert text == '{"a":["x","y"],"u":"\\u2028é","z":"\\u003ca\\u0026b\\u003e"}'
    assert json.loads(text) == {"a": ["x", "y"], "u": "\u2028é", "z": "<a&b>"}


def test_html_characters_quotes_and_backslashes_reach_the_policy_unchanged(
    engine: WasmEngine, script: Make
) -> None:
    args = {"q": 'a<b>&c "quoted" \\ back', "é": "ü"}
    raw = echoed(engine.evaluate(script("echo_args"), b"{}", args, LIMITS))
    assert raw["args"] == args


# -- output parsing ------------------------------------------------------------------------------------------
def run(engine: WasmEngine, make: Make, output: bytes) -> EngineResult:
    """What the engine makes of ``output``: the passthrough module writes its input back."""
    return engine.evaluate(make("passthrough"), output, {}, LIMITS)


def test_output_keys_are_case_insensitive_and_unknown_keys_ignored(engine: WasmEngine, script: Make) -> None:
    out = b'{"Violations":["a"],"SKIPPED":false,"Skip_Reason":"r","IGNORE":false,"skip_reasons":[1],"x":{}}'
    result = run(engine, script, out)
    assert result == EngineResult(violations=(Violation("a"),), skip_reason="r")


def test_the_last_spelling_of_a_key_wins_as_in_go(engine: WasmEngine, script: Make) -> None:
    assert run(engine, script, b'{"violations":["a"],"VIOLATIONS":["b"]}').violations == (Violation("b"),)


def test_findings_win_over_violations(engine: WasmEngine, script: Make) -> None:
    out = b'{"violations":["plain"],"findings":[{"message":"structured","id":"CVE-1"}]}'
    result = run(engine, script, out)
    assert result.findings
    assert result.violations == (Violation("structured", {"message": "structured", "id": "CVE-1"}),)


def test_empty_findings_leave_the_violations(engine: WasmEngine, script: Make) -> None:
    result = run(engine, script, b'{"violations":["plain"],"findings":[]}')
    assert result.violations == (Violation("plain"),) and not result.findings


def test_skipped_and_ignore(engine: WasmEngine, script: Make) -> None:
    assert run(engine, script, b'{"skipped":true,"skip_reason":"no SBOM"}') == EngineResult(
        skipped=True, skip_reason="no SBOM"
    )
    assert run(engine, script, b'{"ignore":true}').ignore


def test_null_leaves_a_field_unset(engine: WasmEngine, script: Make) -> None:
    assert run(engine, script, b'{"violations":null,"skipped":null}') == EngineResult()


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (b'{"skipped":"yes"}', '"skipped" must be a boolean, got string'),
        (b'{"violations":"one"}', '"violations" must be an array, got string'),
        (b'{"findings":{}}', '"findings" must be an array, got object'),
        (b'{"skip_reason":3}', '"skip_reason" must be a string, got number'),
        (b'{"ignore":1}', '"ignore" must be a boolean, got number'),
        (b"[]", "expected a JSON object, got array"),
        (b"not json", "not JSON (Expecting value: line 1 column 1 (char 0))"),
        (b"", "it is empty"),
        (b"\xff\xfe", "not JSON"),
        (b'{"violations":[],"score":NaN}', "not JSON (NaN is not JSON)"),
    ],
)
def test_wrong_output_is_an_error_naming_the_policy(
    engine: WasmEngine, script: Make, output: bytes, message: str
) -> None:
    with pytest.raises(PolicyError) as info:
        run(engine, script, output)
    assert info.value.message.startswith('policy "passthrough": failed to parse policy output: ')
    assert message in info.value.message


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (b'{"violations":[3]}', 'policy "p": violation must be a string or object, got json.Number'),
        (b'{"violations":[{"id":1}]}', 'missing required "message" field in structured violation'),
        (b'{"findings":["x"]}', 'policy "p": finding must be an object, got string'),
    ],
)
def test_elements_are_checked_as_for_rego(output: bytes, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_output("p", output)


def test_non_zero_return_without_error_keeps_the_output(engine: WasmEngine, script: Make) -> None:
    # Chainloop reads the output whatever Execute returns; only error_set or a trap fail a call
    assert engine.evaluate(script("exit_code"), b"{}", {}, LIMITS).violations == (Violation("returned 1"),)


# -- module shapes -------------------------------------------------------------------------------------------
def test_wasi_command_module_runs_execute_only(
    engine: WasmEngine, script: Make, capfd: pytest.CaptureFixture[str]
) -> None:
    result = engine.evaluate(script("command"), b"{}", {}, LIMITS)
    assert result.violations == (Violation("Execute ran"),)  # _start (which would exit) never ran
    assert "printed by the policy" not in capfd.readouterr().out  # WASI stdout is discarded


def test_wasi_reactor_module_is_initialized_first(engine: WasmEngine, script: Make) -> None:
    assert engine.evaluate(script("reactor"), b"{}", {}, LIMITS).violations == (Violation("initialized"),)


def test_chainloop_discover_is_provided_and_answers_not_available(engine: WasmEngine, script: Make) -> None:
    result = engine.evaluate(script("discover"), b"{}", {}, LIMITS)
    assert result == EngineResult(skip_reason="discover not available")


# -- matchers ------------------------------------------------------------------------------------------------
def test_matchers_call_the_exports_with_the_documented_documents(
    engine: WasmEngine, script: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="crafter.policies.wasm")
    module = script("matchers")
    # the defaults would answer False (different args) and True (no violations): the exports say otherwise
    assert engine.matches_parameters(module, {"a": "1"}, {"a": ["2", "3"]}, LIMITS) is True
    assert engine.matches_evaluation(module, [], {"a": "2"}, LIMITS) is False
    documents = [json.loads(r.getMessage().split(": ", 1)[1]) for r in caplog.records]
    assert documents == [
        {"args": {"a": "1"}, "expected_args": {"a": ["2", "3"]}},
        {"violations": [], "expected_args": {"a": "2"}},
    ]


def test_matchers_without_exports_use_the_defaults(engine: WasmEngine, script: Make) -> None:
    module = script("echo_args")
    assert engine.matches_parameters(module, {"a": "1"}, {"a": "1"}, LIMITS) is True
    assert engine.matches_parameters(module, {"a": "1"}, {"a": "2"}, LIMITS) is False
    assert engine.matches_evaluation(module, [], {}, LIMITS) is True
    assert engine.matches_evaluation(module, ["v"], {}, LIMITS) is False


def test_a_matcher_must_answer_a_boolean(engine: WasmEngine, script: Make) -> None:
    # passthrough exports MatchesParameters too, and writes its input (an object) back
    with pytest.raises(
        PolicyError, match=r'policy "passthrough": MatchesParameters must write true or false'
    ):
        engine.matches_parameters(script("passthrough"), {}, {}, LIMITS)


def test_a_failing_matcher_is_classified(engine: WasmEngine, script: Make) -> None:
    with pytest.raises(WasmPolicyError) as info:
        engine.matches_parameters(script("trap"), {}, {}, LIMITS)
    assert info.value.category is Category.TRAP
    assert engine.matches_evaluation(script("trap"), [], {}, LIMITS) is True  # not exported: the default


# -- logs ----------------------------------------------------------------------------------------------------
def test_plugin_log_lines_reach_python_logging_at_their_level(
    engine: WasmEngine, script: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crafter.policies.wasm")
    engine.evaluate(script("logger"), b"{}", {}, LIMITS)
    guest = [(r.levelno, r.getMessage()) for r in caplog.records if "extism:" not in r.getMessage()]
    assert guest == [
        (logging.DEBUG, "policy logger: a debug line"),
        (logging.INFO, "policy logger: an info line"),
        (logging.WARNING, "policy logger: a warning line"),
        (logging.ERROR, "policy logger: an error line"),
    ]
    assert all(getattr(r, "policy", None) == "logger" for r in caplog.records)


def test_a_log_flood_is_capped(engine: WasmEngine, script: Make, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crafter.policies.wasm")
    engine.evaluate(script("flood"), b"{}", {}, LIMITS)
    floods = [r for r in caplog.records if r.getMessage() == "policy flood: flood"]
    dropped = [(r.levelno, r.getMessage()) for r in caplog.records if "dropped" in r.getMessage()]
    assert len(floods) == 1000  # the first lines kept (the runtime's own events have a budget of their own)
    assert dropped == [(logging.WARNING, "policy flood: 4,000 more log lines dropped")]


def test_logs_of_parallel_evaluations_are_not_mixed(
    engine: WasmEngine, modules: dict[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="crafter.policies.wasm")
    names = [f"policy-{i}" for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda n: engine.evaluate(Script(modules["logger"], n, "x", "wasm"), b"{}", {}, LIMITS), names
            )
        )
    for name in names:
        mine = [r.getMessage() for r in caplog.records if getattr(r, "policy", None) == name]
        assert mine == [
            f"policy {name}: {line}" for line in ("an info line", "a warning line", "an error line")
        ]


# -- compile cache, instances, threads -----------------------------------------------------------------------
def test_a_module_is_compiled_once_and_instantiated_per_call(engine: WasmEngine, script: Make) -> None:
    counter = script("counter")
    results = [engine.evaluate(counter, b"{}", {}, LIMITS) for _ in range(3)]
    assert [r.violations for r in results] == [(Violation("call 1"),)] * 3  # a fresh instance every time
    stats = engine.cache.stats()
    assert (stats.compiled, stats.hits, stats.entries) == (1, 2, 1)


def test_other_sandbox_settings_compile_another_plugin(engine: WasmEngine, script: Make) -> None:
    counter = script("counter")
    engine.evaluate(counter, b"{}", {}, LIMITS)
    engine.evaluate(counter, b"{}", {}, Limits(timeout=3.0))  # Extism fixes the timeout at compile time
    engine.evaluate(attrs.evolve(counter, policy="renamed"), b"{}", {}, LIMITS)  # same bytes: a hit
    assert engine.cache.stats().compiled == 2


def test_threads_compile_a_new_module_once(engine: WasmEngine, script: Make) -> None:
    counter = script("counter")
    barrier = threading.Barrier(6)

    def go(_: int) -> EngineResult:
        barrier.wait()
        return engine.evaluate(counter, b"{}", {}, LIMITS)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(go, range(6)))
    assert all(r.violations == (Violation("call 1"),) for r in results)
    assert engine.cache.stats().compiled == 1


def test_parallel_evaluations_keep_their_own_args(engine: WasmEngine, script: Make) -> None:
    module = script("echo_args")

    def go(i: int) -> object:
        return echoed(engine.evaluate(module, json.dumps({"i": i}).encode(), {"n": str(i)}, LIMITS))

    with ThreadPoolExecutor(8) as pool:
        raws = list(pool.map(go, range(40)))
    assert raws == [
        {"message": f'{{"n":"{i}"}}', "args": {"n": str(i)}, "input": {"i": i}} for i in range(40)
    ]


def test_calls_release_the_gil(engine: WasmEngine, script: Make) -> None:
    # two endless loops with a 1 s limit, side by side, end together, and Python keeps running meanwhile
    limits = Limits(timeout=1.0)
    ticks = 0
    done = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(engine.evaluate, script("loop"), b"{}", {}, limits) for _ in range(2)]
        for future in futures:
            with pytest.raises(WasmPolicyError):
                future.result()
    elapsed = time.perf_counter() - start
    done.set()
    spinner.join()
    assert elapsed < 1.9
    assert ticks > 100_000


# -- configuration -------------------------------------------------------------------------------------------
def test_memory_cap_is_the_smaller_of_the_limit_and_the_engine_cap(script: Make) -> None:
    assert WasmEngine()._settings(Limits()).max_pages == DEFAULT_MEMORY_CAP // 65536
    assert WasmEngine()._settings(Limits(memory_bytes=64 << 20)).max_pages == 1024
    assert WasmEngine(memory_cap=None)._settings(Limits()).max_pages == 16384
    assert WasmEngine(memory_cap=None)._settings(Limits(memory_bytes=8 << 30)).max_pages == 65536
    assert WasmEngine(memory_cap=512 << 20)._settings(Limits(memory_bytes=2 << 30)).max_pages == 8192
    assert WasmEngine()._settings(Limits(timeout=0.0015)).timeout_ms == 2


def test_allowed_hosts_are_names_or_subdomain_patterns() -> None:
    assert allowed_hosts(["API.example.com", "*.example.org", "127.0.0.1", "*", "api.example.com"]) == (
        "api.example.com",
        "*.example.org",
        "127.0.0.1",
        "*",
    )
    for bad in ["exa?ple.com", "[::1]", "https://example.com", "a.*.com", "ex ample.com", ""]:
        with pytest.raises(PolicyError, match="is neither a host name nor a"):
            allowed_hosts([bad])


def test_engine_is_registered_in_the_verifier() -> None:
    from crafter._internal.policies.verifier import VerifierOptions, default_engines

    registry = default_engines(VerifierOptions())
    assert "wasm" in registry.names()
    assert isinstance(registry.get("wasm"), WasmEngine)
