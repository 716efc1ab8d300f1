from __future__ import annotations

import base64
import copy
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crafter._internal.signing.dsse import Envelope, Signature, pae
from crafter.errors import SigningError

_sigs = st.lists(st.tuples(st.text(max_size=20), st.binary(max_size=80)), max_size=4)


def test_pae_known_answer_from_the_dsse_spec() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_counts_utf8_bytes_of_the_type() -> None:
    assert pae("é", b"") == b"DSSEv1 2 \xc3\xa9 0 "


@given(st.text(), st.binary(), st.text(), st.binary())
def test_pae_is_injective(type_a: str, body_a: bytes, type_b: str, body_b: bytes) -> None:
    assume((type_a, body_a) != (type_b, body_b))
    assert pae(type_a, body_a) != pae(type_b, body_b)


@given(st.text(min_size=0, max_size=5), st.binary(max_size=5))
def test_pae_is_injective_on_small_confusable_inputs(payload_type: str, body: bytes) -> None:
    # Moving bytes between type and body (the classic concatenation ambiguity) must change the encoding.
    moved_type = payload_type + " " + body.decode("latin-1")
    assert pae(payload_type, body) != pae(moved_type, b"")


@given(st.binary(), st.text(), _sigs)
def test_envelope_round_trip_exact(payload: bytes, payload_type: str, sigs: list[tuple[str, bytes]]) -> None:
    envelope = Envelope(payload=payload, payload_type=payload_type, signatures=sigs)
    data = envelope.to_dict()
    assert Envelope.from_dict(data, tolerate_double_base64=False) == envelope


@given(st.binary(), st.text(), _sigs)
def test_envelope_round_trip_default_reader(
    payload: bytes, payload_type: str, sigs: list[tuple[str, bytes]]
) -> None:
    # The default reader undoes a double base64 signature; a real signature is never base64 text itself.
    assume(all(not _is_base64_text(sig) for _, sig in sigs))
    envelope = Envelope(payload=payload, payload_type=payload_type, signatures=sigs)
    assert Envelope.from_dict(envelope.to_dict()) == envelope


def _is_base64_text(data: bytes) -> bool:
    return bool(data) and all(
        chr(b) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=" for b in data
    )


@given(st.binary(), st.text(), _sigs)
def test_from_dict_never_mutates_its_input(
    payload: bytes, payload_type: str, sigs: list[tuple[str, bytes]]
) -> None:
    data = Envelope(payload=payload, payload_type=payload_type, signatures=sigs).to_dict()
    snapshot = copy.deepcopy(data)
    Envelope.from_dict(data)
    Envelope.from_dict(data)  # twice: a reader that pops keys fails the second time
    assert data == snapshot


def test_to_dict_shape_uses_standard_base64_and_always_writes_keyid() -> None:
    envelope = Envelope(payload=b"\xfb\xff", payload_type="t", signatures=[("", b"\xfb\xef")])
    assert envelope.to_dict() == {
        "payload": "+/8=",
        "payloadType": "t",
        "signatures": [{"keyid": "", "sig": "++8="}],
    }


def test_from_dict_accepts_url_safe_and_unpadded_base64_and_missing_keyid() -> None:
    data = {"payload": "-_8", "payloadType": "t", "signatures": [{"sig": "--8"}]}
    assert Envelope.from_dict(data) == Envelope(b"\xfb\xff", "t", [("", b"\xfb\xef")])


def test_from_dict_undoes_historic_double_base64_signature() -> None:
    der = bytes.fromhex("3045022100") + b"\x01" * 33 + bytes.fromhex("0220") + b"\x02" * 32
    single = base64.b64encode(der).decode()
    double = base64.b64encode(single.encode()).decode()
    data = {"payload": "", "payloadType": "t", "signatures": [{"keyid": "k", "sig": double}]}
    assert Envelope.from_dict(data).signatures == (Signature("k", der),)
    assert Envelope.from_dict(data, tolerate_double_base64=False).signatures == (
        Signature("k", single.encode()),
    )


def test_envelope_is_frozen_hashable_and_holds_tuples() -> None:
    envelope = Envelope(b"p", "t", [("k", b"s")])
    assert envelope.signatures == (Signature("k", b"s"),)
    assert envelope.signatures[0] == ("k", b"s")
    assert hash(envelope) == hash(Envelope(b"p", "t", (("k", b"s"),)))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        envelope.payload = b"x"  # type: ignore[misc]
    assert envelope.pae() == pae("t", b"p")


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"payload": "text", "payload_type": "t"}, TypeError),
        ({"payload": b"", "payload_type": b"t"}, TypeError),
        ({"payload": b"", "payload_type": "t", "signatures": [("k", "sig-as-str")]}, TypeError),
    ],
)
def test_envelope_rejects_wrong_types(kwargs: dict[str, Any], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        Envelope(**kwargs)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object, got list"),
        ({"payload": "", "signatures": []}, "'payloadType' must be a string"),
        ({"payloadType": "t", "signatures": []}, "'payload' must be a base64 string"),
        ({"payload": "not base64!", "payloadType": "t"}, "'payload' is not base64"),
        ({"payload": "A", "payloadType": "t"}, "'payload' is not base64"),
        ({"payload": "", "payloadType": "t", "signatures": {}}, "'signatures' must be a list"),
        ({"payload": "", "payloadType": "t", "signatures": ["x"]}, "signatures[0] must be an object"),
        ({"payload": "", "payloadType": "t", "signatures": [{"sig": 1}]}, "signatures[0].sig"),
        ({"payload": "", "payloadType": "t", "signatures": [{"sig": "", "keyid": 1}]}, "keyid must be"),
    ],
)
def test_from_dict_rejects_malformed_envelopes(data: Any, message: str) -> None:
    with pytest.raises(SigningError, match="invalid DSSE envelope") as info:
        Envelope.from_dict(data)
    assert message in str(info.value)
