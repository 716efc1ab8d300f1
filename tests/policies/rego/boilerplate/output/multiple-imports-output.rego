package sbom.checks

import rego.v1
import data.lib.strings
import future.keywords.in

result := {
    "skipped": skipped,
    "violations": violations,
    "skip_reason": skip_reason,
    "ignore": ignore,
}

default skip_reason := ""

skip_reason := m if {
    not valid_input
    m := "the file content is not recognized"
}

default valid_input := true

default skipped := true

skipped := false if valid_input

default ignore := false

violations contains msg if {
    not input.metadata.component
    msg := "the SBOM does not name its main component"
}
