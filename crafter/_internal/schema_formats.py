"""The string formats (``date-time``, ``iri-reference``...) of the JSON Schemas materials are validated against,
checked as CycloneDX's own validator checks them.

cyclonedx-python-lib's ``JsonStrictValidator`` (with its ``json-validation`` extra) is python-jsonschema's
``FormatChecker`` with the ``format-nongpl`` packages: rfc3339-validator, rfc3986-validator, rfc3987-syntax.
Their rules are written here so that crafter accepts and refuses the same documents whichever optional packages
are installed, and quickly: rfc3987-syntax parses each IRI with a general (Earley) parser, about 20 ms a string,
which a large SBOM cannot afford; its grammar is regular, and is here one regular expression.
tests/materials/test_schema_formats.py compares each rule with the package it stands for.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Callable, Mapping

#: A format rule: whether a string has the format (other JSON types always do).
FormatCheck = Callable[[str], bool]

# --- date-time, date: rfc3339-validator 0.1.4 (MIT, Nicolas Aimetti), as python-jsonschema calls it ---------

_RFC3339 = re.compile(
    r"""^(\d{4})-(0[1-9]|1[0-2])-(\d{2})T(?:[01]\d|2[0123]):(?:[0-5]\d):(?:[0-5]\d)(?:\.\d+)?
    (?:Z|[+-](?:[01]\d|2[0123]):[0-5]\d)$""",
    re.VERBOSE | re.ASCII,
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def is_date_time(value: str) -> bool:
    # python-jsonschema upper-cases first ("t" and "z" are accepted); "$" also matches before a final newline,
    # as there.
    m = _RFC3339.match(value.upper())
    if m is None:
        return False
    year, month, day = map(int, m.groups())
    return bool(year) and 1 <= day <= calendar.monthrange(year, month)[1]


def is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        return bool(datetime.date.fromisoformat(value))
    except ValueError:
        return False


# --- uri: rfc3986-validator 0.1.1 (MIT, Nicolas Aimetti), its rule "URI" -------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
_IPV4_LOOSE = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
_H = r"[0-9A-Fa-f]{1,4}"
_LS = rf"(?:{_H}:{_H}|{_IPV4_LOOSE})"
_IPV6_3986 = (
    rf"(?:(?:{_H}:){{6}}{_LS}|::(?:{_H}:){{5}}{_LS}|(?:{_H})?::(?:{_H}:){{4}}{_LS}"
    rf"|(?:(?:{_H}:)?{_H})?::(?:{_H}:){{3}}{_LS}|(?:(?:{_H}:){{,2}}{_H})?::(?:{_H}:){{2}}{_LS}"
    rf"|(?:(?:{_H}:){{,3}}{_H})?::(?:{_H}:){_LS}|(?:(?:{_H}:){{,4}}{_H})?::{_LS}"
    rf"|(?:(?:{_H}:){{,5}}{_H})?::{_H}|(?:(?:{_H}:){{,6}}{_H})?::)"
)
_PCT = r"%[0-9A-Fa-f]{2}"
_AUTHORITY_3986 = (
    rf"(?:(?:[a-zA-Z0-9_.~\-!$&'()*+,;=:]|{_PCT})*@)?"
    rf"(?:\[(?:{_IPV6_3986}|v[0-9A-Fa-f]+\.[a-zA-Z0-9_.~\-!$&'()*+,;=:]+)\]"
    rf"|{_IPV4_LOOSE}|(?:[a-zA-Z0-9_.~\-!$&'()*+,;=]|{_PCT})*)(?::[0-9]*)?"
)
_PCHAR_3986 = rf"(?:[a-zA-Z0-9_.~\-!$&'()*+,;=:@]|{_PCT})"
_QUERY_3986 = rf"(?:[a-zA-Z0-9_.~\-!$&'()*+,;=:@/?]|{_PCT})*"
_URI = re.compile(
    rf"^[a-zA-Z][a-zA-Z0-9+.-]*:(?://{_AUTHORITY_3986}(?:/{_PCHAR_3986}*)*"
    rf"|/(?:{_PCHAR_3986}+(?:/{_PCHAR_3986}*)*)?|{_PCHAR_3986}+(?:/{_PCHAR_3986}*)*|)"
    rf"(?:\?{_QUERY_3986})?(?:\#{_QUERY_3986})?$"
)


def is_uri(value: str) -> bool:
    return _URI.match(value) is not None


# --- iri, iri-reference: the grammar of rfc3987-syntax 1.1.0 (MIT), RFC 3987 as it writes it ------------------
# Its exact language, including where it departs from the RFC: characters beyond the Basic Multilingual Plane
# are not ucschar, and each IPv6 form has a fixed count of groups ("::1" is not one). The character loops are
# possessive: each is followed by a character it cannot take, so giving one back never helps, and a hostile
# string costs linear time.

_UCS = "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
_IUNRESERVED = rf"A-Za-z0-9\-._~{_UCS}"
_SUB_DELIMS = r"!$&'()*+,;="
_IPCHAR = rf"(?:[{_IUNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_ISEGMENT = rf"{_IPCHAR}*+"
_ISEGMENT_NZ = rf"{_IPCHAR}++"
_ISEGMENT_NZ_NC = rf"(?:[{_IUNRESERVED}{_SUB_DELIMS}@]|{_PCT})++"
_IQUERY = rf"(?:[{_IUNRESERVED}{_SUB_DELIMS}:@/?\ue000-\uf8ff]|{_PCT})*+"
_IFRAGMENT = rf"(?:[{_IUNRESERVED}{_SUB_DELIMS}:@/?]|{_PCT})*+"
_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}"
_L32 = rf"(?:{_H}:{_H}|{_IPV4})"
# The grammar's nine IPv6 forms, each with its fixed counts of groups.
_IPV6 = (
    rf"(?:(?:{_H}:){{6}}{_L32}"
    rf"|::(?:{_H}:){{5}}{_L32}"
    rf"|{_H}::(?:{_H}:){{4}}{_L32}"
    rf"|{_H}:{_H}::(?:{_H}:){{3}}{_L32}"
    rf"|(?:{_H}:){{2}}{_H}::(?:{_H}:){{2}}{_L32}"
    rf"|(?:{_H}:){{3}}{_H}::{_H}:{_L32}"
    rf"|(?:{_H}:){{4}}{_H}::{_L32}"
    rf"|(?:{_H}:){{5}}{_H}::{_H}"
    rf"|(?:{_H}:){{6}}{_H}::)"
)
_IP_LITERAL = rf"\[(?:{_IPV6}|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~{_SUB_DELIMS}:]+)\]"
_IREG_NAME = rf"(?:[{_IUNRESERVED}{_SUB_DELIMS}]|{_PCT})*+"
_IUSERINFO = rf"(?:[{_IUNRESERVED}{_SUB_DELIMS}:]|{_PCT})*+"
_IAUTHORITY = rf"(?:{_IUSERINFO}@)?(?:{_IP_LITERAL}|{_IPV4}|{_IREG_NAME})(?::[0-9]*+)?"
_IPATH_ABEMPTY = rf"(?:/{_ISEGMENT})*+"
_IPATH_ABSOLUTE = rf"/(?:{_ISEGMENT_NZ}(?:/{_ISEGMENT})*+)?"
_IPATH_NOSCHEME = rf"{_ISEGMENT_NZ_NC}(?:/{_ISEGMENT})*+"
_IPATH_ROOTLESS = rf"{_ISEGMENT_NZ}(?:/{_ISEGMENT})*+"
_TAIL = rf"(?:\?{_IQUERY})?(?:\#{_IFRAGMENT})?"
_IRI_TEXT = (
    rf"[A-Za-z][A-Za-z0-9+\-.]*+:"
    rf"(?://{_IAUTHORITY}{_IPATH_ABEMPTY}|{_IPATH_ABSOLUTE}|{_IPATH_ROOTLESS}|){_TAIL}"
)
_IRELATIVE_TEXT = rf"(?://{_IAUTHORITY}{_IPATH_ABEMPTY}|{_IPATH_ABSOLUTE}|{_IPATH_NOSCHEME}|){_TAIL}"
_IRI = re.compile(_IRI_TEXT)
_IRI_REFERENCE = re.compile(rf"{_IRI_TEXT}|{_IRELATIVE_TEXT}")


def is_iri(value: str) -> bool:
    return _IRI.fullmatch(value) is not None


def is_iri_reference(value: str) -> bool:
    return _IRI_REFERENCE.fullmatch(value) is not None


def is_email(value: str) -> bool:
    # python-jsonschema's rule for email and idn-email: an "@" somewhere.
    return "@" in value


#: The formats crafter checks, by name. A format a schema uses that is missing here is not checked (as
#: python-jsonschema does for a format it has no checker for).
FORMATS: Mapping[str, FormatCheck] = {
    "date-time": is_date_time,
    "date": is_date,
    "uri": is_uri,
    "iri": is_iri,
    "iri-reference": is_iri_reference,
    "email": is_email,
    "idn-email": is_email,
}
