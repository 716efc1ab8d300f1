"""``VerifierOptions``: how policies are evaluated. Kept apart from the verifier so that building the options
(every CLI command does) imports nothing of the policy machinery."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from crafter._internal.http import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from crafter._internal.policies.engines.interface import Limits
    from crafter._internal.policies.spec import Attachment


@attrs.frozen
class VerifierOptions:
    """How policies are evaluated (CLI: --policy-timeout, --policy-input, --enforce, --rego-backend) and
    fetched (``http_timeout``: the deadline of each download of a remote policy, --http-timeout)."""

    timeout: float = 60.0
    memory_bytes: int = 1 << 30  # address space a Rego worker may add
    wasm_memory_bytes: int = 256 << 20  # linear memory (with input and output) of one WASM evaluation
    allowed_hosts: tuple[str, ...] = ()  # hosts every policy may reach over HTTP (WASM); none by default
    enforce: bool = False  # gate every attachment not explicitly marked gate: false
    rego_backend: str = "regopy"
    runtime_inputs: Mapping[str, str] = attrs.field(factory=dict)
    max_workers: int = 0  # 0: the number of cores
    cache_dir: Path | None = None  # remote policy cache
    http_timeout: float = DEFAULT_TIMEOUT  # seconds for each remote policy download

    def limits(self, attachment: Attachment | None = None) -> Limits:
        """The limits of one evaluation: the attachment's timeout wins; its allowed hosts add to ours."""
        from crafter._internal.policies.engines.interface import Limits

        extra = attachment.allowed_hosts if attachment else ()
        return Limits(
            timeout=(attachment.timeout if attachment else None) or self.timeout,
            memory_bytes=self.memory_bytes,
            allowed_hosts=tuple(dict.fromkeys((*self.allowed_hosts, *extra))),
        )
