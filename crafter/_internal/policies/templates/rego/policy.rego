# __POLICY_NAME__: no component of the CycloneDX SBOM is named in the `denied` input.
#
# The input document is the material's JSON (docs/policies/index.md); `input.args.denied` is a string, or a
# list of strings when the input was given comma-separated. An SBOM without components is skipped.
# Run the cases in tests/ with `crafter policy test .` (docs/policies/testing.md).
package main

import rego.v1

result := {
	"skipped": skipped,
	"skip_reason": skip_reason,
	"violations": violations,
	"ignore": false,
}

default skipped := true

skipped := false if valid_input

default skip_reason := ""

skip_reason := "the material is not a CycloneDX SBOM" if {
	not is_cyclonedx
} else := "the SBOM lists no components" if {
	not has_components
}

default valid_input := false

valid_input if {
	is_cyclonedx
	has_components
}

is_cyclonedx if input.bomFormat == "CycloneDX"

has_components if input.components[0]

denied_arg := object.get(input, ["args", "denied"], [])

denied := denied_arg if is_array(denied_arg)

denied := [denied_arg] if is_string(denied_arg)

default violations := []

violations := [sprintf("component %s is denied", [c.name]) |
	some c in input.components
	c.name in denied
] if valid_input
