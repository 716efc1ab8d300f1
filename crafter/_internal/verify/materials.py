"""Local files or digests against the digests an attestation records (``--material``), and its materials
against a contract (``--contract``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crafter._internal.signing.message import Digest
from crafter._internal.verify.result import MaterialCheck
from crafter._internal.verify.statement import CHAINLOOP_PREDICATE, digest_text, is_chainloop
from crafter.errors import IncompleteAttestationError, UsageError


def material_digest(material: str | Path) -> tuple[Digest, Path | None]:
    """What a ``--material`` names: a digest spelled ``sha256:HEX`` (also sha384/sha512), else a file."""
    if isinstance(material, str):
        given = Digest.parse(material)
        if given is not None:
            return given, None
        material = Path(material)
    return Digest.of_file(material), material


def file_digest(path: Path) -> str:
    """The SHA-256 hex digest of the file at ``path``; :class:`UsageError` when it cannot be read."""
    return Digest.of_file(path).value.hex()


def _recorded(statement: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(label, file or image name, digest) of every material (Chainloop predicate) and subject."""
    out = []
    if is_chainloop(statement):
        for m in statement["predicate"].get("materials", []):
            label = f"material {m.get('annotations', {}).get('chainloop.material.name', '?')!r}"
            out.append((label, str(m.get("name", "")), dict(m.get("digest", {}))))
    for s in statement.get("subject", []):
        out.append((f"subject {s.get('name', '')!r}", str(s.get("name", "")), dict(s.get("digest", {}))))
    return out


def check_material(material: str | Path, statement: Mapping[str, Any]) -> MaterialCheck:
    digest, path = material_digest(material)
    label = str(path) if path is not None else digest.text
    recorded = _recorded(statement)
    for what, _name, recorded_digest in recorded:
        if str(recorded_digest.get(digest.algorithm, "")).lower() == digest.value.hex():
            return MaterialCheck(label, digest.text, matched=what)
    if path is not None:
        for what, name, recorded_digest in recorded:
            if name and Path(name).name == path.name:
                return MaterialCheck(
                    label,
                    digest.text,
                    problem=f"{path}: digest mismatch for {what}: recorded {digest_text(recorded_digest)}, "
                    f"file has {digest.text}",
                )
    return MaterialCheck(
        label,
        digest.text,
        problem=f"{label} ({digest.text}) matches no "
        + ("material or subject" if is_chainloop(statement) else "subject")
        + " of the attestation",
    )


def contract_problem(statement: Mapping[str, Any], path: Path) -> str:
    """What the attestation lacks for the contract at ``path`` ("" when it satisfies it)."""
    from crafter._internal.contract import load_contract

    if not is_chainloop(statement):
        raise UsageError(
            f"--contract checks Chainloop attestations ({CHAINLOOP_PREDICATE}); this statement's predicate is "
            f"{statement.get('predicateType')!r}"
        )
    contract, _ = load_contract(path)
    present = {
        m.get("annotations", {}).get("chainloop.material.name")
        for m in statement["predicate"].get("materials", [])
    }
    problems = []
    missing = [m.name for m in contract.materials if m.required and m.name not in present]
    if missing:
        problems.append("required materials missing: " + ", ".join(missing))
    groups: dict[str, list[str]] = {}
    for m in contract.materials:
        if m.group:
            groups.setdefault(m.group, []).append(m.name)
    for group, members in groups.items():
        if not any(n in present for n in members):
            problems.append(f'no material from group "{group}": ' + ", ".join(members))
    if problems:
        return f"the attestation does not satisfy contract {path}: " + "; ".join(problems)
    return ""


def check_contract(statement: Mapping[str, Any], path: Path) -> None:
    """Raise :class:`IncompleteAttestationError` when the attestation does not satisfy the contract."""
    problem = contract_problem(statement, path)
    if problem:
        raise IncompleteAttestationError(problem)
