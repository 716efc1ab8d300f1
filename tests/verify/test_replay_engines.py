"""Which engine replays a recorded source: any engine the evaluation names (plugins too), never a guess."""

from __future__ import annotations

import pytest

from crafter._internal.verify.replay import _NotReplayable, _source_engine

WASM = b"\0asm\x01\0\0\0"
REGO = b"package p\n"


def test_one_recorded_engine_runs_every_source_whatever_it_is() -> None:
    assert _source_engine(["keys"], REGO, 0) == "keys"  # a plugin engine, not taken for Rego
    assert _source_engine(["keys"], WASM, 1) == "keys"


def test_several_engines_are_matched_by_what_each_source_is() -> None:
    assert _source_engine(["rego", "wasm"], WASM, 0) == "wasm"
    assert _source_engine(["wasm", "rego"], REGO, 1) == "rego"
    assert _source_engine(["keys", "wasm"], WASM, 0) == "wasm"


def test_a_source_none_of_the_engines_matches_is_not_replayed() -> None:
    with pytest.raises(
        _NotReplayable, match="recorded source 1: cannot tell which of the engines keys, wasm"
    ):
        _source_engine(["keys", "wasm"], REGO, 1)
