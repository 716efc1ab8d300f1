"""What ``push`` decides before and after signing: completeness, annotations, merged evaluations, gates."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from crafter._internal.contract import Contract
from crafter._internal.crafting_state import CraftingState
from crafter._internal.frozen import FrozenDict
from crafter._internal.policy_record import PolicyEvaluation, PolicyOutcome
from crafter.errors import IncompleteAttestationError, PolicyGateError, UsageError

log = logging.getLogger("crafter")

#: The signing key's password: the bytes, a callable returning them (or None), or None when there is none.
PasswordSource = bytes | Callable[[], bytes | None] | None


def _no_password() -> bytes | None:
    return None


@attrs.frozen
class SigningRequest:
    """How to sign: with a key (``key``: a path or ``SCHEME://...`` reference, and its ``password``), or
    keyless (Sigstore's production instance, ``staging``, or the private instance a ``trust_config`` file
    describes). Exactly one of ``key`` and ``keyless``; a bad combination is a :class:`UsageError` here, at
    construction, before anything is read or signed."""

    key: str | None = None
    keyless: bool = False
    staging: bool = False
    trust_config: Path | None = None
    password: PasswordSource = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.keyless == bool(self.key):
            raise UsageError("give exactly one of --key and --keyless")
        if (self.staging or self.trust_config) and not self.keyless:
            raise UsageError("--staging and --trust-config go with --keyless")
        if self.staging and self.trust_config:
            raise UsageError("--staging and --trust-config are mutually exclusive")

    def reference(self) -> str:
        """The key reference signers are chosen by: ``key`` as given, or a ``keyless://`` reference."""
        if self.key:
            return self.key
        from crafter._internal.signing.keyless import keyless_reference

        trust = self.trust_config.absolute() if self.trust_config else None
        return keyless_reference(staging=self.staging, trust_config=trust)

    def password_provider(self) -> Callable[[], bytes | None]:
        """The password as a callable, called only for a key that needs one (never for keyless)."""
        password = self.password
        if password is None:
            return _no_password
        if callable(password):
            return password
        return lambda: password


def _annotations(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return FrozenDict(value or {})  # a frozen request is hashable and cannot change under the push


def _references(value: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError("stores: a sequence of store references, not one string")
    return tuple(value)


@attrs.frozen
class PushRequest:
    """Everything ``push`` needs, decided by the library (:meth:`crafter.Crafter.push`): how to sign, where
    the bundle goes (``bundle``: a file, or a directory for ``<statement digest hex>.sigstore.json``;
    default ``attestation-<id>.sigstore.json`` in the working directory), the bundle stores it is copied to,
    by reference (a path, ``oci://REGISTRY/REPO[:TAG|@DIGEST]``, or a plugin's scheme; ``insecure``: plain
    HTTP to a registry), an RFC 3161 timestamp authority's URL, annotations, and the policy gate's bypass."""

    signing: SigningRequest = attrs.field(validator=attrs.validators.instance_of(SigningRequest))
    bundle: Path | None = None
    stores: tuple[str, ...] = attrs.field(default=(), converter=_references)
    insecure: bool = False
    timestamp_server: str | None = None
    annotations: Mapping[str, str] = attrs.field(default=None, converter=_annotations)
    attestation_id: str | None = None
    bypass_policy_check: bool = False

    @stores.validator
    def _check_stores(self, _attribute: Any, value: tuple[str, ...]) -> None:
        for reference in value:
            if not isinstance(reference, str) or not reference:
                raise UsageError(f"invalid bundle store reference {reference!r}")


@attrs.frozen
class PushResult:
    attestation_id: str
    bundle_path: Path
    statement: Mapping[str, Any]
    payload_digest: str  # "sha256:<hex>" of the signed statement bytes
    evaluations: tuple[PolicyEvaluation, ...] = ()
    gate_failures: tuple[str, ...] = ()  # gated policies with violations (the bundle is written anyway)
    bypassed: bool = False  # --exception-bypass-policy-check: gates reported, not enforced
    stored: tuple[str, ...] = ()  # where the bundle was copied besides bundle_path (e.g. oci://...)
    payload: bytes = attrs.field(default=b"", repr=False)  # the exact signed bytes (payload_digest is theirs)

    def gate_error(self) -> PolicyGateError | None:
        """The :class:`PolicyGateError` (exit code 4, this result attached) when a gated policy has violations
        and the check was not bypassed; else None."""
        if not self.gate_failures or self.bypassed:
            return None
        names = ", ".join(f'"{n}"' for n in self.gate_failures)
        return PolicyGateError(
            f"the policy {names} is configured as a gate and has violations"
            if len(self.gate_failures) == 1
            else f"the policies {names} are configured as gates and have violations",
            hint=f"the signed bundle was written to {self.bundle_path}; "
            "--exception-bypass-policy-check lets the release go on, recorded in the predicate",
            result=self,
        )

    def check_gates(self) -> None:
        """Raise :meth:`gate_error` if there is one, each time it is called (``Crafter.push`` already raised it)."""
        error = self.gate_error()
        if error is not None:
            raise error


def push_annotations(state: CraftingState, contract: Contract, given: Mapping[str, str]) -> dict[str, str]:
    merged = {a.name: a.value for a in contract.annotations}
    for k, v in state.attestation.annotations.items():
        if not merged.get(k):
            merged[k] = v
    for k, v in given.items():
        if merged.get(k):
            log.info("contract annotation %s can't be changed, skipping", k)
        else:
            merged[k] = v
    missing = sorted(k for k, v in merged.items() if not v)
    if missing:
        raise IncompleteAttestationError(
            f"annotations {missing} required", hint="give them with crafter push --annotation KEY=VALUE"
        )
    return merged


def check_complete(state: CraftingState, contract: Contract) -> None:
    """Every required material present, and at least one member of each group (reference section 6.4)."""
    present = state.attestation.materials
    missing = [m.name for m in contract.materials if m.required and m.name not in present]
    groups: dict[str, list[str]] = {}
    for m in contract.materials:
        if m.group:
            groups.setdefault(m.group, []).append(m.name)
    problems = []
    if missing:
        problems.append("some materials have not been crafted yet: " + ", ".join(missing))
    for group, members in groups.items():
        if not any(n in present for n in members):
            problems.append(f'at least one material from group "{group}" is required: ' + ", ".join(members))
    if problems:
        raise IncompleteAttestationError(
            "; ".join(problems),
            hint="add them with crafter add --name NAME --value VALUE; nothing was signed",
        )


def gate_failures(evaluations: Sequence[PolicyEvaluation], *, block_on_violation: bool = False) -> list[str]:
    """Names of the policies whose violations block the release: gated ones, and every one when the strategy
    is ENFORCED (:class:`~crafter._internal.policy_record.PolicyOutcome`, the rule the predicate states too)."""

    return list(PolicyOutcome.of(evaluations, block_on_violation=block_on_violation).gate_failures)


def merge_statement_evaluations(
    stored: Sequence[PolicyEvaluation], pushed: Sequence[PolicyEvaluation]
) -> tuple[PolicyEvaluation, ...]:
    """Material evaluations, INIT-phase statement evaluations not re-run at push, then the PUSH ones."""

    def key(e: PolicyEvaluation) -> tuple[str, str, frozenset[tuple[str, str]]]:
        return (e.reference.name, e.reference.uri, frozenset(e.with_.items()))

    again = {key(e) for e in pushed}
    kept = tuple(e for e in stored if e.material_name or key(e) not in again)
    return kept + tuple(pushed)
