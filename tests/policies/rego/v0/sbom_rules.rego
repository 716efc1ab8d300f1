package sbom

import future.keywords.in

# Rego v0 forms: partial sets, a constant set member, partial objects, functions, else, defaults,
# a rule with two bodies. Strings and comments hold look-alikes that must not be touched: deny[x] {

default allow = false

allow {
    count(deny) == 0
}

deny[msg] {
    some component in input.components
    banned(component.license)
    msg := sprintf("%s: banned licence {%s}", [component.name, component.license])
}

deny[msg] {
    not input.metadata
    msg := "deny[msg] { no metadata }"
}

warn["always"]

licenses[name] = license {
    some component in input.components
    name := component.name
    license := component.license
}

banned(license) {
    license in {"GPL-3.0-only", "AGPL-3.0-only"}
}

severity(score) = "high" {
    score >= 7
} else = "low" {
    true
}

scores[s] {
    some v in input.vulnerabilities
    s := severity(v.score)
}

has_input {
    input.components
} {
    input.vulnerabilities
}
