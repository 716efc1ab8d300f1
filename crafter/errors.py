"""One error hierarchy for the whole library.

Every error a user can cause carries a one-line message, an optional hint and the exit code the CLI returns.
The CLI catches :class:`CrafterError` in one place and renders it; anything else is a bug.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crafter._internal.push_rules import PushResult


class ExitCode(IntEnum):
    """The published exit codes of the ``crafter`` command (see docs/cli.md)."""

    OK = 0
    ERROR = 1  # any user error not listed below
    USAGE = 2  # bad command-line usage (also click's own code)
    STATE = 3  # missing, corrupt or foreign state file; attestation not initialised
    POLICY_GATE = 4  # a gated policy has violations (kept from Chainloop)
    CONTRACT = 5  # contract cannot be loaded or is invalid
    MATERIAL = 6  # a material value does not match its kind
    INCOMPLETE = 7  # required materials or annotations missing at push
    SIGNING = 8  # key cannot be loaded or signing failed
    RUNNER = 9  # runner / environment requirements of the contract not met
    POLICY = 10  # a policy cannot be loaded, or its evaluation failed (timeout, memory, error in the policy)
    # verify: not genuine (signature, payload type, malformed bundle or statement, an untrusted keyless
    # certificate, a timestamp not over the signature or not verifying)
    BAD_SIGNATURE = 11
    DIGEST_MISMATCH = 12  # verify: a --material file or --cas content does not match the recorded digests
    REPLAY_DIFFERENCE = 13  # verify --replay: a policy gives another result than the recorded one
    MERGE_CONFLICT = 14  # merge: one material name recorded with different digests (nothing is merged)
    STORE = 20  # a store or registry cannot be reached, refuses the credentials, or lacks what was asked for


class CrafterError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR
    #: What the failed operation produced, for reporting (a verify or push result), where there is one.
    result: object = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(CrafterError):
    exit_code = ExitCode.USAGE


class StateError(CrafterError):
    exit_code = ExitCode.STATE


class ContractError(CrafterError):
    exit_code = ExitCode.CONTRACT


class MaterialError(CrafterError):
    exit_code = ExitCode.MATERIAL


class IncompleteAttestationError(CrafterError):
    exit_code = ExitCode.INCOMPLETE


class SigningError(CrafterError):
    exit_code = ExitCode.SIGNING


class RunnerError(CrafterError):
    exit_code = ExitCode.RUNNER


class PolicyGateError(CrafterError):
    """A gated policy has violations. Raised by ``Crafter.push`` after the signed bundle is written and stored,
    with the whole :class:`~crafter.PushResult` as ``result`` (bundle path, digest, evaluations)."""

    exit_code = ExitCode.POLICY_GATE
    result: PushResult | None

    def __init__(self, message: str, *, hint: str | None = None, result: PushResult | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


class PolicyError(CrafterError):
    """A policy cannot be loaded or parsed, or its evaluation failed."""

    exit_code = ExitCode.POLICY


class SignatureError(CrafterError):
    """``verify``: the bundle is not genuine: bad signature, wrong payload type, malformed bundle or statement,
    a keyless certificate the trust root does not vouch for, a timestamp that is not over the signature."""

    exit_code = ExitCode.BAD_SIGNATURE


class DigestMismatchError(CrafterError):
    """``verify --material`` / ``--cas``: a file or fetched content does not match the digest recorded."""

    exit_code = ExitCode.DIGEST_MISMATCH


class ReplayDifferenceError(CrafterError):
    """``verify --replay``: a policy evaluation gives another result than the one recorded."""

    exit_code = ExitCode.REPLAY_DIFFERENCE
