"""The report of one bundle, as data: what verification found and what the statement says, ready to render.

Every string here may come from the bundle's producer (names, annotations, violations, even the signer's
identity): the renderers escape all of them. :mod:`crafter._internal.report.build` makes a :class:`Report`.
"""

from __future__ import annotations

import attrs

#: A labelled value: one row of a key-value list.
Field = tuple[str, str]


@attrs.frozen
class Check:
    """One verification check: ``passed``, ``failed``, ``not run`` or ``warning``, and what it found."""

    name: str
    status: str
    detail: str = ""


@attrs.frozen
class Subject:
    name: str
    digest: str


@attrs.frozen
class Material:
    """A Chainloop material: its name in the contract, kind, value (file name, image, string), digest, size
    in bytes ("" when not recorded) and the other annotations."""

    name: str
    kind: str
    value: str
    digest: str
    size: str = ""
    annotations: tuple[Field, ...] = ()


@attrs.frozen
class Violation:
    subject: str
    message: str


@attrs.frozen
class Evaluation:
    """One recorded policy evaluation. ``status``: ``passed``, ``violated`` or ``skipped``; ``gate``:
    ``held`` (gated, no violation), ``failed`` (gated, violated) or ``""`` (advisory)."""

    policy: str
    material: str  # "" for an evaluation of the whole attestation
    status: str
    gate: str = ""
    reference: str = ""  # the policy's URI and digest
    description: str = ""
    violations: tuple[Violation, ...] = ()
    skip_reasons: tuple[str, ...] = ()


@attrs.frozen
class PolicySummary:
    """Chainloop's summary of the evaluations (``PASSED``, ``WARNING``, ``BLOCKED``, ...) and its counters."""

    status: str
    strategy: str
    evaluations: int
    violations: int
    skipped: int
    passed: int
    blocked: bool


@attrs.frozen
class Replay:
    policy: str
    material: str
    status: str  # same, differs, not-replayed
    detail: str = ""


@attrs.frozen
class Chainloop:
    """The sections only a Chainloop predicate (``chainloop.dev/attestation/v0.2``) has."""

    workflow: tuple[Field, ...]
    materials: tuple[Material, ...]
    policy: PolicySummary
    evaluations: tuple[Evaluation, ...]
    runner: tuple[Field, ...]  # runner type, URL, environment
    env: tuple[Field, ...]  # the recorded environment variables
    git: tuple[Field, ...]  # the git.head subject: commit, branch, dirty, author, date, message, remotes
    annotations: tuple[Field, ...]


@attrs.frozen
class Report:
    """What verification of ``bundle`` found at ``generated_at``, and what the statement says.

    ``verified`` and ``exit_code`` are verify's (0 when every check passed). ``failure`` and ``hint`` say
    why it failed. ``attested`` is false when the signature did not verify: the contents shown are then the
    producer's claim, read from the bundle without proof (none when it could not be read).
    """

    bundle: str
    generated_at: str
    tool: str
    verified: bool
    exit_code: int
    failure: str = ""
    hint: str = ""
    attested: bool = True
    kind: str = ""  # Sigstore bundle, DSSE envelope, message signature
    predicate_type: str = ""
    payload_digest: str = ""
    checks: tuple[Check, ...] = ()
    signer: tuple[Field, ...] = ()
    times: tuple[Field, ...] = ()
    subjects: tuple[Subject, ...] = ()
    replay: tuple[Replay, ...] = ()
    notes: tuple[str, ...] = ()
    chainloop: Chainloop | None = None
