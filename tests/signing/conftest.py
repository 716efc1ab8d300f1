"""Keys for the signing tests: generated once per session (RSA generation is the slow part)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from tests.signing._helpers import KEY_DETAILS, generate


@pytest.fixture(scope="session")
def private_keys() -> dict[str, PrivateKeyTypes]:
    return {name: generate(name) for name in KEY_DETAILS}


@pytest.fixture(params=sorted(KEY_DETAILS))
def key_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)
