package sbom

import future.keywords.in

default allow := false

allow if {
    count(deny) == 0
}

deny contains msg if {
    some component in input.components
    banned(component.license)
    msg := sprintf("%s: banned licence {%s}", [component.name, component.license])
}

deny contains msg if {
    not input.metadata
    msg := "deny[msg] { no metadata }"
}

warn contains "always"

licenses[name] := license if {
    some component in input.components
    name := component.name
    license := component.license
}

banned(license) if {
    license in {"GPL-3.0-only", "AGPL-3.0-only"}
}

severity(score) := "high" if {
    score >= 7
} else := "low"

scores contains s if {
    some v in input.vulnerabilities
    s := severity(v.score)
}

has_input if {
    input.components
}

has_input if {
    input.vulnerabilities
}
