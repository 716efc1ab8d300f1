"""Registries load nothing early: a key or store reference imports its backend only when it names it, and an
installed plugin only when its scheme is asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.plugins.conftest import SITE

CHECK = """
import sys
from crafter._internal.signing.keys import load_signer
from crafter.storage import bundle_store, content_store
load_signer(sys.argv[1], lambda: None)
bundle_store(sys.argv[2])
content_store(sys.argv[2])
heavy = ["boto3", "securesystemslib", "crafter._internal.signing.kms", "crafter._internal.signing.keyless", "crafter._internal.storage.oci",
         "crafter_test_plugins"]
print(",".join(m for m in heavy if m in sys.modules))
"""


def test_using_a_key_file_and_a_directory_imports_no_backend_and_no_plugin(tmp_path: Path) -> None:
    plain = tmp_path / "plain.key"
    plain.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    env = {"PYTHONPATH": f"{SITE}:{Path.cwd()}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", CHECK, str(plain), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == ""
