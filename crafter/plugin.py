"""What a plugin implements, and the helpers it may use: one interface per family (docs/design.md, Plugins).

A distribution registers a factory under the family's entry point group; the factory returns one of these:

- ``crafter.material_kinds``: a :class:`MaterialKind`, whose ``craft`` returns a :class:`Crafted` (helpers:
  :func:`load_json`, :func:`json_object`, :func:`invalid`, :func:`file_record`, :func:`json_document`);
- ``crafter.policy_engines``: a :class:`PolicyEngine`, whose ``evaluate`` returns an :class:`EngineResult`;
- ``crafter.signers``: a :class:`Signer` (:class:`PrivateKeySigner` wraps a ``cryptography`` private key),
  made from a reference and a :class:`KeyContext`;
- ``crafter.bundle_stores`` and ``crafter.content_stores``: a :class:`Store` or a :class:`ContentStore`, made
  from a reference and a :class:`StoreContext`.

Whatever a plugin raises is reported as its family's error, naming the plugin.
"""

from crafter._internal.materials.basic import invalid, json_object, load_json
from crafter._internal.materials.fileio import file_record
from crafter._internal.materials.interface import Crafted, CraftOptions, MaterialKind
from crafter._internal.materials.policy_input import json_document
from crafter._internal.policies.engines.interface import (
    Args,
    EngineResult,
    Limits,
    PolicyEngine,
    Script,
    Violation,
)
from crafter._internal.signing.interface import Signer
from crafter._internal.signing.keys import PrivateKeySigner
from crafter._internal.signing.schemes import KeyContext
from crafter._internal.storage.interface import ContentNotFoundError, ContentStore, Store, StoreError
from crafter._internal.storage.schemes import StoreContext

__all__ = [
    "Args",
    "ContentNotFoundError",
    "ContentStore",
    "CraftOptions",
    "Crafted",
    "EngineResult",
    "KeyContext",
    "Limits",
    "MaterialKind",
    "PolicyEngine",
    "PrivateKeySigner",
    "Script",
    "Signer",
    "Store",
    "StoreContext",
    "StoreError",
    "Violation",
    "file_record",
    "invalid",
    "json_document",
    "json_object",
    "load_json",
]
