"""crafter's format rules (crafter._internal.schema_formats) against the packages they stand for: the checkers
python-jsonschema uses with its ``format-nongpl`` extra (what cyclonedx-python-lib's ``json-validation``
extra installs). Strings are drawn from pieces where the rules are subtle (IPv6 literals, percent-escapes,
characters beyond ASCII and beyond the Basic Multilingual Plane, a final newline); the draw is seeded, so a
failure reproduces.
"""

from __future__ import annotations

import random

import pytest

from crafter._internal import schema_formats

rfc3339 = pytest.importorskip("rfc3339_validator")
rfc3986 = pytest.importorskip("rfc3986_validator")
rfc3987 = pytest.importorskip("rfc3987_syntax")

PIECES = [
    "http", "https:", "urn:", "mailto:x@y", "//", "/", "?", "#", "@", ":", "::", "[", "]", "[::1]", "[1::]",
    "[1:2:3:4:5:6:7:8]", "[v7.x]", "1.2.3.4", "256", "25", "0", "1", "a", "Z", "-", ".", "_", "~", "%", "%4",
    "%41", "%zz", "é", "\u00a0", "\ud7ff", "\ue000", "\uf900", "\U0001f600", " ", "!", "$", "&", "'", "(",
    "*", "+", ",", ";", "=", "v1.", "ff", "\n", "\\", '"', "<", "{", "host", "8080",
]  # fmt: skip
DATES = [
    "2020-04-13T20:20:39Z", "2020-04-13", "2020-04-13t20:20:39.5+02:00", "2020-02-29T00:00:00Z",
    "2021-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "2020-04-13T24:00:00Z", "2020-04-13T20:20:60Z",
    "2020-04-13T20:20:39+23:59", "2020-04-13T20:20:39-24:00", "2020-04-13T20:20:39Z\n", "2020-04-13 20:20:39Z",
    "２０２０-04-13T20:20:39Z", "2020-04-13T20:20:39", "2020-13-01T00:00:00Z", "2020-04-13T20:20:39.Z",
]  # fmt: skip


def strings(seed: int, count: int) -> list[str]:
    draw = random.Random(seed)
    return ["".join(draw.choice(PIECES) for _ in range(draw.randint(0, 7))) for _ in range(count)]


CORPUS = [
    "https://example.com/p?q=1#f", "", "../a/b", "a:b", "//host:80/p", "http://[::1]/", "http://[v7.x]/",
    "https://例え.jp/ä", "x\U0001f600", "https://exa mple.com", "http://u:p@host/", "%41%zz", "?\ue000", "#\ue000",
    *strings(13, 250),
]  # fmt: skip


@pytest.mark.parametrize("value", CORPUS)
def test_iri_rules_are_rfc3987_syntax(value: str) -> None:
    assert schema_formats.is_iri_reference(value) == rfc3987.is_valid_syntax("iri_reference", value)
    assert schema_formats.is_iri(value) == rfc3987.is_valid_syntax("iri", value)


def test_uri_rule_is_rfc3986_validator() -> None:
    for value in [*CORPUS, *strings(17, 2000)]:
        assert schema_formats.is_uri(value) == bool(rfc3986.validate_rfc3986(value, rule="URI")), value


def test_date_time_rule_is_rfc3339_validator() -> None:
    for value in [*DATES, *(d.lower() for d in DATES)]:
        assert schema_formats.is_date_time(value) == rfc3339.validate_rfc3339(value.upper()), value


def test_email_and_date() -> None:
    assert schema_formats.is_email("a@b") and not schema_formats.is_email("a.b")
    assert schema_formats.is_date("2020-02-29") and not schema_formats.is_date("2021-02-29")
    assert not schema_formats.is_date("2020-04-13T00:00:00Z") and not schema_formats.is_date("2020-4-13")


def test_a_long_hostile_string_is_checked_in_linear_time() -> None:
    # No nested loop can backtrack: these would take hours with a quadratic or worse pattern.
    for value in (
        "//" + "a" * 200_000 + "\x00",
        "a" * 200_000 + ":" + "/" * 200_000 + "%",
        "[" + "1:" * 100_000,
    ):
        schema_formats.is_iri_reference(value)
