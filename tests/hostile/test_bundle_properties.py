"""Whatever a bundle producer writes, ``crafter verify`` ends with a documented error, never an internal one:
valid bundles (key-signed, keyless from the conformance suite, message signatures) with any one field
replaced by any JSON value, and arbitrary bytes as a bundle file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crafter._internal.signing import PrivateKeySigner, sign_statement
from crafter._internal.trust import TrustRoot
from crafter.errors import CrafterError
from crafter.verify import verify_bundle
from crafter.verify.keyless import KeylessPolicy
from tests.hostile.mutations import JSON, paths, replaced
from tests.verify.conformance import IDENTITY, ISSUER, SUITE, case_dir

KEY = ec.generate_private_key(ec.SECP256R1())
STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "a.txt", "digest": {"sha256": "ab" * 32}}],
    "predicateType": "https://slsa.dev/provenance/v1",
    "predicate": {"buildDefinition": {"buildType": "x"}},
}


def _verify_ends_cleanly(path: Path, **kwargs: Any) -> None:
    """Verification returns, or raises a CrafterError with a one-line message and a documented exit code;
    any other exception fails the test."""
    error: CrafterError | None = None
    try:
        verify_bundle(path, **kwargs)
    except CrafterError as exc:
        error = exc
    if error is not None:
        assert error.message and "\n" not in error.message
        assert 1 <= int(error.exit_code) <= 20


KEY_BUNDLE = sign_statement(json.dumps(STATEMENT).encode(), PrivateKeySigner(KEY))
KEY_PATHS = paths(KEY_BUNDLE)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(KEY_PATHS), value=JSON)
def test_key_bundle_with_any_fieldreplaced(tmp_path: Path, where: tuple[Any, ...], value: Any) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(replaced(KEY_BUNDLE, where, value)))
    _verify_ends_cleanly(path, public_key=KEY.public_key(), materials=[f"sha256:{'ab' * 32}"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_any_bytes_as_a_bundle(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(data)
    _verify_ends_cleanly(path, public_key=KEY.public_key())


@pytest.fixture(
    scope="module",
    params=["rekor2-happy-path", "rekor2-dsse-happy-path", "happy-path-v0.1", "happy-path-intoto-in-dsse-v3"],
)
def keyless_case(request: pytest.FixtureRequest) -> tuple[dict[str, Any], KeylessPolicy]:
    """A valid keyless bundle of the conformance suite (Rekor v2 message and DSSE, Rekor v1 v0.1 message and
    DSSE) and the policy it verifies under."""
    case = case_dir(request.param)
    bundle = json.loads((case / "bundle.sigstore.json").read_text())
    root_file = case / "trusted_root.json"
    root = TrustRoot.from_trusted_root_file(root_file) if root_file.exists() else None
    return bundle, KeylessPolicy(trust_root=root, identity=IDENTITY, issuer=ISSUER)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_keyless_bundle_with_any_fieldreplaced(
    tmp_path: Path, keyless_case: tuple[dict[str, Any], KeylessPolicy], data: st.DataObject
) -> None:
    bundle, policy = keyless_case
    where = data.draw(st.sampled_from(paths(bundle)))
    value = data.draw(JSON)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(replaced(bundle, where, value)))
    _verify_ends_cleanly(path, keyless=policy, materials=[SUITE / "a.txt"])


@pytest.fixture(scope="module")
def trusted_root() -> dict[str, Any]:
    return dict(json.loads((case_dir("rekor2-happy-path") / "trusted_root.json").read_text()))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_trust_root_with_any_fieldreplaced(
    tmp_path: Path, trusted_root: dict[str, Any], data: st.DataObject
) -> None:
    """A trust root file is the verifier's own input, but often downloaded: any field of any type is read
    into a trust root or refused as a usage error naming the file."""
    where = data.draw(st.sampled_from(paths(trusted_root)))
    path = tmp_path / "root.json"
    path.write_text(json.dumps(replaced(trusted_root, where, data.draw(JSON))))
    error: CrafterError | None = None
    try:
        TrustRoot.from_trusted_root_file(path)
    except CrafterError as exc:
        error = exc
    if error is not None:
        assert int(error.exit_code) == 2 and error.message.startswith(f"trusted root {path}: ")
        assert "\n" not in error.message
