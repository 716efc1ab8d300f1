"""Keys for the signing tests: generated once per session (RSA generation is the slow part); and AWS KMS on
moto in server mode on 127.0.0.1, with the DIGEST patch (kms_digest_patch.py), for the KMS tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from tests.signing._helpers import KEY_DETAILS, generate


@pytest.fixture(scope="session")
def private_keys() -> dict[str, PrivateKeyTypes]:
    return {name: generate(name) for name in KEY_DETAILS}


@pytest.fixture(params=sorted(KEY_DETAILS))
def key_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def kms_endpoint() -> Iterator[str]:
    """A moto KMS server on 127.0.0.1 (one per session); skips without moto or when the patch no longer fits."""
    pytest.importorskip("moto.server")
    from moto.server import ThreadedMotoServer

    from tests.signing import kms_digest_patch

    if not kms_digest_patch.APPLIED:  # pragma: no cover
        pytest.skip("moto's KMS internals changed; the DIGEST patch no longer applies")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def kms(kms_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A boto3 KMS client for the moto server, with the AWS environment pointing every client there."""
    boto3 = pytest.importorskip("boto3")
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_KMS": kms_endpoint,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return boto3.client("kms")
