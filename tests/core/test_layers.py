"""The layers of docs/design.md, enforced: every import in ``crafter/`` goes to the importer's own unit or to a
lower layer, whether it runs at import time, inside a function (lazy) or only under ``TYPE_CHECKING``.

The layers are read from the first ``text`` block of the design page's "Layers" section, so the picture a
reader sees is the one checked. Imports that still break the rule are listed in :data:`KNOWN_EXCEPTIONS`
with a reason, one test id each; an exception that is no longer needed fails, so the list only shrinks.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "crafter"
DESIGN = ROOT / "docs" / "design.md"

#: (importing module, imported module) -> why the import is still there. Only remove entries.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("crafter.errors", "crafter._internal.push_rules"): (
        "typing only: PolicyGateError.result is a PushResult; errors sit below everything, so the type "
        "is named under TYPE_CHECKING and never imported at run time"
    ),
}


@attrs.frozen
class Layer:
    name: str
    rank: int  # 0 is the bottom
    units: tuple[str, ...]  # paths relative to crafter/: "policies/engines/" (a package) or "crafter.py"


@attrs.frozen
class Import:
    module: str
    path: Path
    line: int
    target: str
    how: str  # "import", "lazy import" (inside a function) or "TYPE_CHECKING import"


def read_layers(text: str) -> list[Layer]:
    """The layers of the design page's "Layers" section, bottom first."""
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"^```text\n(.*?)^```$", section, re.M | re.S)
    assert block, "docs/design.md: the Layers section has no text block of layers"
    rows: list[tuple[str, list[str]]] = []
    for line in block.group(1).splitlines():
        tokens = line.split()
        if not tokens:
            continue
        if not line[0].isspace():
            rows.append((tokens[0], []))
            tokens = tokens[1:]
        for token in tokens:
            if not token.endswith((".py", "/")):
                break
            rows[-1][1].append(token)
    return [Layer(name, rank, tuple(units)) for rank, (name, units) in enumerate(reversed(rows))]


def modules(package: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def unit_of(path: Path, package: Path, layers: list[Layer]) -> tuple[str, Layer] | None:
    """The unit (the longest path of the table that holds ``path``) and its layer."""
    rel = path.relative_to(package).as_posix()
    best: tuple[str, Layer] | None = None
    for layer in layers:
        for unit in layer.units:
            holds = rel.startswith(unit) if unit.endswith("/") else rel == unit
            if holds and (best is None or len(unit) > len(best[0])):
                best = (unit, layer)
    return best


def imports(package: Path) -> Iterator[Import]:
    """Every import of a ``crafter`` module by a module of ``package``, resolved to the module it loads."""
    known = modules(package)

    def resolve(name: str) -> str:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    for module, path in known.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        stack: list[tuple[ast.AST, str]] = [(node, "import") for node in tree.body]
        while stack:
            node, how = stack.pop()
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _targets(node, module, is_package):
                    if target == package.name or target.startswith(package.name + "."):
                        yield Import(module, path, node.lineno, resolve(target), how)
                continue
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                stack += [(child, "TYPE_CHECKING import") for child in node.body]
                stack += [(child, how) for child in node.orelse]
                continue
            inner = "lazy import" if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else how
            stack += [(child, inner) for child in ast.iter_child_nodes(node)]


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join([*parts, base] if base else parts)
    return [f"{base}.{alias.name}" for alias in node.names]  # a submodule, or a name resolved to its module


def violations(package: Path, layers: list[Layer]) -> list[tuple[Import, str]]:
    """Each import that goes up a layer or sideways to another unit of the same layer, with the rule broken."""
    known = modules(package)
    out: list[tuple[Import, str]] = []
    for imp in imports(package):
        source = unit_of(imp.path, package, layers)
        target = unit_of(known[imp.target], package, layers)
        if source is None or target is None or source[0] == target[0]:
            continue
        (unit, layer), (other, under) = source, target
        if under.rank > layer.rank:
            rule = (
                f"layer {layer.name} ({unit}) may not import layer {under.name} ({other}), which is above it"
            )
        elif under.rank == layer.rank:
            rule = f"{unit} and {other} share layer {layer.name}, and units of one layer do not import each other"
        else:
            continue
        out.append((imp, rule))
    return out


def describe(imp: Import, rule: str) -> str:
    where = imp.path.relative_to(ROOT) if imp.path.is_relative_to(ROOT) else imp.path
    return (
        f"{where}:{imp.line}: {imp.module} has a {imp.how} of {imp.target}: {rule} (docs/design.md, Layers)"
    )


LAYERS = read_layers(DESIGN.read_text(encoding="utf-8"))
VIOLATIONS = violations(PACKAGE, LAYERS)


def test_the_design_page_gives_the_layers() -> None:
    names = [layer.name for layer in LAYERS]
    assert names[0] == "base" and names[-1] == "api", names
    units = [unit for layer in LAYERS for unit in layer.units]
    assert len(units) == len(set(units)), "a unit is listed twice in docs/design.md's layers"
    missing = [unit for unit in units if not (PACKAGE / unit).exists()]
    assert not missing, f"docs/design.md's layers name paths that crafter/ does not have: {missing}"


@pytest.mark.parametrize("module", sorted(modules(PACKAGE)))
def test_module_has_a_layer(module: str) -> None:
    path = modules(PACKAGE)[module]
    assert unit_of(path, PACKAGE, LAYERS) is not None, (
        f"{path.relative_to(ROOT)} is in no layer: add it (or its package) to a row of the Layers block "
        "of docs/design.md"
    )


@pytest.mark.parametrize("module", sorted(modules(PACKAGE)))
def test_imports_go_down(module: str) -> None:
    broken = [
        describe(imp, rule)
        for imp, rule in VIOLATIONS
        if imp.module == module and (imp.module, imp.target) not in KNOWN_EXCEPTIONS
    ]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize(("module", "target"), sorted(KNOWN_EXCEPTIONS), ids=lambda name: name)
def test_known_exception_is_still_needed(module: str, target: str) -> None:
    found = [imp for imp, _ in VIOLATIONS if (imp.module, imp.target) == (module, target)]
    assert found, (
        f"{module} no longer imports {target} against the layers: remove it from KNOWN_EXCEPTIONS "
        "in tests/core/test_layers.py (and from docs/design.md if it is named there)"
    )


def test_a_lazy_import_upwards_is_reported_with_its_line_and_rule(tmp_path: Path) -> None:
    package = tmp_path / "crafter"
    (package / "cli").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli" / "__init__.py").write_text("")
    (package / "cli" / "main.py").write_text("from crafter.errors import Oops\n")
    (package / "errors.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from crafter.cli import main\n"
        "def explain() -> None:\n"
        "    from .cli.main import run\n"
    )
    layers = read_layers("# x\n\n## Layers\n\n```text\ncli   cli/\nbase  errors.py __init__.py   what\n```\n")
    found = sorted(
        (imp.module, imp.line, imp.how, imp.target, rule) for imp, rule in violations(package, layers)
    )
    rule = "layer base (errors.py) may not import layer cli (cli/), which is above it"
    assert found == [
        ("crafter.errors", 3, "TYPE_CHECKING import", "crafter.cli.main", rule),
        ("crafter.errors", 5, "lazy import", "crafter.cli.main", rule),
    ]
    imp, broken = next((imp, r) for imp, r in violations(package, layers) if imp.line == 5)
    assert describe(imp, broken).endswith(
        "errors.py:5: crafter.errors has a lazy import of crafter.cli.main: "
        + rule
        + " (docs/design.md, Layers)"
    )


def test_units_of_one_layer_do_not_import_each_other(tmp_path: Path) -> None:
    package = tmp_path / "crafter"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "files.py").write_text("import crafter.http\n")
    (package / "http.py").write_text("")
    layers = read_layers(
        "# x\n\n## Layers\n\n```text\nio  files.py http.py  both\n           __init__.py\n```\n"
    )
    [(imp, rule)] = violations(package, layers)
    assert (imp.module, imp.target, imp.how) == ("crafter.files", "crafter.http", "import")
    assert rule == "files.py and http.py share layer io, and units of one layer do not import each other"
