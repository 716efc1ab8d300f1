"""Attestations as materials: a Chainloop attestation (ATTESTATION) and SLSA provenance (SLSA_PROVENANCE).

Both are recorded as the file given (digest over the bytes read once, base name, size). The file is a DSSE
envelope or a Sigstore bundle carrying one; :func:`extract_statement` decodes either into the in-toto
statement. Signatures are not verified here: an attestation material is evidence, checked by policies.

Errors quote no value of the file (it may be any file) except crafter's own names: a predicate type crafter
knows is named, any other is not.
"""

from __future__ import annotations

import json
import re
from typing import Any

from crafter._internal.materials.basic import invalid, json_object, json_prefix_has, load_json, str_field
from crafter._internal.materials.fileio import file_record
from crafter._internal.materials.interface import Crafted, CraftOptions, MaterialKind, Sample
from crafter.errors import SigningError

STATEMENT_TYPES = frozenset({"https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"})
CHAINLOOP_PREDICATE_TYPE = "chainloop.dev/attestation/v0.2"
SLSA_PROVENANCE_PREDICATE_TYPE = "https://slsa.dev/provenance/v1"

#: Sigstore bundle 0.x in both spellings: ``...bundle.v0.3+json`` and the older ``bundle+json;version=0.3``.
_BUNDLE_MEDIA_TYPE = re.compile(
    r"application/vnd\.dev\.sigstore\.bundle(?:\.v0\.[0-9]+\+json|\+json;\s*version=0\.[0-9]+)"
)
_BUNDLE_HINT = "expected a Sigstore bundle 0.x, e.g. application/vnd.dev.sigstore.bundle.v0.3+json"
_KNOWN_PREDICATES = frozenset({CHAINLOOP_PREDICATE_TYPE, SLSA_PROVENANCE_PREDICATE_TYPE})


def is_bundle(obj: object) -> bool:
    """A Sigstore bundle is told from a bare DSSE envelope by a non-empty ``mediaType`` (Chainloop's rule)."""
    return bool(str_field(obj, "mediaType"))


def extract_statement(obj: object, path: str, what: str = "attestation") -> dict[str, Any]:
    """The in-toto statement inside a parsed DSSE envelope or Sigstore bundle.

    The payload must be of type in-toto and decode (standard or URL-safe base64) to a Statement v1 or
    v0.1 with subjects and a predicate type. Old Chainloop bundles carry a double-base64 signature: it is
    accepted (signatures are decoded by :meth:`crafter._internal.signing.dsse.Envelope.from_dict`, which tolerates it).
    Raises :class:`MaterialError` naming ``path``.
    """
    # Deferred: crafter._internal.signing pulls in cryptography, which only attestation materials need.
    from crafter._internal.signing.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope

    envelope_obj = _envelope_object(obj, path, what)
    try:
        envelope = Envelope.from_dict(envelope_obj)
    except SigningError as exc:
        raise invalid(path, what, exc.message) from exc
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise invalid(
            path,
            what,
            "the payload is not of type in-toto",  # the type found is not quoted: the file may be any file
            hint=f"expected payloadType {IN_TOTO_PAYLOAD_TYPE}",
        )
    return _statement(envelope.payload, path, what)


def _envelope_object(obj: object, path: str, what: str) -> dict[str, Any]:
    obj = json_object(obj, path, what)
    if not is_bundle(obj):
        return obj
    media_type = obj["mediaType"]
    if not _BUNDLE_MEDIA_TYPE.fullmatch(media_type):
        raise invalid(path, what, "unsupported Sigstore bundle mediaType", hint=_BUNDLE_HINT)
    envelope = obj.get("dsseEnvelope")
    if not isinstance(envelope, dict):
        raise invalid(
            path,
            what,
            "the Sigstore bundle has no dsseEnvelope",
            hint="message-signature bundles sign a blob, not an attestation",
        )
    return envelope


def _statement(payload: bytes, path: str, what: str) -> dict[str, Any]:
    not_statement = "failed to parse the DSSE payload as an in-toto statement"
    try:
        statement = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise invalid(path, what, f"{not_statement}: not JSON") from None
    if not isinstance(statement, dict):
        raise invalid(path, what, f"{not_statement}: not a JSON object")
    if statement.get("_type") not in STATEMENT_TYPES:
        raise invalid(
            path,
            what,
            "the DSSE payload is not an in-toto statement: _type is missing or not an in-toto statement type",
        )
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects or not all(isinstance(s, dict) for s in subjects):
        raise invalid(path, what, "the in-toto statement has no subject")
    if not str_field(statement, "predicateType"):
        raise invalid(path, what, "the in-toto statement has no predicateType")
    return statement


def _check_predicate(statement: dict[str, Any], expected: str, label: str, path: str, what: str) -> None:
    found = statement["predicateType"]
    if found != expected:
        raise invalid(
            path,
            what,
            f"the provided predicate is not a valid {label}: "
            + (f"found={json.dumps(found)}" if found in _KNOWN_PREDICATES else "another predicateType"),
            hint=f"expected predicateType {expected}",
        )


# The payload is base64 and can be far longer than the sniffed prefix, so "payloadType" may lie beyond it;
# '"payload"' itself then appears early.
_ENVELOPE_MARKERS = ('"payloadType"', '"payload"', '"dsseEnvelope"', "dev.sigstore.bundle")
_BUNDLE_MARKERS = ('"dsseEnvelope"', "dev.sigstore.bundle")


class _StatementInput(MaterialKind):
    """Policies read an attestation material as its decoded in-toto statement."""

    def policy_input(self, path: str, name: str) -> Any:
        from crafter._internal.materials.policy_input import EMPTY, read_json

        doc = read_json(path, name, self.kind)
        return {} if doc is EMPTY else extract_statement(doc, path)


class AttestationKind(_StatementInput):
    """A Chainloop attestation (predicate ``chainloop.dev/attestation/v0.2``), as DSSE envelope or bundle."""

    kind = "ATTESTATION"

    def sniff(self, sample: Sample) -> bool:
        return json_prefix_has(sample, _ENVELOPE_MARKERS)

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        what = "attestation"
        fb, doc = load_json(value, what)
        statement = extract_statement(doc, value, what)
        _check_predicate(statement, CHAINLOOP_PREDICATE_TYPE, "chainloop attestation", value, what)
        return file_record(self.kind, fb)


class SLSAProvenanceKind(_StatementInput):
    """SLSA provenance v1 in a Sigstore bundle (a bare DSSE envelope is refused, as in Chainloop)."""

    kind = "SLSA_PROVENANCE"

    def sniff(self, sample: Sample) -> bool:
        return json_prefix_has(sample, _BUNDLE_MARKERS)

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        what = "SLSA provenance"
        fb, doc = load_json(value, what)
        if not is_bundle(doc):
            raise invalid(
                value,
                what,
                "not a Sigstore bundle (no mediaType)",
                hint="a bare DSSE envelope can be added as ATTESTATION or ARTIFACT",
            )
        statement = extract_statement(doc, value, what)
        _check_predicate(statement, SLSA_PROVENANCE_PREDICATE_TYPE, "SLSA Provenance", value, what)
        return file_record(self.kind, fb)
