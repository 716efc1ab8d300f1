package main

import rego.v1

violations contains msg if {
    some component in input.components
    is_banned(component.license)
    msg := sprintf("%s uses a banned licence", [component.name])
}

is_banned(license) if license in {"GPL-3.0-only", "AGPL-3.0-only"}
