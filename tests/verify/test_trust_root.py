"""Trusted-root JSON read strictly (crafter/_internal/trust.py): real roots (Sigstore public-good's and staging's as
sigstore-python ships them, the sigstore-conformance suite's) mutated one field at a time. A malformed entry
refuses the whole file with its JSON path; an entry of a key type crafter cannot verify with is skipped,
reported in ``TrustRoot.skipped`` and logged, never trusted."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import importlib.util
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from crafter._internal.trust import (
    CertificateAuthority,
    TransparencyLog,
    TrustRoot,
    Validity,
    _sigstore_trusted_root_file,
    sigstore_trust_root,
)
from crafter.errors import UsageError
from tests.conftest import run_cli
from tests.verify.conformance import case_dir
from tests.verify.sigstore_instance import IDENTITY, ISSUER, Instance

Document = dict[str, Any]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def spki(key: Any) -> bytes:
    raw: bytes = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return raw


def shipped_root(*, staging: bool = False) -> Path:
    spec = importlib.util.find_spec("sigstore")
    path = _sigstore_trusted_root_file(
        list(spec.submodule_search_locations or []) if spec else [], staging=staging
    )
    if path is None:
        pytest.skip("sigstore-python (the sigstore extra) is not installed: no shipped trusted root")
    return path


@pytest.fixture(params=["public-good", "rekor2-happy-path"])
def base(request: pytest.FixtureRequest) -> Document:
    """A real trusted root to mutate: public-good's as shipped, or the conformance suite's happy path's."""
    if request.param == "public-good":
        path = shipped_root()
    else:
        path = case_dir("rekor2-happy-path") / "trusted_root.json"
    document: Document = json.loads(path.read_text())
    return document


def load(document: Document, tmp_path: Path) -> TrustRoot:
    path = tmp_path / "trusted_root.json"
    path.write_text(json.dumps(document))
    return TrustRoot.from_trusted_root_file(path)


def refused(document: Document, tmp_path: Path) -> str:
    """The problem (after ``trusted root PATH: ``) for which ``document`` is refused, checked to be one line."""
    path = tmp_path / "trusted_root.json"
    path.write_text(json.dumps(document))
    with pytest.raises(UsageError) as caught:
        TrustRoot.from_trusted_root_file(path)
    message = str(caught.value)
    assert "\n" not in message
    prefix = f"trusted root {path}: "
    assert message.startswith(prefix)
    return message.removeprefix(prefix)


def log_entry(raw_key: bytes, *, details: str | None, url: str, log_id: bytes | None = None) -> Document:
    key: Document = {"rawBytes": b64(raw_key), "validFor": {"start": "2024-01-01T00:00:00Z"}}
    if details is not None:
        key["keyDetails"] = details
    return {
        "baseUrl": url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": key,
        "logId": {"keyId": b64(log_id or hashlib.sha256(raw_key).digest())},
    }


def self_signed(key: CertificateIssuerPrivateKeyTypes, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    algorithm = (
        None if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey) else hashes.SHA256()
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, algorithm)
    )


def authority(cert: x509.Certificate, uri: str) -> Document:
    return {
        "subject": {"commonName": "x"},
        "uri": uri,
        "certChain": {"certificates": [{"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))}]},
        "validFor": {"start": "2024-01-01T00:00:00Z"},
    }


# -- the shipped roots ------------------------------------------------------------------------------------
@pytest.mark.parametrize("staging", [False, True], ids=["public-good", "staging"])
def test_shipped_roots_load_without_skips(staging: bool) -> None:
    shipped_root(staging=staging)
    root = sigstore_trust_root(staging=staging)
    assert root.skipped == ()
    assert root.certificate_authorities and root.timestamp_authorities
    assert root.transparency_logs and root.ct_logs
    document = json.loads(shipped_root(staging=staging).read_text())
    assert len(root.transparency_logs) == len(document["tlogs"])
    assert len(root.ct_logs) == len(document["ctlogs"])
    assert all(log.validity.start is not None for log in (*root.transparency_logs, *root.ct_logs))


def test_base_roots_load_unchanged(base: Document, tmp_path: Path) -> None:
    root = load(base, tmp_path)
    assert root.skipped == ()
    assert len(root.transparency_logs) == len(base["tlogs"])
    assert len(root.certificate_authorities) == len(base["certificateAuthorities"])


# -- malformed: refused, naming the JSON path -------------------------------------------------------------
def _drop_start(section: str, key: bool = True) -> Callable[[Document], None]:
    def mutate(d: Document) -> None:
        entry = d[section][0]
        del (entry["publicKey"] if key else entry)["validFor"]["start"]

    return mutate


def _drop_valid_for(section: str, key: bool = True) -> Callable[[Document], None]:
    def mutate(d: Document) -> None:
        entry = d[section][0]
        del (entry["publicKey"] if key else entry)["validFor"]

    return mutate


def _set(path: str, value: object) -> Callable[[Document], None]:
    """Sets the field at ``path`` (dotted; numbers index lists)."""

    def mutate(d: Document) -> None:
        *parents, last = path.split(".")
        node: Any = d
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _duplicate(section: str) -> Callable[[Document], None]:
    def mutate(d: Document) -> None:
        d[section].append(copy.deepcopy(d[section][0]))

    return mutate


MALFORMED: list[tuple[str, Callable[[Document], None], str]] = [
    # validFor.start is required everywhere
    ("tlog-start", _drop_start("tlogs"), r"tlogs\[0\]\.publicKey\.validFor\.start is missing"),
    ("tlog-validFor", _drop_valid_for("tlogs"), r"tlogs\[0\]\.publicKey\.validFor\.start is missing"),
    (
        "tlog-start-null",
        _set("tlogs.0.publicKey.validFor.start", None),
        r"tlogs\[0\]\.publicKey\.validFor\.start",
    ),
    ("ctlog-start", _drop_start("ctlogs"), r"ctlogs\[0\]\.publicKey\.validFor\.start is missing"),
    ("ctlog-validFor", _drop_valid_for("ctlogs"), r"ctlogs\[0\]\.publicKey\.validFor\.start is missing"),
    (
        "ca-start",
        _drop_start("certificateAuthorities", key=False),
        r"certificateAuthorities\[0\]\.validFor\.start is missing",
    ),
    (
        "ca-validFor",
        _drop_valid_for("certificateAuthorities", key=False),
        r"certificateAuthorities\[0\]\.validFor\.start is missing",
    ),
    (
        "tsa-start",
        _drop_start("timestampAuthorities", key=False),
        r"timestampAuthorities\[0\]\.validFor\.start is missing",
    ),
    (
        "tsa-validFor",
        _drop_valid_for("timestampAuthorities", key=False),
        r"timestampAuthorities\[0\]\.validFor\.start is missing",
    ),
    (
        "tlog-validFor-list",
        _set("tlogs.0.publicKey.validFor", []),
        r"tlogs\[0\]\.publicKey\.validFor must be",
    ),
    # an end before its start
    (
        "tlog-end-before-start",
        _set("tlogs.0.publicKey.validFor.end", "2000-01-01T00:00:00Z"),
        r"tlogs\[0\]\.publicKey\.validFor\.end \(2000-01-01T00:00:00Z\) is before its start",
    ),
    (
        "ca-end-before-start",
        _set("certificateAuthorities.0.validFor.end", "2000-01-01T00:00:00Z"),
        r"certificateAuthorities\[0\]\.validFor\.end \(2000-01-01T00:00:00Z\) is before its start",
    ),
    # times that are not RFC 3339
    (
        "date-only",
        _set("tlogs.0.publicKey.validFor.start", "2021-03-14"),
        r"tlogs\[0\]\.publicKey\.validFor\.start is not an RFC 3339 time",
    ),
    (
        "no-zone",
        _set("ctlogs.0.publicKey.validFor.start", "2021-03-14T00:00:00"),
        r"ctlogs\[0\]\.publicKey\.validFor\.start is not an RFC 3339 time",
    ),
    (
        "words",
        _set("certificateAuthorities.0.validFor.end", "tomorrow"),
        r"certificateAuthorities\[0\]\.validFor\.end is not an RFC 3339 time: 'tomorrow'",
    ),
    (
        "month-13",
        _set("timestampAuthorities.0.validFor.start", "2021-13-01T00:00:00Z"),
        r"timestampAuthorities\[0\]\.validFor\.start is not an RFC 3339 time",
    ),
    (
        "number",
        _set("tlogs.0.publicKey.validFor.start", 1700000000),
        r"tlogs\[0\]\.publicKey\.validFor\.start must be an RFC 3339 time",
    ),
    # base64
    (
        "tlog-key-b64",
        _set("tlogs.0.publicKey.rawBytes", "!!not base64"),
        r"tlogs\[0\]\.publicKey\.rawBytes is not base64",
    ),
    ("tlog-keyid-b64", _set("tlogs.0.logId.keyId", "%%%"), r"tlogs\[0\]\.logId\.keyId is not base64"),
    ("ctlog-keyid-empty", _set("ctlogs.0.logId.keyId", ""), r"ctlogs\[0\]\.logId\.keyId must be a non-empty"),
    (
        "ca-cert-b64",
        _set("certificateAuthorities.0.certChain.certificates.0.rawBytes", "not*base64"),
        r"certificateAuthorities\[0\]\.certChain\.certificates\[0\]\.rawBytes is not base64",
    ),
    # DER
    (
        "tlog-key-der",
        _set("tlogs.0.publicKey.rawBytes", b64(b"not a key")),
        r"tlogs\[0\]\.publicKey\.rawBytes is not a DER public key",
    ),
    (
        "ctlog-key-der",
        _set("ctlogs.0.publicKey.rawBytes", b64(b"\x30\x03\x02\x01\x01")),
        r"ctlogs\[0\]\.publicKey\.rawBytes is not a DER public key",
    ),
    (
        "tsa-cert-der",
        _set("timestampAuthorities.0.certChain.certificates.0.rawBytes", b64(b"not a certificate")),
        r"timestampAuthorities\[0\]\.certChain\.certificates\[0\] is not a DER certificate",
    ),
    # a key that is not what keyDetails says
    (
        "details-mismatch",
        _set("tlogs.0.publicKey.keyDetails", "PKIX_RSA_PKCS1V15_4096_SHA256"),
        r"tlogs\[0\]\.publicKey\.keyDetails is PKIX_RSA_PKCS1V15_4096_SHA256 but the key is ",
    ),
    (
        "details-object",
        _set("tlogs.0.publicKey.keyDetails", {}),
        r"tlogs\[0\]\.publicKey\.keyDetails must be",
    ),
    # duplicate log ids
    (
        "tlog-duplicate",
        _duplicate("tlogs"),
        r"tlogs\[\d+\]\.logId\.keyId duplicates tlogs\[0\]\.logId\.keyId",
    ),
    (
        "ctlog-duplicate",
        _duplicate("ctlogs"),
        r"ctlogs\[\d+\]\.logId\.keyId duplicates ctlogs\[0\]\.logId\.keyId",
    ),
    # empty or missing chains
    (
        "ca-empty-chain",
        _set("certificateAuthorities.0.certChain.certificates", []),
        r"certificateAuthorities\[0\]\.certChain\.certificates must be a non-empty list",
    ),
    (
        "tsa-no-chain",
        _set("timestampAuthorities.0.certChain", None),
        r"timestampAuthorities\[0\]\.certChain\.certificates must be a non-empty list",
    ),
    # shapes
    ("tlog-not-object", _set("tlogs.0", "rekor"), r"tlogs\[0\] must be an object"),
    ("tlog-no-key", _set("tlogs.0.publicKey", None), r"tlogs\[0\]\.publicKey must be an object"),
    ("tlog-no-logid", _set("tlogs.0.logId", None), r"tlogs\[0\]\.logId must be an object"),
    ("ctlogs-not-list", _set("ctlogs", {}), r"ctlogs must be a list"),
]


@pytest.mark.parametrize(("mutate", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_entries_are_refused_with_their_path(
    base: Document, tmp_path: Path, mutate: Callable[[Document], None], message: str
) -> None:
    mutate(base)
    problem = refused(base, tmp_path)
    assert re.match(message, problem), problem


def test_a_skipped_entry_must_still_be_well_formed(base: Document, tmp_path: Path) -> None:
    future = log_entry(b"\x01" * 64, details="PKIX_ML_DSA_65", url="https://pq.example")
    del future["publicKey"]["validFor"]
    base["tlogs"].append(future)
    n = len(base["tlogs"]) - 1
    assert refused(base, tmp_path).startswith(f"tlogs[{n}].publicKey.validFor.start is missing")
    future["publicKey"]["validFor"] = {"start": "2024-01-01T00:00:00Z"}
    future["logId"] = copy.deepcopy(base["tlogs"][0]["logId"])
    assert refused(base, tmp_path) == f"tlogs[{n}].logId.keyId duplicates tlogs[0].logId.keyId"


# -- unusable: skipped, reported, never trusted ------------------------------------------------------------
@pytest.mark.parametrize(
    "details",
    [
        "PKIX_ML_DSA_65",  # a name from the future
        "ML_DSA_65",
        "PKIX_RSA_PSS_2048_SHA256",  # crafter verifies RSA with PKCS#1 v1.5 only
        "PKIX_ECDSA_P256_HMAC_SHA_256",  # deprecated
        "LMS_SHA256",
    ],
)
def test_unsupported_key_details_are_skipped(
    base: Document, tmp_path: Path, details: str, caplog: pytest.LogCaptureFixture
) -> None:
    raw = b"\x02" * 1952  # not even DER: never loaded
    base["tlogs"].append(log_entry(raw, details=details, url="https://pq.rekor.example"))
    n = len(base["tlogs"]) - 1
    with caplog.at_level(logging.WARNING, logger="crafter.trust"):
        root = load(base, tmp_path)
    line = f"tlogs[{n}] (https://pq.rekor.example): key type {details} is not supported; entry skipped"
    assert root.skipped == (line,)
    assert len(root.transparency_logs) == n
    assert root.transparency_log(hashlib.sha256(raw).digest()) is None
    assert all(log.base_url != "https://pq.rekor.example" for log in root.transparency_logs)
    assert [r.name for r in caplog.records] == ["crafter.trust"]
    assert line in caplog.records[0].getMessage() and caplog.records[0].levelno == logging.WARNING


@pytest.mark.parametrize(
    ("key", "described"),
    [
        (ed448.Ed448PrivateKey.generate(), "Ed448"),
        (ec.generate_private_key(ec.SECP256K1()), "EC secp256k1"),
        (dsa.generate_private_key(2048), "DSA"),
    ],
    ids=["ed448", "secp256k1", "dsa"],
)
def test_unsupported_key_types_without_key_details_are_skipped(
    base: Document, tmp_path: Path, key: Any, described: str
) -> None:
    raw = spki(key.public_key())
    base["ctlogs"].append(log_entry(raw, details=None, url="https://ct.example"))
    n = len(base["ctlogs"]) - 1
    root = load(base, tmp_path)
    assert root.skipped == (
        f"ctlogs[{n}] (https://ct.example): key type {described} is not supported; entry skipped",
    )
    assert len(root.ct_logs) == n
    assert hashlib.sha256(raw).digest() not in {log.log_id for log in root.ct_logs}


def test_a_certificate_authority_with_an_unsupported_key_is_skipped(base: Document, tmp_path: Path) -> None:
    cert = self_signed(ed448.Ed448PrivateKey.generate(), "ed448 root")
    base["certificateAuthorities"].append(authority(cert, "https://fulcio.ed448.example"))
    n = len(base["certificateAuthorities"]) - 1
    root = load(base, tmp_path)
    assert root.skipped == (
        f"certificateAuthorities[{n}] (https://fulcio.ed448.example): certificates[0]'s key type Ed448 is not "
        "supported; entry skipped",
    )
    assert cert not in {ca.root for ca in root.certificate_authorities}
    # Every certificate authority skipped: nothing to check a certificate against, as with none at all.
    base["certificateAuthorities"] = [authority(cert, "")]
    assert refused(base, tmp_path) == (
        "no certificateAuthorities crafter can use: keyless certificates cannot be checked"
    )
    base["certificateAuthorities"] = []
    assert refused(base, tmp_path) == "no certificateAuthorities: keyless certificates cannot be checked"


# -- well-formed variations: still load --------------------------------------------------------------------
def test_valid_variations_load(base: Document, tmp_path: Path) -> None:
    key = base["tlogs"][0]["publicKey"]
    del key["keyDetails"]  # older roots omit it: the key decides
    key["validFor"] = {"start": "2021-01-12T11:53:27.123456789+02:00", "end": None}
    base["ctlogs"][0]["publicKey"]["keyDetails"] = "PUBLIC_KEY_DETAILS_UNSPECIFIED"
    base["certificateAuthorities"][0]["validFor"] = {
        "start": "2022-04-13t20:06:15z",
        "end": "2022-04-13T20:06:15Z",
    }
    rsa_key = rsa.generate_private_key(65537, 3072).public_key()
    base["ctlogs"].append(
        log_entry(spki(rsa_key), details="PKIX_RSA_PKCS1V15_3072_SHA256", url="https://ct.rsa")
    )
    pkcs1 = rsa_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    base["ctlogs"].append(log_entry(pkcs1, details="PKCS1_RSA_PKCS1V5", url="https://ct.pkcs1", log_id=b"pk"))
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    base["tlogs"].append(log_entry(spki(p384), details="PKIX_ECDSA_P384_SHA_384", url="https://rekor.p384"))
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    base["tlogs"].append(log_entry(spki(ed), details=None, url="https://rekor.ed25519"))

    root = load(base, tmp_path)
    assert root.skipped == ()
    first = root.transparency_logs[0].validity
    tz = dt.timezone(dt.timedelta(hours=2))
    assert first == Validity(dt.datetime(2021, 1, 12, 11, 53, 27, 123456, tzinfo=tz), None)
    assert [log.base_url for log in root.transparency_logs[-2:]] == [
        "https://rekor.p384",
        "https://rekor.ed25519",
    ]
    assert [log.base_url for log in root.ct_logs[-2:]] == ["https://ct.rsa", "https://ct.pkcs1"]
    instant = root.certificate_authorities[0].validity
    assert instant.start == instant.end == dt.datetime(2022, 4, 13, 20, 6, 15, tzinfo=dt.UTC)


def test_validity_is_closed_on_both_ends() -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    window = Validity(start, end)
    assert window.contains(start) and window.contains(end)
    assert not window.contains(end + dt.timedelta(microseconds=1))
    assert not window.contains(start - dt.timedelta(microseconds=1))
    assert Validity().contains(start) and Validity(start).contains(dt.datetime(9999, 1, 1, tzinfo=dt.UTC))


def test_programmatic_construction_keeps_open_windows() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    log = TransparencyLog(key, b"id", Validity(), "https://rekor.example")
    assert log.validity.start is None and log.validity.describe() == "the beginning to now"
    cert = self_signed(ec.generate_private_key(ec.SECP256R1()), "root")
    root = TrustRoot(certificate_authorities=[CertificateAuthority([cert])], transparency_logs=[log])
    assert root.skipped == () and root.transparency_log(b"id") is log


# -- through the CLI ---------------------------------------------------------------------------------------
STATEMENT = json.dumps(
    {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "a.txt", "digest": {"sha256": hashlib.sha256(b"a\n").hexdigest()}}],
        "predicateType": "https://example.com/predicate/v1",
        "predicate": {},
    }
).encode()
WHO = ("--certificate-identity", IDENTITY, "--certificate-oidc-issuer", ISSUER)


def test_cli_refuses_a_malformed_trusted_root_in_one_line(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acme = Instance("acme")
    bundle = cli_env / "b.sigstore.json"
    bundle.write_text(json.dumps(acme.bundle(STATEMENT)))
    document = acme.trusted_root()
    del document["tlogs"][0]["publicKey"]["validFor"]["start"]
    bad = cli_env / "bad.json"
    bad.write_text(json.dumps(document))
    code, _out, err = run_cli(capsys, "verify", str(bundle), "--trusted-root", str(bad), *WHO)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"trusted root {bad}: tlogs[0].publicKey.validFor.start is missing" in lines[0]


def test_cli_verifies_with_a_root_that_has_a_skipped_entry(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acme = Instance("acme")
    bundle = cli_env / "b.sigstore.json"
    bundle.write_text(json.dumps(acme.bundle(STATEMENT)))
    document = acme.trusted_root()
    document["tlogs"].append(log_entry(b"\x03" * 64, details="PKIX_ML_DSA_65", url="https://pq.example"))
    root = cli_env / "root.json"
    root.write_text(json.dumps(document))
    code, out, err = run_cli(capsys, "verify", str(bundle), "--trusted-root", str(root), *WHO)
    assert code == 0, err
    assert "valid" in out
    # the user is told, once, which entry was not trusted
    assert (
        "Warning: trust root: tlogs[1] (https://pq.example): key type PKIX_ML_DSA_65 is not supported" in err
    )
