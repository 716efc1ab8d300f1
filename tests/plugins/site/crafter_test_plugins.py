"""A distribution with one plugin of each crafter family (a signer, a bundle store, a content store) and
plugins that raise ValueError, installed by tests/plugins/conftest.py through its ``.dist-info``.

The stores keep what they are given in this module's memory, by location, so a test can look.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from crafter.plugin import (
    Args,
    ContentNotFoundError,
    ContentStore,
    EngineResult,
    KeyContext,
    Limits,
    PolicyEngine,
    PrivateKeySigner,
    Script,
    Store,
    StoreContext,
    StoreError,
)

#: memkey://NAME: one EC P-256 key per name, made on first use.
KEYS: dict[str, ec.EllipticCurvePrivateKey] = {}
#: mem://NAME bundle stores: the bundles put, oldest first.
BUNDLES: dict[str, list[bytes]] = {}
#: mem://NAME content stores: bytes by digest.
CONTENTS: dict[str, dict[str, bytes]] = {}


def memory_signer(ref: str, context: KeyContext) -> PrivateKeySigner:
    name = ref.partition("://")[2]
    if not name:
        raise ValueError("memkey:// needs a key name")
    return PrivateKeySigner(KEYS.setdefault(name, ec.generate_private_key(ec.SECP256R1())))


def failing_signer(ref: str, context: KeyContext) -> PrivateKeySigner:
    raise ValueError("no such key in the test keyring")


class _FailingToSign(PrivateKeySigner):
    def sign(self, data: bytes) -> bytes:
        raise ValueError("the test device is unplugged")


def signer_failing_to_sign(ref: str, context: KeyContext) -> PrivateKeySigner:
    return _FailingToSign(ec.generate_private_key(ec.SECP256R1()))


class MemoryStore(Store):
    def __init__(self, reference: str, context: StoreContext) -> None:
        self.name = reference.partition("://")[2]

    def put(self, bundle: bytes, *, statement_digest: str) -> str:
        BUNDLES.setdefault(self.name, []).append(bundle)
        return f"mem://{self.name}/{statement_digest}"

    def get(self) -> bytes:
        found = BUNDLES.get(self.name)
        if not found:
            raise StoreError(f"mem://{self.name}: no bundle")
        return found[-1]


class FailingStore(Store):
    def __init__(self, reference: str, context: StoreContext) -> None:
        pass

    def put(self, bundle: bytes, *, statement_digest: str) -> str:
        raise ValueError("the test bucket is read-only")

    def get(self) -> bytes:
        raise ValueError("the test bucket is empty")


class MemoryContentStore(ContentStore):
    def __init__(self, reference: str, context: StoreContext) -> None:
        self.name = reference.partition("://")[2]
        self.blobs = CONTENTS.setdefault(self.name, {})

    def upload(self, digest: str, path: Path) -> None:
        self.blobs[digest] = path.read_bytes()

    def download(self, digest: str) -> bytes:
        if digest not in self.blobs:
            raise ContentNotFoundError(f"{digest} is not in mem://{self.name}")
        data = self.blobs[digest]
        assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
        return data

    def location(self) -> str:
        return f"mem://{self.name}"


class FailingContentStore(MemoryContentStore):
    def upload(self, digest: str, path: Path) -> None:
        raise ValueError("the test bucket is read-only")


class FailingEngine(PolicyEngine):
    name = "fail"

    def evaluate(self, script: Script, input_json: bytes, args: Args, limits: Limits) -> EngineResult:
        raise ValueError("the test engine cannot read " + script.policy)
