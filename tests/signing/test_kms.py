"""KMS references: cosign spellings translated, malformed ones and missing extras reported."""

from __future__ import annotations

import importlib.util

import pytest

from crafter._internal.signing import load_signer
from crafter._internal.signing.kms import KmsReference, parse_kms_reference
from crafter.errors import SigningError


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("awskms:///1234abcd-12ab-34cd", KmsReference("awskms", "1234abcd-12ab-34cd")),
        ("awskms:///alias/release", KmsReference("awskms", "alias/release")),
        (
            "awskms:///arn:aws:kms:eu-west-1:111122223333:key/k1",
            KmsReference("awskms", "arn:aws:kms:eu-west-1:111122223333:key/k1"),
        ),
        ("awskms://localhost:4566/alias/x", KmsReference("awskms", "alias/x", "https://localhost:4566")),
        (
            "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
            KmsReference("gcpkms", "projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1"),
        ),
        (
            "azurekms://myvault.vault.azure.net/release",
            KmsReference("azurekms", "myvault.vault.azure.net/release"),
        ),
        ("hashivault://release", KmsReference("hashivault", "release")),
    ],
)
def test_parse(ref: str, expected: KmsReference) -> None:
    assert parse_kms_reference(ref) == expected


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("awskms://", "invalid AWS KMS reference"),
        ("awskms://host-only", "invalid AWS KMS reference"),
        ("gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "invalid GCP KMS reference"),
        ("azurekms://vault-only", "invalid Azure Key Vault reference"),
        ("hashivault://", "invalid HashiCorp Vault reference"),
        ("hashivault://a/b", "invalid HashiCorp Vault reference"),
    ],
)
def test_malformed(ref: str, message: str) -> None:
    with pytest.raises(SigningError, match=message):
        load_signer(ref, lambda: None)


@pytest.mark.parametrize(
    ("ref", "extra", "module"),
    [
        (
            "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
            "gcp",
            "google.cloud.kms",
        ),
        ("azurekms://v.vault.azure.net/k", "azure", "azure.identity"),
        ("hashivault://k", "vault", "hvac"),
        ("awskms:///alias/k", "aws", "boto3"),
    ],
)
def test_missing_extra_is_named(ref: str, extra: str, module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def hide(name: str, *args: object) -> object:
        return None if name == module else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", hide)
    with pytest.raises(SigningError, match="which is not installed") as info:
        load_signer(ref, lambda: None)
    assert info.value.hint == f"install the {extra} extra: pip install 'crafter-attest[{extra}]'"
