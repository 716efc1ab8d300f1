"""The library decides what the CLI used to: a :class:`PushRequest` says how to sign (key or keyless) and where
the bundle goes (stores by reference), and ``Crafter.push`` opens the stores and chooses the signer;
``Crafter.record`` returns the evaluations of what it recorded; a :class:`VerifyRequest` holds ``crafter
verify``'s options, checked at construction, and ``crafter.verify.verify`` runs it."""

from __future__ import annotations

import base64
import builtins
import hashlib
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from crafter import Crafter
from crafter._internal.push_rules import PushRequest, SigningRequest
from crafter.errors import DigestMismatchError, SigningError, StateError, UsageError
from crafter.signing.keys import generate_key_pair, public_key_from_pem
from crafter.storage import StoreError
from crafter.verify import VerifyRequest, verify, verify_bundle

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"


def _crafter(tmp_path: Path) -> Crafter:
    c = Crafter(state_dir=tmp_path / "state", cwd=tmp_path, environ={"PATH": "/usr/bin:/bin"})
    c.init(contract=DEMO / "contract.yaml", project="hello")
    c.add([str(DEMO / "sbom.cdx.json")], name="sbom")
    c.add([str(DEMO / "junit.xml")], name="tests")
    c.add([str(DEMO / "hello-1.0.0.py")], name="release-file")
    return c


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "give exactly one of --key and --keyless"),
        ({"key": "k.key", "keyless": True}, "give exactly one of --key and --keyless"),
        ({"key": "k.key", "staging": True}, "--staging and --trust-config go with --keyless"),
        ({"key": "k.key", "trust_config": Path("t.json")}, "--staging and --trust-config go with --keyless"),
        ({"keyless": True, "staging": True, "trust_config": Path("t.json")}, "mutually exclusive"),
    ],
)
def test_a_bad_signing_combination_is_refused_at_construction(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        SigningRequest(**fields)


def test_the_signing_reference_is_decided_in_the_library(tmp_path: Path) -> None:
    assert SigningRequest(key="awskms://alias/release").reference() == "awskms://alias/release"
    assert SigningRequest(keyless=True).reference() == "keyless://production"
    assert SigningRequest(keyless=True, staging=True).reference() == "keyless://staging"
    trust = SigningRequest(keyless=True, trust_config=Path("trust.json")).reference()
    assert trust == f"keyless://trust-config:{Path('trust.json').absolute()}"
    asked: list[int] = []
    provider = SigningRequest(key="k", password=lambda: asked.append(1) or b"pw").password_provider()
    assert asked == [] and provider() == b"pw" and asked == [1]
    assert SigningRequest(key="k", password=b"pw").password_provider()() == b"pw"
    assert SigningRequest(key="k").password_provider()() is None


def test_a_push_request_is_frozen_and_checked() -> None:
    request = PushRequest(signing=SigningRequest(key="k"), stores=["oci://r/x:1"], annotations={"a": "b"})
    assert request.stores == ("oci://r/x:1",)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        request.bundle = Path("b")  # type: ignore[misc]
    with pytest.raises(TypeError, match="immutable"):
        request.annotations["a"] = "c"  # type: ignore[index]
    assert hash(request) == hash(
        PushRequest(signing=SigningRequest(key="k"), stores=["oci://r/x:1"], annotations={"a": "b"})
    )
    with pytest.raises(TypeError):
        PushRequest(signing="k.key")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        PushRequest(signing=SigningRequest(key="k"), stores="oci://r/x:1")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="invalid bundle store reference"):
        PushRequest(signing=SigningRequest(key="k"), stores=[""])


def test_push_with_a_key_request_signs_and_stores_by_scheme(tmp_path: Path) -> None:
    key, pub = generate_key_pair(tmp_path / "release", b"pw")
    c = _crafter(tmp_path)
    copy = tmp_path / "copy.sigstore.json"
    result = c.push(
        PushRequest(
            signing=SigningRequest(key=str(key), password=lambda: b"pw"),
            bundle=tmp_path / "hello.sigstore.json",
            stores=[str(copy)],  # a path: the file scheme
            annotations={},
        )
    )
    assert result.bundle_path == tmp_path / "hello.sigstore.json"
    assert result.stored and copy.read_bytes() == result.bundle_path.read_bytes()
    assert verify_bundle(copy, public_key=public_key_from_pem(pub)).verified
    # The result carries the exact signed bytes: the bundle's payload, hashed to payload_digest.
    envelope = json.loads(copy.read_bytes())["dsseEnvelope"]
    assert base64.b64decode(envelope["payload"]) == result.payload
    assert result.payload_digest == "sha256:" + hashlib.sha256(result.payload).hexdigest()
    assert json.loads(result.payload) == result.statement
    with pytest.raises(StateError):
        c.status()  # the attestation was discarded


def test_a_store_reference_no_scheme_serves_fails_before_anything(tmp_path: Path) -> None:
    key, _ = generate_key_pair(tmp_path / "release", b"pw")
    c = _crafter(tmp_path)
    request = PushRequest(signing=SigningRequest(key=str(key), password=b"pw"), stores=["nosuch://x/y"])
    with pytest.raises(StoreError):
        c.push(request)
    assert c.status().complete  # nothing signed, the attestation kept
    assert not list(tmp_path.glob("*.sigstore.json"))


def test_keyless_without_sigstore_is_the_existing_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = _crafter(tmp_path)
    real_import = builtins.__import__

    def no_sigstore(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sigstore" or name.startswith("sigstore."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sigstore)
    with pytest.raises(SigningError, match="needs sigstore-python"):
        c.push(PushRequest(signing=SigningRequest(keyless=True)))
    assert c.status().complete


def test_keyless_without_credentials_is_the_existing_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("sigstore")
    for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sigstore.oidc.detect_credential", lambda: None)
    c = _crafter(tmp_path)
    with pytest.raises(SigningError, match="needs an OIDC identity token"):
        c.push(PushRequest(signing=SigningRequest(keyless=True)))
    assert c.status().complete and not list(tmp_path.glob("*.sigstore.json"))


def test_a_request_and_keyword_arguments_are_not_mixed(tmp_path: Path) -> None:
    c = Crafter(state_dir=tmp_path / "state", cwd=tmp_path, environ={})
    with pytest.raises(UsageError, match="not both"):
        c.push(PushRequest(signing=SigningRequest(key="k")), key="k")
    with pytest.raises(UsageError, match="give exactly one of --key and --keyless"):
        c.push()


def test_record_returns_the_evaluations_it_stored(tmp_path: Path) -> None:
    c = Crafter(state_dir=tmp_path / "state", cwd=tmp_path, environ={"PATH": "/usr/bin:/bin"})
    c.init(contract=DEMO / "contract.yaml", project="hello")
    added = c.record([str(DEMO / "sbom.cdx.json"), str(DEMO / "junit.xml")])
    names = [m.name for m in added.materials]
    assert len(names) == 2
    stored = c.status().evaluations_for(names)
    assert stored and added.evaluations == stored
    again = c.record([str(DEMO / "sbom.cdx.json")], name="sbom")
    assert {e.material_name for e in again.evaluations} == {"sbom"}
    assert again.evaluations == c.status().evaluations_for(["sbom"])
    assert isinstance(c.add([str(DEMO / "junit.xml")], name="tests"), list)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("verify")
    key, pub = generate_key_pair(work / "release", b"pw")
    c = _crafter(work)
    result = c.push(PushRequest(signing=SigningRequest(key=str(key), password=b"pw"), bundle=work / "b.json"))
    return result.bundle_path, pub


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"key": Path("k.pub"), "certificate": Path("c.pem")},
            "--key and --certificate are mutually exclusive",
        ),
        (
            {"certificate_identity": "a@example.com", "certificate_identity_regexp": ".*"},
            "give --certificate-identity or --certificate-identity-regexp, not both",
        ),
        (
            {"certificate_oidc_issuer": "https://i", "certificate_oidc_issuer_regexp": ".*"},
            "give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp, not both",
        ),
        ({"policy_timeout": 0.0}, "policy_timeout: must be more than 0"),
    ],
)
def test_a_bad_verify_request_is_refused_at_construction(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        VerifyRequest(bundle="b.json", **fields)  # no file is read: none of them exists


def test_a_verify_request_is_frozen_and_typed() -> None:
    request = VerifyRequest(bundle="b.json", materials=[Path("a"), "sha256:" + "0" * 64])
    assert request.materials == ("a", "sha256:" + "0" * 64)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        request.replay = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        VerifyRequest(bundle="b.json", materials="a")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        VerifyRequest(bundle=Path("b.json"))  # type: ignore[arg-type]


def test_verify_reads_the_key_and_fails_closed(signed: tuple[Path, Path]) -> None:
    bundle, pub = signed
    release = DEMO / "hello-1.0.0.py"
    result = verify(
        VerifyRequest(bundle=str(bundle), key=pub, materials=[str(release)], contract=DEMO / "contract.yaml")
    )
    assert result.verified and result.material_checks[0].matched
    wrong = VerifyRequest(bundle=str(bundle), key=pub, materials=[str(DEMO / "contract.yaml")])
    with pytest.raises(DigestMismatchError) as info:
        verify(wrong)
    assert info.value.result is not None and info.value.result.signer.kind == "key"
    report = verify(wrong, raise_on_failure=False)
    assert not report.verified and isinstance(report.failure(), DigestMismatchError)


def test_verify_opens_the_content_store_by_its_reference(signed: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed
    with pytest.raises(UsageError, match="no such directory"):
        verify(VerifyRequest(bundle=str(bundle), key=pub, replay=True, cas=str(tmp_path / "missing")))
    with pytest.raises(UsageError, match="--cas is read by --replay only"):
        verify(VerifyRequest(bundle=str(bundle), key=pub, cas=str(tmp_path)))


def test_verify_of_a_keyless_bundle_needs_its_identity_as_given(signed: tuple[Path, Path]) -> None:
    bundle, _ = signed
    with pytest.raises(UsageError, match="not a valid regular expression"):
        verify(VerifyRequest(bundle=str(bundle), certificate_identity_regexp="("))
