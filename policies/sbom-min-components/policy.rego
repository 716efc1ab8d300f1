# sbom-min-components: the SBOM lists at least `min_components` components.
#
# CycloneDX: the entries of `components` (top level; the described component in `metadata.component` is not
# counted). A CycloneDX document with vulnerabilities but no `components` key is a VEX / vulnerability report,
# not an inventory: skipped. SPDX: the packages other than the ones the document describes (its root).
package main

import rego.v1

result := {
	"skipped": skipped,
	"skip_reason": skip_reason,
	"violations": violations,
	"ignore": ignore,
}

default ignore := false

default skipped := true

skipped := false if valid_input

default skip_reason := ""

skip_reason := "the material is not a CycloneDX or SPDX JSON SBOM" if {
	not is_cyclonedx
	not is_spdx
} else := "the CycloneDX document has no component inventory (a VEX or vulnerability report)" if {
	is_cyclonedx_vex
}

default valid_input := false

valid_input if {
	is_cyclonedx
	not is_cyclonedx_vex
}

valid_input if is_spdx

is_cyclonedx if input.bomFormat == "CycloneDX"

is_spdx if {
	is_string(input.spdxVersion)
	startswith(input.spdxVersion, "SPDX-")
}

is_cyclonedx_vex if {
	is_cyclonedx
	not "components" in object.keys(input)
	is_array(input.vulnerabilities)
}

# -- arguments ----------------------------------------------------------------------------------------------

min_components_arg := object.get(input, ["args", "min_components"], "1")

min_components := whole_number(min_components_arg)

# A whole number from its decimal text, leading zeros dropped first: a number parsed from "007" keeps its
# leading zeros in both engines (regopy then finds it unequal to 7; OPA cannot serialise it).
whole_number(s) := 0 if {
	is_string(s)
	regex.match(`^0+$`, s)
} else := to_number(trim_left(s, "0")) if {
	is_string(s)
	regex.match(`^[0-9]{1,9}$`, s)
}

# -- counting -----------------------------------------------------------------------------------------------

component_count := count(input.components) if {
	is_cyclonedx
	is_array(input.components)
} else := 0 if is_cyclonedx

described := array.concat(
	[id | some id in object.get(input, "documentDescribes", [])],
	[r.relatedSpdxElement |
		some r in object.get(input, "relationships", [])
		r.relationshipType == "DESCRIBES"
		r.spdxElementId == "SPDXRef-DOCUMENT"
	],
)

component_count := count([1 |
	some p in input.packages
	not object.get(p, "SPDXID", "") in described
]) if {
	is_spdx
	not is_cyclonedx
	is_array(input.packages)
} else := 0 if {
	is_spdx
	not is_cyclonedx
}

# -- violations ---------------------------------------------------------------------------------------------

default violations := []

violations := array.concat(
	[sprintf("input min_components must be a whole number, got %v", [min_components_arg]) | not min_components],
	[sprintf("the SBOM lists %d components, at least %d required", [component_count, min_components]) |
		component_count < min_components
	],
) if valid_input
