"""``crafter verify``: a real pipeline (init, add, push with the shipped Rego policies), then every check,
the replay, the reference's real keyless bundles and the tampering suite."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crafter import Crafter
from crafter._internal.cli.main import main
from crafter._internal.signing.bundle import sign_statement, write_bundle
from crafter._internal.signing.keys import generate_key_pair, load_signer, public_key_from_pem
from crafter._internal.statement import serialize
from crafter.errors import (
    DigestMismatchError,
    ExitCode,
    IncompleteAttestationError,
    ReplayDifferenceError,
    SignatureError,
    UsageError,
)
from crafter.verify import VerifyResult, verify_bundle
from tests.conftest import chainloop_path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
SBOM, JUNIT, RELEASE = DEMO / "sbom.cdx.json", DEMO / "junit.xml", DEMO / "hello-1.0.0.py"


class Pipeline:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.key, self.pub = generate_key_pair(work / "release", b"pw")
        self.other_key, self.other_pub = generate_key_pair(work / "other", b"pw")

    def push(self, name: str, release: Path = RELEASE) -> Path:
        c = Crafter(state_dir=self.work / "state", cwd=self.work, environ={"PATH": "/usr/bin:/bin"})
        c.init(contract=DEMO / "contract.yaml", project="hello")
        c.add([str(SBOM)], name="sbom")
        c.add([str(JUNIT)], name="tests")
        c.add([str(release)], name="release-file")
        return c.push(key=str(self.key), password=b"pw", bundle=self.work / name).bundle_path

    def bundle(self, path: Path) -> dict[str, Any]:
        return json.loads(path.read_text())  # type: ignore[no-any-return]

    def statement(self, path: Path) -> dict[str, Any]:
        return json.loads(base64.b64decode(self.bundle(path)["dsseEnvelope"]["payload"]))  # type: ignore[no-any-return]

    def resign(
        self, source: Path, name: str, edit: Callable[[dict[str, Any]], None], key: Path | None = None
    ) -> Path:
        """A bundle for ``source``'s statement after ``edit``, validly signed (by ``key``, default ours)."""
        statement = copy.deepcopy(self.statement(source))
        edit(statement)
        signer = load_signer(str(key or self.key), lambda: b"pw")
        target = self.work / name
        write_bundle(target, sign_statement(serialize(statement), signer))
        return target

    def write(self, name: str, bundle: dict[str, Any] | str) -> Path:
        target = self.work / name
        target.write_text(bundle if isinstance(bundle, str) else json.dumps(bundle))
        return target

    def verify(self, path: Path, **kwargs: Any) -> VerifyResult:
        return verify_bundle(path, public_key=public_key_from_pem(kwargs.pop("pub", self.pub)), **kwargs)


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    return Pipeline(tmp_path_factory.mktemp("verify"))


@pytest.fixture(scope="module")
def bundle(pipe: Pipeline) -> Path:
    return pipe.push("hello.sigstore.json")


def _evaluation(statement: dict[str, Any], material: str, name: str) -> dict[str, Any]:
    found = [e for e in statement["predicate"]["policyEvaluations"][material] if e["name"] == name]
    assert len(found) == 1
    return found[0]  # type: ignore[no-any-return]


# -- valid ---------------------------------------------------------------------------------------------
def test_valid_bundle_summary(pipe: Pipeline, bundle: Path) -> None:
    result = pipe.verify(bundle)
    assert result.signer.kind == "key"
    assert result.payload_type == "application/vnd.in-toto+json"
    assert [s["name"] for s in result.subjects] == ["chainloop.workflow.hello-release", "hello-1.0.0.py"]
    assert {m["name"] for m in result.materials} == {"sbom", "tests", "release-file"}
    assert result.policy["status"] == "PASSED"
    assert result.policy["evaluations"] == 3
    result.check()
    data = result.to_dict()
    assert data["verified"] is True
    json.dumps(data)


def test_material_files_right(pipe: Pipeline, bundle: Path) -> None:
    result = pipe.verify(bundle, materials=[SBOM, JUNIT, RELEASE])
    assert [c.matched for c in result.material_checks] == [
        "material 'sbom'",
        "material 'tests'",
        "material 'release-file'",
    ]
    result.check()


def test_material_file_wrong(pipe: Pipeline, bundle: Path, tmp_path: Path) -> None:
    wrong = tmp_path / "sbom.cdx.json"
    wrong.write_text(SBOM.read_text().replace("MIT", "BSD-3-Clause"))
    with pytest.raises(DigestMismatchError) as err:
        pipe.verify(bundle, materials=[wrong])
    result = err.value.result  # the whole result comes with the failure
    assert isinstance(result, VerifyResult) and not result.verified
    # asked for explicitly, the result without raising
    assert pipe.verify(bundle, materials=[wrong], raise_on_failure=False).mismatches == result.mismatches
    recorded = pipe.statement(bundle)["predicate"]["materials"]
    sbom_digest = next(m for m in recorded if m.get("name") == "sbom.cdx.json")["digest"]["sha256"]
    assert "material 'sbom'" in err.value.message
    assert f"recorded sha256:{sbom_digest}" in err.value.message
    assert result.material_checks[0].digest in err.value.message
    assert err.value.exit_code == ExitCode.DIGEST_MISMATCH


def test_material_file_matching_nothing(pipe: Pipeline, bundle: Path, tmp_path: Path) -> None:
    other = tmp_path / "unrelated.txt"
    other.write_text("x")
    with pytest.raises(DigestMismatchError, match="matches no material or subject"):
        pipe.verify(bundle, materials=[other])


def test_contract_missing_material(pipe: Pipeline, bundle: Path, tmp_path: Path) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text(
        "schemaVersion: v1\nmaterials:\n  - {name: sbom, type: SBOM_CYCLONEDX_JSON}\n"
        "  - {name: image, type: CONTAINER_IMAGE}\n"
    )
    with pytest.raises(IncompleteAttestationError, match="required materials missing: image"):
        pipe.verify(bundle, contract=contract)
    pipe.verify(bundle, contract=DEMO / "contract.yaml")  # the contract it was made with


def test_contract_group_without_member(pipe: Pipeline, bundle: Path, tmp_path: Path) -> None:
    contract = tmp_path / "grouped.yaml"
    contract.write_text(
        "schemaVersion: v1\nmaterials:\n  - {name: spdx, type: SBOM_SPDX_JSON, group: sboms}\n"
        "  - {name: other, type: SBOM_CYCLONEDX_JSON, group: sboms}\n"
    )
    with pytest.raises(IncompleteAttestationError, match='no material from group "sboms": spdx, other'):
        pipe.verify(bundle, contract=contract)


def test_missing_material_file_is_a_usage_error(pipe: Pipeline, bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"material file .* not found"):
        pipe.verify(bundle, materials=[tmp_path / "nope.json"])


def test_keyless_needs_no_key_but_key_signed_does(bundle: Path) -> None:
    with pytest.raises(UsageError, match="signed with a key: give its public key with --key"):
        verify_bundle(bundle)


# -- replay ----------------------------------------------------------------------------------------------
def test_replay_equal_with_identical_inputs(pipe: Pipeline, bundle: Path) -> None:
    result = pipe.verify(bundle, materials=[SBOM, JUNIT], replay=True)
    assert [(r.name, r.material, r.status, r.detail) for r in result.replay] == [
        ("sbom-min-components", "sbom", "same", ""),
        ("cyclonedx-banned-licenses", "sbom", "same", ""),
        ("junit-all-passed", "tests", "same", ""),
    ]  # no detail: the rebuilt input has the recorded digest, evaluation time included
    result.check()


def test_replay_without_material_files_names_what_it_could_not_replay(pipe: Pipeline, bundle: Path) -> None:
    result = pipe.verify(bundle, replay=True)
    assert {r.status for r in result.replay} == {"not-replayed"}
    assert "no local file with the digest of material 'sbom'" in result.replay[0].detail
    result.check()  # nothing differs; the CLI warns about each one


def test_replay_difference_claimed_no_violation(pipe: Pipeline, bundle: Path) -> None:
    # A validly signed statement whose evaluation claims that an SBOM with an MIT component passes a policy
    # banning MIT: the policy, evaluated again with the recorded arguments, finds the violation.
    def ban_mit(st: dict[str, Any]) -> None:
        _evaluation(st, "sbom", "cyclonedx-banned-licenses")["with"] = {"licenses": "MIT"}

    forged = pipe.resign(bundle, "forged.json", ban_mit)
    with pytest.raises(ReplayDifferenceError) as err:
        pipe.verify(forged, materials=[SBOM, JUNIT], replay=True)
    result = err.value.result
    assert isinstance(result, VerifyResult)
    (diff,) = result.differences
    assert diff.name == "cyclonedx-banned-licenses"
    assert "new violations" in diff.detail and "MIT" in diff.detail
    assert err.value.exit_code == ExitCode.REPLAY_DIFFERENCE


def test_replay_difference_skipped_flag(pipe: Pipeline, bundle: Path) -> None:
    def skipped(st: dict[str, Any]) -> None:
        _evaluation(st, "tests", "junit-all-passed")["skipped"] = True

    result = pipe.verify(
        pipe.resign(bundle, "skipped.json", skipped),
        materials=[SBOM, JUNIT],
        replay=True,
        raise_on_failure=False,
    )
    (diff,) = result.differences
    assert diff.detail == "skipped is False, recorded True"


def test_replay_remote_policy_is_named_not_passed(pipe: Pipeline, bundle: Path) -> None:
    def remote(st: dict[str, Any]) -> None:
        _evaluation(st, "sbom", "sbom-min-components")["policyReference"]["uri"] = (
            "https://policies.invalid/sbom-min-components.yaml"
        )

    result = pipe.verify(pipe.resign(bundle, "remote.json", remote), materials=[SBOM, JUNIT], replay=True)
    (skipped,) = result.not_replayed
    assert skipped.name == "sbom-min-components"
    assert "not in the policy cache" in skipped.detail


def test_replay_pins_the_recorded_policy_digest(pipe: Pipeline, bundle: Path) -> None:
    def other_digest(st: dict[str, Any]) -> None:
        _evaluation(st, "tests", "junit-all-passed")["policyReference"]["digest"] = {"sha256": "0" * 64}

    result = pipe.verify(pipe.resign(bundle, "pin.json", other_digest), materials=[SBOM, JUNIT], replay=True)
    (skipped,) = result.not_replayed
    assert "digest mismatch" in skipped.detail


def test_replay_embedded_policy_from_recorded_sources(pipe: Pipeline, bundle: Path) -> None:
    # An embedded policy has no reference to load: its recorded sources are evaluated.
    def embedded(st: dict[str, Any]) -> None:
        ev = _evaluation(st, "tests", "junit-all-passed")
        ev["policyReference"] = {"name": "junit-all-passed"}

    result = pipe.verify(pipe.resign(bundle, "emb.json", embedded), materials=[SBOM, JUNIT], replay=True)
    assert [r.status for r in result.replay] == ["same", "same", "same"]


# -- reference bundles (keyless, Chainloop) -----------------------------------------------------------
@pytest.mark.parametrize("name", ["chainloop_attestation.sigstore.json", "attestation-bundle.json"])
def test_reference_keyless_bundles(name: str, tmp_path: Path) -> None:
    # Their CA is Chainloop's private one: against the default trust root they are refused (see
    # tests/verify/test_keyless_verify.py); their own certificate, taken as given, reads them.
    with pytest.raises(SignatureError, match="not issued by a trusted CA"):
        verify_bundle(chainloop_path("materials", name))
    cert = _reference_certificate(chainloop_path("materials", name), tmp_path)
    result = verify_bundle(
        chainloop_path("materials", name), certificate=cert, allow_expired_certificate=True, replay=True
    )
    assert result.signer.kind == "certificate"
    assert result.signer.identity.startswith("O=")
    assert result.signer.expired and "taken as given" in result.signer.notes[0]
    assert result.statement["predicateType"] == "chainloop.dev/attestation/v0.2"
    assert result.replay and all(r.status == "not-replayed" for r in result.replay)
    assert "control-plane reference" in result.replay[0].detail


def _reference_certificate(bundle: Path, tmp_path: Path) -> Path:
    """The bundle's own leaf certificate as a PEM file, for --certificate."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from crafter._internal.signing.keyless import signing_certificate

    target = tmp_path / "leaf.pem"
    target.write_bytes(signing_certificate(json.loads(bundle.read_text())).public_bytes(Encoding.PEM))
    return target


def test_reference_bundle_flipped_payload(tmp_path: Path) -> None:
    data = json.loads((chainloop_path("materials", "attestation-bundle.json")).read_text())
    payload = bytearray(base64.b64decode(data["dsseEnvelope"]["payload"]))
    payload[-3] ^= 0x01
    data["dsseEnvelope"]["payload"] = base64.b64encode(bytes(payload)).decode()
    (tmp_path / "b.json").write_text(json.dumps(data))
    with pytest.raises(SignatureError, match="public key of the bundle's certificate"):
        verify_bundle(tmp_path / "b.json")


def test_double_base64_signature_and_old_media_type(pipe: Pipeline, bundle: Path) -> None:
    data = pipe.bundle(bundle)
    sig = data["dsseEnvelope"]["signatures"][0]["sig"]
    data["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(sig.encode()).decode()
    data["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.3"
    pipe.verify(pipe.write("double.json", data)).check()


# -- tampering suite -------------------------------------------------------------------------------------
def test_tamper_payload_byte_flipped(pipe: Pipeline, bundle: Path) -> None:
    data = pipe.bundle(bundle)
    payload = bytearray(base64.b64decode(data["dsseEnvelope"]["payload"]))
    payload[len(payload) // 2] ^= 0x01
    data["dsseEnvelope"]["payload"] = base64.b64encode(bytes(payload)).decode()
    with pytest.raises(SignatureError, match="bad signature: no signature of the envelope verifies") as err:
        pipe.verify(pipe.write("flipped.json", data))
    assert err.value.exit_code == ExitCode.BAD_SIGNATURE


def test_tamper_signature_from_another_key(pipe: Pipeline, bundle: Path) -> None:
    other = pipe.resign(bundle, "other-key.json", lambda st: None, key=pipe.other_key)
    pipe.verify(other, pub=pipe.other_pub)  # genuine for its own key
    with pytest.raises(SignatureError, match="with the given public key"):
        pipe.verify(other)


def test_tamper_payload_type_changed(pipe: Pipeline, bundle: Path) -> None:
    data = pipe.bundle(bundle)
    data["dsseEnvelope"]["payloadType"] = "application/json"
    with pytest.raises(SignatureError, match="bad signature"):
        pipe.verify(pipe.write("ptype.json", data))
    # validly signed, but not an in-toto payload
    signer = load_signer(str(pipe.key), lambda: b"pw")
    payload = base64.b64decode(pipe.bundle(bundle)["dsseEnvelope"]["payload"])
    signed = sign_statement(payload, signer, payload_type="application/json")
    with pytest.raises(SignatureError, match="payload type is 'application/json'"):
        pipe.verify(pipe.write("ptype-signed.json", signed))


def test_tamper_signature_moved_between_bundles(pipe: Pipeline, bundle: Path) -> None:
    second = pipe.resign(bundle, "second.json", lambda st: st["predicate"].update(runnerType="GITHUB_ACTION"))
    data = pipe.bundle(bundle)
    data["dsseEnvelope"]["signatures"] = pipe.bundle(second)["dsseEnvelope"]["signatures"]
    with pytest.raises(SignatureError, match="bad signature"):
        pipe.verify(pipe.write("moved.json", data))


def test_tamper_truncated_json(pipe: Pipeline, bundle: Path) -> None:
    text = bundle.read_text()
    with pytest.raises(SignatureError, match="invalid JSON") as err:
        pipe.verify(pipe.write("truncated.json", text[: len(text) // 2]))
    assert err.value.exit_code == ExitCode.BAD_SIGNATURE


def test_tamper_material_digest_edited(pipe: Pipeline, bundle: Path) -> None:
    def edit(st: dict[str, Any]) -> dict[str, Any]:
        for m in st["predicate"]["materials"]:
            if m.get("name") == "sbom.cdx.json":
                m["digest"]["sha256"] = "f" * 64
        return st

    data = pipe.bundle(bundle)
    statement = edit(pipe.statement(bundle))
    data["dsseEnvelope"]["payload"] = base64.b64encode(serialize(statement)).decode()
    with pytest.raises(SignatureError, match="bad signature"):  # edited without the key
        pipe.verify(pipe.write("edited.json", data))
    resigned = pipe.resign(bundle, "edited-signed.json", edit)  # edited and signed again: the file disagrees
    with pytest.raises(DigestMismatchError, match=f"recorded sha256:{'f' * 64}"):
        pipe.verify(resigned, materials=[SBOM])


def test_tamper_bundle_for_another_subject(pipe: Pipeline, bundle: Path, tmp_path: Path) -> None:
    release = tmp_path / "hello-1.0.0.py"
    release.write_text(RELEASE.read_text() + "\n# another build\n")
    other = pipe.push("other-subject.json", release=release)
    with pytest.raises(DigestMismatchError) as err:
        pipe.verify(other, materials=[RELEASE])
    assert (
        "hello-1.0.0.py" in err.value.message
        and "digest mismatch for material 'release-file'" in err.value.message
    )


def test_tamper_statement_shape(pipe: Pipeline, bundle: Path) -> None:
    bad = pipe.resign(bundle, "shape.json", lambda st: st["predicate"].pop("builder"))
    with pytest.raises(
        SignatureError, match=r"not a valid chainloop\.dev/attestation/v0\.2 statement.*builder"
    ):
        pipe.verify(bad)


# -- CLI ------------------------------------------------------------------------------------------------
def test_cli_exit_codes(
    pipe: Pipeline, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = str(pipe.pub)
    assert main(["verify", str(bundle), "--key", key, "--material", str(SBOM), "--replay"]) == 0
    out = capsys.readouterr()
    assert "valid (public key)" in out.out and "cyclonedx-banned-licenses" in out.out
    assert main(["verify", str(bundle), "--key", key, "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["verified"] is True

    flipped = pipe.bundle(bundle)
    flipped["dsseEnvelope"]["payloadType"] = "text/plain"
    assert main(["verify", str(pipe.write("cli-bad.json", flipped)), "--key", key]) == 11
    wrong = tmp_path / "sbom.cdx.json"
    wrong.write_text("{}")
    assert main(["verify", str(bundle), "--key", key, "--material", str(wrong)]) == 12
    forged = pipe.resign(
        bundle,
        "cli-forged.json",
        lambda st: _evaluation(st, "sbom", "cyclonedx-banned-licenses").update(with_mit()),
    )
    assert main(["verify", str(forged), "--key", key, "--material", str(SBOM), "--replay"]) == 13
    assert main(["verify", str(bundle)]) == 2
    assert main(["verify", str(tmp_path / "missing.json"), "--key", key]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "bad signature" in err and "digest mismatch" in err and "replay differs" in err


def with_mit() -> dict[str, Any]:
    return {"with": {"licenses": "MIT"}}


def test_keyless_identity_and_issuer_options(tmp_path: Path) -> None:
    path = chainloop_path("materials", "attestation-bundle.json")
    cert = {"certificate": _reference_certificate(path, tmp_path), "allow_expired_certificate": True}
    signer = verify_bundle(path, **cert).signer
    same = verify_bundle(
        path, certificate_identity=signer.identity, certificate_oidc_issuer=signer.issuer, **cert
    )
    assert same.signer.identity == signer.identity
    with pytest.raises(SignatureError, match=r"not the expected 'someone@example\.com'"):
        verify_bundle(path, certificate_identity="someone@example.com", **cert)
    with pytest.raises(SignatureError, match=r"not the expected 'https://issuer\.example'"):
        verify_bundle(path, certificate_oidc_issuer="https://issuer.example", **cert)


def test_identity_options_refused_for_key_signed_bundles(pipe: Pipeline, bundle: Path) -> None:
    from crafter.errors import UsageError
    from crafter.signing.keys import public_key_from_pem

    with pytest.raises(UsageError, match="apply to keyless bundles"):
        verify_bundle(bundle, public_key=public_key_from_pem(pipe.pub), certificate_identity="x")


def test_attestation_policy_replay_rebuilds_the_exact_input(tmp_path: Path) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text(
        "schemaVersion: v1\n"
        "materials: [{name: sbom, type: SBOM_CYCLONEDX_JSON}]\n"
        "policies:\n"
        "  materials: [{ref: 'builtin://cyclonedx-banned-licenses', with: {licenses: MIT}}]\n"
        "  attestation: [{ref: 'builtin://attestation-git-and-runner'}]\n"
    )
    key, pub = generate_key_pair(tmp_path / "k", b"pw")
    c = Crafter(state_dir=tmp_path / "st", cwd=tmp_path, environ={"PATH": "/usr/bin:/bin"})
    c.init(contract=contract)
    c.add([str(SBOM)], name="sbom")
    bundle = c.push(key=str(key), password=b"pw", bundle=tmp_path / "b.json").bundle_path
    result = verify_bundle(bundle, public_key=public_key_from_pem(pub), materials=[SBOM], replay=True)
    outcomes = {(r.name, r.material): r for r in result.replay}
    attestation = outcomes[("attestation-git-and-runner", "")]
    assert attestation.status == "same"
    assert "approximately" not in attestation.detail
    assert outcomes[("cyclonedx-banned-licenses", "sbom")].status == "same"
