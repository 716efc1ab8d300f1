"""Reading user documents (contracts, later policies): YAML or JSON, with errors naming the file.

YAML is read with the YAML 1.2 boolean rules (only ``true``/``false`` are booleans), so that ``with:``
arguments such as ``check_signature: yes`` or a country code ``no`` keep the text the user wrote.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from crafter.errors import CrafterError


def _yaml12_loader() -> type[yaml.SafeLoader]:
    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        pass

    # Drop YAML 1.1's yes/no/on/off booleans; keep true/false only.
    resolvers = {
        key: [(tag, rx) for tag, rx in value if tag != "tag:yaml.org,2002:bool"]
        for key, value in base.yaml_implicit_resolvers.items()
    }
    Loader.yaml_implicit_resolvers = resolvers
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Loader


def parse_document(text: str, source: str, error: type[CrafterError] = CrafterError) -> Any:
    """Parse ``text`` as JSON when it looks like JSON, else as YAML (YAML 1.2 booleans)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise error(f"{source}: the document is empty")
    if stripped[0] in "{[":
        try:
            return json.loads(stripped)
        except ValueError as exc:
            raise error(f"{source}: invalid JSON: {exc}") from exc
    try:
        docs = list(yaml.load_all(stripped, Loader=_yaml12_loader()))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{source}: invalid YAML{where}: {problem}") from exc
    docs = [d for d in docs if d is not None]
    if len(docs) != 1:
        raise error(f"{source}: expected one YAML document, found {len(docs)}")
    return docs[0]


def read_document(path: Path, error: type[CrafterError] = CrafterError) -> tuple[Any, bytes]:
    """Read and parse a YAML/JSON file; returns the parsed value and the raw bytes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read file: {exc.strerror}") from exc
    if path.suffix.lower() == ".cue":
        raise error(f"{path}: CUE contract format is no longer supported; use JSON or YAML")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text") from exc
    return parse_document(text, str(path), error), raw
