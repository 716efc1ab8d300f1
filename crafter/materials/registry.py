"""The default registry of material kinds and the fixed auto-detection order."""

from __future__ import annotations

from functools import cache

from crafter.materials.interface import MaterialRegistry

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


@cache
def default_registry() -> MaterialRegistry:
    """Every kind this package ships. Built on first use (kinds import their parsers lazily)."""
    from crafter.materials import (
        attestations,
        basic,
        helm,
        image,
        reports,
        sbom,
        security,
    )

    kinds = [
        basic.StringKind(),
        basic.ArtifactKind(),
        basic.EvidenceKind(),
        image.ContainerImageKind(),
        sbom.CycloneDXKind(),
        sbom.SPDXKind(),
        reports.JUnitKind(),
        reports.JacocoKind(),
        reports.CoberturaKind(),
        security.SarifKind(),
        security.OpenVEXKind(),
        security.CSAFKind("CSAF_VEX", "csaf_vex"),
        security.CSAFKind("CSAF_INFORMATIONAL_ADVISORY", "csaf_informational_advisory"),
        security.CSAFKind("CSAF_SECURITY_ADVISORY", "csaf_security_advisory"),
        security.CSAFKind("CSAF_SECURITY_INCIDENT_RESPONSE", "csaf_security_incident_response"),
        security.GitleaksKind(),
        helm.HelmChartKind(),
        attestations.AttestationKind(),
        attestations.SLSAProvenanceKind(),
    ]
    return MaterialRegistry(kinds, DETECTION_ORDER)
