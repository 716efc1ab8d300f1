package main

import rego.v1

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
    some component in input.components
    is_banned(component.license)
    msg := sprintf("%s uses a banned licence", [component.name])
}

is_banned(license) if license in {"GPL-3.0-only", "AGPL-3.0-only"}
