"""Fixture cases for policies: ``<policy>/tests/<case>.yaml`` files, run through the verifier and checked.

A case names the document to evaluate (a material file, or an in-toto statement), the arguments and the
evaluation time, and what the evaluation must give (docs/policies/testing.md)::

    material: sbom.cdx.json          # or  statement: statement.json   (paths relative to the case file)
    kind: SBOM_CYCLONEDX_JSON        # optional: detected from the material otherwise
    args: {licenses: "GPL-3.0-only"} # optional: the attachment's ``with``
    evaluation_time: "2026-11-15T12:00:00Z"   # optional: the verifier's clock otherwise
    strict: false                    # optional: accept a material failing its schema (--no-strict-validation)
    expect:
      skipped: false                 # default false
      violations: 1                  # a count, or the exact messages in order; default 0
      skip_reason_contains: "..."    # optional

Cases go through :func:`crafter._internal.policies.verifier.evaluate_policy`, so they exercise the same loading,
arguments, input document and engine as an attestation does, whatever the policy's engine.

A case file, like the statement it names, is read as a document loaded by reference: errors about it give the
line and the kind of the problem, and name only the case format's own keys (docs/security.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from crafter._internal.redaction import LineOf, Redaction, unknown_key
from crafter.errors import CrafterError, PolicyError

if TYPE_CHECKING:
    from crafter._internal.policies.options import VerifierOptions
    from crafter._internal.policy_record import PolicyEvaluation

POLICY_FILE = "policy.yaml"
CASES_DIR = "tests"
_CASE_KEYS = {"material", "statement", "kind", "args", "evaluation_time", "expect", "description", "strict"}
_EXPECT_KEYS = {"skipped", "violations", "skip_reason_contains"}
_NAMES = frozenset(_CASE_KEYS | _EXPECT_KEYS)  # the keys errors about a case file may name


@attrs.frozen
class Expectation:
    """What a case requires of the evaluation."""

    skipped: bool = False
    violations: int | tuple[str, ...] = 0  # a count, or the exact messages in order
    skip_reason_contains: str = ""

    def differences(self, evaluation: PolicyEvaluation) -> list[str]:
        """What the evaluation does differently from this expectation (empty when it matches)."""
        found: list[str] = []
        if evaluation.skipped != self.skipped:
            reasons = "; ".join(evaluation.skip_reasons)
            found.append(
                f"skipped: expected {str(self.skipped).lower()}, got {str(evaluation.skipped).lower()}"
                + (f" ({reasons})" if reasons else "")
            )
        messages = [v.message for v in evaluation.violations]
        if isinstance(self.violations, int):
            if len(messages) != self.violations:
                found.append(f"violations: expected {self.violations}, got {len(messages)}: {messages}")
        elif list(self.violations) != messages:
            missing = [m for m in self.violations if m not in messages]
            extra = [m for m in messages if m not in self.violations]
            detail = ", ".join(
                part
                for part in (
                    f"missing {missing}" if missing else "",
                    f"unexpected {extra}" if extra else "",
                    "same messages in another order" if not missing and not extra else "",
                )
                if part
            )
            found.append(f"violations: expected {list(self.violations)}, got {messages} ({detail})")
        if self.skip_reason_contains and not any(
            self.skip_reason_contains in reason for reason in evaluation.skip_reasons
        ):
            found.append(
                f"skip reason: expected one containing {self.skip_reason_contains!r}, "
                f"got {list(evaluation.skip_reasons)}"
            )
        return found


@attrs.frozen
class Case:
    """One fixture case, read and checked from its file."""

    name: str  # "<policy directory>/<case file stem>"
    path: Path
    policy: Path  # the policy.yaml the case belongs to
    expect: Expectation
    material: Path | None = None
    statement: Path | None = None
    kind: str | None = None
    args: Mapping[str, str] = attrs.field(factory=dict)
    evaluation_time: str | None = None
    strict: bool = True

    @classmethod
    def from_file(cls, path: Path) -> Case:
        """Read a case file; a malformed one raises :class:`PolicyError` naming the file and the problem."""
        from crafter._internal.document_reader import (  # bounded; YAML 1.2 booleans
            MAX_DOCUMENT_BYTES,
            KeyLines,
            load_yaml,
        )
        from crafter._internal.files import read_small_file  # a regular file only, capped

        data = read_small_file(path, what="test case", limit=MAX_DOCUMENT_BYTES, error=PolicyError)
        lines = KeyLines(data)
        raw = load_yaml(data, f"{path}: invalid test case", PolicyError, redaction=Redaction(_NAMES, lines))
        return cls.from_dict(raw, path, lines=lines)

    @classmethod
    def from_dict(cls, raw: object, path: Path, *, lines: LineOf | None = None) -> Case:
        """A case from its parsed file; ``lines`` (:class:`~crafter._internal.document_reader.KeyLines`) gives errors a line.
        Errors name the case format's own keys only, never the file's other keys or values."""

        def bad(message: str) -> PolicyError:
            return PolicyError(f"{path}: invalid test case: {message}", hint="see docs/policies/testing.md")

        if not isinstance(raw, Mapping):
            raise bad("expected a mapping")
        redact = Redaction(_NAMES, lines)
        unknown = [k for k in raw if k not in _CASE_KEYS]
        if unknown:
            raise _unknown_key(path, redact, (), unknown[0], _CASE_KEYS)
        base = path.parent.resolve()
        documents = [k for k in ("material", "statement") if raw.get(k) is not None]
        if len(documents) != 1:
            raise bad("give exactly one of material or statement")
        doc_key = documents[0]
        doc_value = raw[doc_key]
        if not isinstance(doc_value, str) or not doc_value:
            raise bad(f"{doc_key} must be a file name")
        kind = raw.get("kind")
        if kind is not None and (not isinstance(kind, str) or not kind):
            raise bad("kind must be a material kind name")
        args = raw.get("args") or {}
        if not isinstance(args, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in args.items()
        ):
            raise bad('args must map names to strings (quote numbers: min_tests: "3")')
        when = raw.get("evaluation_time")
        if when is not None and not isinstance(when, str):
            raise bad('evaluation_time must be a string (quote it: "2026-11-15T12:00:00Z")')
        strict = raw.get("strict", True)
        if not isinstance(strict, bool):
            raise bad("strict must be true or false")
        return cls(
            name=f"{_policy_dir(path).name}/{path.stem}",
            path=path,
            policy=_policy_dir(path).resolve() / POLICY_FILE,
            expect=_expectation(raw.get("expect"), bad, path, redact),
            material=base / doc_value if doc_key == "material" else None,
            statement=base / doc_value if doc_key == "statement" else None,
            kind=kind.upper() if kind else None,
            args=dict(args),
            evaluation_time=when,
            strict=strict,
        )

    def evaluate(self, options: VerifierOptions | None = None) -> PolicyEvaluation | None:
        """Evaluate the case's policy on its document, as ``crafter policy eval`` does."""
        from crafter._internal.policies.verifier import evaluate_policy

        statement = None
        if self.statement is not None:
            statement = _read_statement(self.statement)
        elif self.material is not None and not self.material.is_file():
            # Checked here: crafting would take a missing path for a STRING material and evaluate nothing.
            raise PolicyError(f"{self.path}: material file not found: {self.material}")
        return evaluate_policy(
            str(self.policy),
            material=str(self.material) if self.material is not None else None,
            kind=self.kind,
            statement=statement,
            args=self.args,
            options=options,
            cwd=self.path.parent,
            evaluation_time=self.evaluation_time,
            strict=self.strict,
        )


def _unknown_key(
    path: Path, redact: Redaction, at: tuple[str, ...], key: object, allowed: set[str]
) -> PolicyError:
    """An unknown key of a case file, by its line: the key itself is not quoted (the file may be any file)."""
    line = redact.line_of((*at, key)) if isinstance(key, str) else None
    return PolicyError(
        f"{path}: invalid test case: {unknown_key(redact, at, line)}",
        hint="allowed keys here: " + ", ".join(sorted(allowed)) + "; see docs/policies/testing.md",
    )


def _expectation(raw: object, bad: Any, path: Path, redact: Redaction) -> Expectation:
    if raw is None:
        raise bad("expect is required")
    if not isinstance(raw, Mapping):
        raise bad("expect must be a mapping")
    unknown = [k for k in raw if k not in _EXPECT_KEYS]
    if unknown:
        raise _unknown_key(path, redact, ("expect",), unknown[0], _EXPECT_KEYS)
    skipped = raw.get("skipped", False)
    if not isinstance(skipped, bool):
        raise bad("expect.skipped must be true or false")
    violations = raw.get("violations", 0)
    if isinstance(violations, bool) or not isinstance(violations, int | list):
        raise bad("expect.violations must be a count or a list of messages")
    if isinstance(violations, int) and violations < 0:
        raise bad("expect.violations must not be negative")
    if isinstance(violations, list) and not all(isinstance(m, str) for m in violations):
        raise bad("expect.violations must list messages as strings")
    contains = raw.get("skip_reason_contains", "")
    if not isinstance(contains, str):
        raise bad("expect.skip_reason_contains must be a string")
    return Expectation(
        skipped=skipped,
        violations=violations if isinstance(violations, int) else tuple(violations),
        skip_reason_contains=contains,
    )


def _policy_dir(case_path: Path) -> Path:
    """The policy directory of ``<policy>/tests/<case>.yaml``."""
    return case_path.parent.parent


def _read_statement(path: Path) -> Mapping[str, Any]:
    from crafter._internal.document_reader import load_json  # nesting bounded, duplicate keys refused
    from crafter._internal.files import read_small_file  # a regular file only, capped
    from crafter._internal.materials.fileio import MAX_PARSED_BYTES

    raw = read_small_file(path, what="statement", limit=MAX_PARSED_BYTES, error=PolicyError)
    data = load_json(raw, f"{path}: statement", PolicyError, redaction=Redaction())
    if not isinstance(data, Mapping):
        raise PolicyError(f"{path}: statement is not a JSON object")
    return data


@attrs.frozen
class CaseResult:
    """The outcome of one case: passed, or what differed (or the error that stopped the evaluation)."""

    name: str
    path: Path
    passed: bool
    differences: tuple[str, ...] = ()
    duration: float = 0.0  # seconds
    evaluation: PolicyEvaluation | None = attrs.field(default=None, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "passed": self.passed,
            "differences": list(self.differences),
            "duration": round(self.duration, 3),
        }


def find_cases(directory: Path) -> list[Path]:
    """The case files of a policy directory, or of every policy directory under ``directory``, sorted.

    A policy directory holds ``policy.yaml``; its cases are ``tests/*.yaml`` (``*.yml`` too).
    """
    if not directory.is_dir():
        raise PolicyError(f"{directory}: not a directory", hint="give a policy directory or a tree of them")
    if (directory / POLICY_FILE).is_file():
        policy_dirs: Iterable[Path] = [directory]
    else:
        policy_dirs = sorted(p.parent for p in directory.rglob(POLICY_FILE) if p.parent.name != CASES_DIR)
    found: list[Path] = []
    for policy_dir in policy_dirs:
        cases = policy_dir / CASES_DIR
        if cases.is_dir():
            found.extend(sorted(p for p in cases.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))
    return found


def run_case(path: Path, *, options: VerifierOptions | None = None) -> CaseResult:
    """Read and evaluate one case file. Errors (a bad case, a failing policy) make a failed result."""
    start = time.perf_counter()
    name = f"{_policy_dir(path).name}/{path.stem}"
    try:
        case = Case.from_file(path)
        evaluation = case.evaluate(options)
    except CrafterError as exc:
        return CaseResult(name, path, False, (f"error: {exc.message}",), time.perf_counter() - start)
    duration = time.perf_counter() - start
    if evaluation is None:
        what = case.kind or "the material's kind"
        return CaseResult(
            case.name, path, False, (f"no evaluation: the policy has no script for {what}",), duration
        )
    differences = case.expect.differences(evaluation)
    return CaseResult(case.name, path, not differences, tuple(differences), duration, evaluation)


def run_cases(directory: Path, *, options: VerifierOptions | None = None) -> list[CaseResult]:
    """Run every case under ``directory`` (a policy directory or a tree of them), in a stable order."""
    return [run_case(path, options=options) for path in find_cases(directory)]


def summary(results: Sequence[CaseResult]) -> tuple[int, int]:
    """(passed, failed) counts."""
    passed = sum(1 for r in results if r.passed)
    return passed, len(results) - passed
