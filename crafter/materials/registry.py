"""The default registry of material kinds and the fixed auto-detection order."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache

from crafter.materials.interface import MaterialKind, MaterialRegistry

#: Auto-detection tries these kinds in this order; the first whose ``sniff`` accepts the value and whose
#: ``craft`` succeeds wins. It follows Chainloop's order (reference section 2.3) for the kinds we ship,
#: ends with ARTIFACT then STRING, and never tries STRING for a value that is an existing file.
DETECTION_ORDER: tuple[str, ...] = (
    "OPENVEX",
    "SBOM_CYCLONEDX_JSON",
    "SBOM_SPDX_JSON",
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
        kind: MaterialKind = getattr(importlib.import_module(f"crafter.materials.{module}"), cls)(*args)
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


@cache
def default_registry() -> MaterialRegistry:
    """Every kind this package ships; each kind's module is imported the first time the kind is used."""
    return MaterialRegistry(
        [(name, _lazy(module, cls, *args)) for name, (module, cls, *args) in _KINDS.items()],
        DETECTION_ORDER,
    )
