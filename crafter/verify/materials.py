"""Local files against the digests an attestation records (``--material``), and its materials against a
contract (``--contract``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crafter.errors import IncompleteAttestationError, UsageError
from crafter.verify.result import MaterialCheck
from crafter.verify.statement import digest_text


def _recorded(statement: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(label, file or image name, digest) of every material and subject."""
    out = []
    for m in statement["predicate"].get("materials", []):
        label = f"material {m.get('annotations', {}).get('chainloop.material.name', '?')!r}"
        out.append((label, str(m.get("name", "")), dict(m.get("digest", {}))))
    for s in statement.get("subject", []):
        out.append((f"subject {s.get('name', '')!r}", str(s.get("name", "")), dict(s.get("digest", {}))))
    return out


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError as exc:
        raise UsageError(f"material file {path} not found") from exc
    except OSError as exc:
        raise UsageError(f"cannot read material file {path}: {exc.strerror or exc}") from exc
    return h.hexdigest()


def check_material(path: Path, statement: Mapping[str, Any]) -> MaterialCheck:
    hexdigest = file_digest(path)
    recorded = _recorded(statement)
    for label, _name, digest in recorded:
        if digest.get("sha256") == hexdigest:
            return MaterialCheck(str(path), f"sha256:{hexdigest}", matched=label)
    for label, name, digest in recorded:
        if name and Path(name).name == path.name:
            return MaterialCheck(
                str(path),
                f"sha256:{hexdigest}",
                problem=f"{path}: digest mismatch for {label}: recorded {digest_text(digest)}, "
                f"file has sha256:{hexdigest}",
            )
    return MaterialCheck(
        str(path),
        f"sha256:{hexdigest}",
        problem=f"{path} (sha256:{hexdigest}) matches no material or subject of the attestation",
    )


def check_contract(statement: Mapping[str, Any], path: Path) -> None:
    from crafter.contract import load_contract

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
        raise IncompleteAttestationError(
            f"the attestation does not satisfy contract {path}: " + "; ".join(problems)
        )
