"""The material kind family: the built-in kinds, the kinds of installed plugins, the auto-detection order.

The built-ins are registered below, each kind's module imported the first time the kind is used. An
installed distribution adds a kind with an entry point in the group ``crafter.material_kinds``
(``NAME = MODULE:CLASS``, ``NAME`` the kind, a :class:`MaterialKind` subclass or a zero-argument factory),
never replacing a built-in one; plugin kinds are used when a contract or ``--kind`` names them, never
auto-detected, and what they raise becomes a :class:`~crafter.errors.MaterialError` naming them
(:mod:`crafter._internal.materials.plugin`).

:data:`CHAINLOOP_KINDS` is Chainloop's material kind enum: the kinds a contract may name without a plugin.
The enums of the published schemas are generated from it (``python -m tools.schemas``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache

from crafter._internal.materials.interface import MaterialKind, MaterialRegistry
from crafter._internal.plugins import Family
from crafter.errors import MaterialError

ENTRY_POINT_GROUP = "crafter.material_kinds"

#: Chainloop's material kinds (its ``CraftingSchema.Material.MaterialType`` enum, in its order, without
#: ``MATERIAL_TYPE_UNSPECIFIED``). crafter implements the ones in :data:`BUILTIN`; the others are accepted in
#: contracts (a Chainloop contract stays valid) and fail when added, unless a plugin implements them.
CHAINLOOP_KINDS: tuple[str, ...] = (
    "STRING",
    "CONTAINER_IMAGE",
    "ARTIFACT",
    "SBOM_CYCLONEDX_JSON",
    "SBOM_SPDX_JSON",
    "JUNIT_XML",
    "OPENVEX",
    "CSAF_VEX",
    "SARIF",
    "HELM_CHART",
    "EVIDENCE",
    "ATTESTATION",
    "CSAF_INFORMATIONAL_ADVISORY",
    "CSAF_SECURITY_ADVISORY",
    "CSAF_SECURITY_INCIDENT_RESPONSE",
    "GITLAB_SECURITY_REPORT",
    "ZAP_DAST_ZIP",
    "BLACKDUCK_SCA_JSON",
    "TWISTCLI_SCAN_JSON",
    "GHAS_CODE_SCAN",
    "GHAS_SECRET_SCAN",
    "GHAS_DEPENDENCY_SCAN",
    "JACOCO_XML",
    "SLSA_PROVENANCE",
    "CHAINLOOP_RUNNER_CONTEXT",
    "CHAINLOOP_PR_INFO",
    "GITLEAKS_JSON",
    "CHAINLOOP_AI_AGENT_CONFIG",
    "CHAINLOOP_AI_CODING_SESSION",
    "OPENAPI_SPEC",
    "ASYNCAPI_SPEC",
    "GRAPHQL_SPEC",
    "YELP_DETECT_SECRETS_BASELINE",
    "SYSINTERNALS_SIGCHECK",
    "SYSINTERNALS_ACCESSCHK",
    "CERTCC_DRANZER",
    "OSSF_SCORECARD_JSON",
    "RADAMSA_REPORT",
    "RADAMSA_CRASHES",
    "TRUFFLEHOG_JSON",
    "COBERTURA_XML",
    "CHECKMARX_JSON",
)

#: Auto-detection tries these kinds in this order; the first whose ``sniff`` accepts the value and whose
#: ``craft`` succeeds wins. It follows Chainloop's order (reference section 2.3) for the kinds we ship,
#: puts crafter's own SBOM kinds after Chainloop's SBOM kinds, ends with ARTIFACT then STRING, and never
#: tries STRING for a value that is an existing file.
DETECTION_ORDER: tuple[str, ...] = (
    "OPENVEX",
    "SBOM_CYCLONEDX_JSON",
    "SBOM_SPDX_JSON",
    "SBOM_CYCLONEDX_XML",
    "SBOM_SPDX_TAG_VALUE",
    "CSAF_VEX",
    "CSAF_INFORMATIONAL_ADVISORY",
    "CSAF_SECURITY_ADVISORY",
    "CSAF_SECURITY_INCIDENT_RESPONSE",
    "GITLEAKS_JSON",
    "JUNIT_XML",
    "JACOCO_XML",
    "COBERTURA_XML",
    "HELM_CHART",
    "SARIF",
    "SLSA_PROVENANCE",
    "ATTESTATION",
    "CONTAINER_IMAGE",
    "ARTIFACT",
    "STRING",
)


def _lazy(module: str, cls: str, *args: str) -> Callable[[], MaterialKind]:
    def make() -> MaterialKind:
        kind: MaterialKind = getattr(importlib.import_module(f"crafter._internal.materials.{module}"), cls)(
            *args
        )
        return kind

    return make


#: kind name -> (module, class, constructor arguments)
_KINDS: dict[str, tuple[str, ...]] = {
    "STRING": ("basic", "StringKind"),
    "ARTIFACT": ("basic", "ArtifactKind"),
    "EVIDENCE": ("basic", "EvidenceKind"),
    "CONTAINER_IMAGE": ("image", "ContainerImageKind"),
    "SBOM_CYCLONEDX_JSON": ("sbom", "CycloneDXKind"),
    "SBOM_SPDX_JSON": ("sbom", "SPDXKind"),
    # crafter's own kinds (Chainloop lacks them): contracts naming them are not portable to Chainloop
    "SBOM_CYCLONEDX_XML": ("cyclonedx_xml", "CycloneDXXMLKind"),
    "SBOM_SPDX_TAG_VALUE": ("spdx_tag_value", "SPDXTagValueKind"),
    "JUNIT_XML": ("reports", "JUnitKind"),
    "JACOCO_XML": ("reports", "JacocoKind"),
    "COBERTURA_XML": ("reports", "CoberturaKind"),
    "SARIF": ("security", "SarifKind"),
    "OPENVEX": ("security", "OpenVEXKind"),
    "CSAF_VEX": ("security", "CSAFKind", "CSAF_VEX", "csaf_vex"),
    "CSAF_INFORMATIONAL_ADVISORY": (
        "security",
        "CSAFKind",
        "CSAF_INFORMATIONAL_ADVISORY",
        "csaf_informational_advisory",
    ),
    "CSAF_SECURITY_ADVISORY": ("security", "CSAFKind", "CSAF_SECURITY_ADVISORY", "csaf_security_advisory"),
    "CSAF_SECURITY_INCIDENT_RESPONSE": (
        "security",
        "CSAFKind",
        "CSAF_SECURITY_INCIDENT_RESPONSE",
        "csaf_security_incident_response",
    ),
    "GITLEAKS_JSON": ("security", "GitleaksKind"),
    "HELM_CHART": ("helm", "HelmChartKind"),
    "ATTESTATION": ("attestations", "AttestationKind"),
    "SLSA_PROVENANCE": ("attestations", "SLSAProvenanceKind"),
}


KindFactory = Callable[[], MaterialKind]

#: The kinds crafter implements, by name.
BUILTIN: dict[str, KindFactory] = {
    name: _lazy(module, cls, *args) for name, (module, cls, *args) in _KINDS.items()
}
KINDS: Family[KindFactory] = Family("material kind", ENTRY_POINT_GROUP, MaterialError, BUILTIN)


def builtin_kinds() -> tuple[str, ...]:
    """The kinds crafter knows without a plugin, as the published schemas list them: Chainloop's, then any
    built-in kind Chainloop lacks."""
    return CHAINLOOP_KINDS + tuple(name for name in BUILTIN if name not in CHAINLOOP_KINDS)


def installed_plugin_kinds() -> list[str]:
    """The kinds installed plugins add, by entry point name (none is loaded)."""
    return KINDS.plugin_names()


@cache
def default_registry() -> MaterialRegistry:
    """Every kind this package ships, and the installed plugins' kinds; each kind's module is imported the
    first time the kind is used."""
    return MaterialRegistry(BUILTIN.items(), DETECTION_ORDER, plugins=KINDS)
