"""The material kind enums of the published JSON Schemas, made from the kind registry.

``python -m tools.schemas`` rewrites the enums of ``schemas/*.schema.json`` that list material kinds from
:func:`crafter._internal.materials.registry.builtin_kinds` (Chainloop's kinds, then any built-in one Chainloop lacks);
``--check`` only says whether they are up to date (exit 1 when not). ``tests/plugins/test_kinds.py`` runs the
check, so a kind added to the registry and not to the schemas fails the tests.

Kinds from plugins are not in the published enums: a contract naming one validates with crafter where the
plugin is installed (:mod:`crafter._internal.contract`), not with the schema alone.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
UNSPECIFIED = "MATERIAL_TYPE_UNSPECIFIED"
HOW_TO_UPDATE = "run python -m tools.schemas and commit schemas/"


def _all(kinds: tuple[str, ...]) -> list[str]:
    return list(kinds)


def _any_or_unspecified(kinds: tuple[str, ...]) -> list[str]:
    return [UNSPECIFIED, *kinds]


def _script_kinds(kinds: tuple[str, ...]) -> list[str]:
    return [UNSPECIFIED, *(k for k in kinds if k != "ARTIFACT")]  # ARTIFACT is not a policy kind


def _legacy_kinds(kinds: tuple[str, ...]) -> list[str]:
    return [UNSPECIFIED, *(k for k in kinds if k not in ("STRING", "ARTIFACT", "EVIDENCE"))]


#: (schema file, its ``$defs`` entry whose ``enum`` lists kinds, how the list is made from the kinds).
ENUMS: tuple[tuple[str, str, Callable[[tuple[str, ...]], list[str]]], ...] = (
    ("contract.schema.json", "materialType", _all),
    ("policy-group.schema.json", "materialType", _any_or_unspecified),
    ("policy.schema.json", "scriptKind", _script_kinds),
    ("policy.schema.json", "legacyType", _legacy_kinds),
)


def _dump(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def generated() -> dict[str, str]:
    """Each schema file that lists kinds, by name, as the registry makes it."""
    from crafter._internal.materials.registry import builtin_kinds

    kinds = builtin_kinds()
    docs: dict[str, Any] = {}
    for name, definition, make in ENUMS:
        doc = docs.setdefault(name, json.loads((SCHEMAS / name).read_text(encoding="utf-8")))
        doc["$defs"][definition]["enum"] = make(kinds)
    return {name: _dump(doc) for name, doc in docs.items()}


def stale() -> list[str]:
    """The schema files whose kind enums differ from the registry's."""
    return [
        name for name, text in generated().items() if (SCHEMAS / name).read_text(encoding="utf-8") != text
    ]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    texts = generated()
    changed = stale()
    if check and changed:
        print(f"material kind enums out of date in {', '.join(changed)}; {HOW_TO_UPDATE}", file=sys.stderr)
        return 1
    for name in [] if check else changed:
        (SCHEMAS / name).write_text(texts[name], encoding="utf-8")
    print("rewrote " + ", ".join(f"schemas/{n}" for n in changed) if changed else "up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
