"""Material kinds of the test distribution (tests/plugins/site): a manifest kind that gives policies its own
input, and a kind that fails with a ValueError.

TEST_MANIFEST: a JSON object ``{"manifest": NAME, "items": [...]}``; policies read ``{"name": NAME,
"item_count": N}``, not the file itself.
"""

from __future__ import annotations

from typing import Any

from crafter.plugin import (
    Crafted,
    CraftOptions,
    MaterialKind,
    file_record,
    invalid,
    json_document,
    json_object,
    load_json,
)


class ManifestKind(MaterialKind):
    kind = "TEST_MANIFEST"

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        fb, doc = load_json(value, "test manifest")
        if not isinstance(json_object(doc, value, "test manifest").get("items"), list):
            raise invalid(value, "test manifest", "no items")
        return file_record(self.kind, fb, {"test.manifest.name": str(doc.get("manifest", ""))})

    def policy_input(self, path: str, name: str) -> Any:
        doc = json_document(path, name, self.kind)
        return {"name": doc.get("manifest", ""), "item_count": len(doc.get("items", []))}


class BrokenKind(MaterialKind):
    kind = "TEST_BROKEN"

    def craft(self, value: str, options: CraftOptions) -> Crafted:
        raise ValueError("the test kind cannot parse " + value)
