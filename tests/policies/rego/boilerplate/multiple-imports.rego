package sbom.checks

import rego.v1
import data.lib.strings
import future.keywords.in

violations contains msg if {
    not input.metadata.component
    msg := "the SBOM does not name its main component"
}
