"""``crafter policy init``: a new policy project from a template, ready to build (WASM) and test.

Templates are shipped inside the package (``crafter/_internal/policies/templates/<engine>/``, found through
:func:`crafter._internal.resources.policy_templates_dir`). Each holds ``policy.yaml``, the script's source and fixture
cases (``tests/pass.yaml``, ``tests/fail.yaml``, ``tests/skip.yaml`` with their documents) that
``crafter policy test DIR`` runs:

* ``rego``: ``policy.rego``; the cases run as created.
* ``wasm``: an AssemblyScript project on the Extism PDK (``src/policy.ts``, ``package.json`` and its lock with
  exact versions, ``build.sh``); the cases run once ``build.sh`` has made ``policy.wasm``
  (docs/policies/wasm-authoring.md).

The token ``__POLICY_NAME__`` in the template's text files is replaced with the policy's name; a file named
``gitignore`` becomes ``.gitignore``.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from crafter._internal.schema_check import DNS_PATTERN, NAME_HINT
from crafter.errors import PolicyError

ENGINES = ("rego", "wasm")
NAME_TOKEN = "__POLICY_NAME__"
_NAME = re.compile(DNS_PATTERN)
_RENAMED = {"gitignore": ".gitignore"}
_EXECUTABLE = {"build.sh"}


def template_dir(engine: str) -> Path:
    """The template of ``engine``'s policy projects."""
    from crafter._internal.resources import policy_templates_dir

    if engine not in ENGINES:
        raise PolicyError(
            f"no policy template for engine {engine!r}", hint="use one of: " + ", ".join(ENGINES)
        )
    return policy_templates_dir() / engine


def _copy_wasm_lib(target: Path) -> list[Path]:
    """The PDK glue and JSON reader of the WASM library policies (one copy, in policies/wasm/src/lib)."""
    from crafter._internal.resources import policies_dir

    target.mkdir(parents=True, exist_ok=True)
    made = []
    for path in sorted((policies_dir() / "wasm" / "src" / "lib").glob("*.ts")):
        (target / path.name).write_bytes(path.read_bytes())
        made.append(target / path.name)
    return made


def init_policy(name: str, directory: Path, *, engine: str = "rego") -> list[Path]:
    """Create the policy project ``name`` in ``directory`` (which must not exist); returns the files made.

    Raises :class:`PolicyError` for a bad name, an unknown engine or an existing directory (nothing is written).
    """
    if len(name) > 63 or not _NAME.match(name):
        raise PolicyError(f"invalid policy name {name!r}", hint=NAME_HINT)
    source = template_dir(engine)
    if directory.exists() or directory.is_symlink():
        raise PolicyError(
            f"{directory}: already exists; not overwriting it",
            hint="give a new directory with --dir, or remove this one",
        )
    created: list[Path] = []
    try:
        directory.mkdir(parents=True)
        for path in sorted(source.rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(source)
            target = directory.joinpath(*rel.parts[:-1], _RENAMED.get(rel.name, rel.name))
            target.parent.mkdir(parents=True, exist_ok=True)
            data = path.read_bytes()
            target.write_bytes(data.replace(NAME_TOKEN.encode(), name.encode()))
            if rel.name in _EXECUTABLE:
                target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            created.append(target)
        if engine == "wasm":
            created.extend(_copy_wasm_lib(directory / "src" / "lib"))
    except OSError as exc:
        raise PolicyError(f"{directory}: cannot create the policy project: {exc.strerror or exc}") from exc
    return created
