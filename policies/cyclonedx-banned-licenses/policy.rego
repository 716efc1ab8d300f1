# cyclonedx-banned-licenses: no component declares a license listed in `licenses`.
#
# Each entry of a component's `licenses` is read as its `license.id`, else its `license.name`, else the
# identifiers of its SPDX `expression` (every identifier counts, whatever the operator: `MIT OR GPL-3.0-only`
# is banned when `GPL-3.0-only` is). Comparison ignores case. Components nested one or two levels deep
# (`components[].components[]`) are checked too. An SBOM where no component declares a license is skipped:
# there is nothing to judge.
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

skip_reason := "the material is not a CycloneDX SBOM" if {
	not is_cyclonedx
} else := "no component of the SBOM declares a license" if {
	not has_licenses
}

default valid_input := false

valid_input if {
	is_cyclonedx
	has_licenses
}

is_cyclonedx if input.bomFormat == "CycloneDX"

# (Counted with array comprehensions: regopy evaluates them faster than a rule body with `some`.)
has_licenses if {
	licensed := count([1 | some c in input.components; c.licenses[0]])
	licensed + count([1 | some c in nested; c.licenses[0]]) > 0
}

# Components nested one and two levels deep (the top level is read from input.components directly: copying
# it into a new array would cost time on large SBOMs).
children := [n | some c in input.components; some n in c.components]

nested := array.concat(children, [m | some n in children; some m in n.components])

# -- arguments ----------------------------------------------------------------------------------------------

licenses_arg := object.get(input, ["args", "licenses"], [])

as_list(x) := x if is_array(x)

as_list(x) := [x] if is_string(x)

banned := [lower(l) | some l in as_list(licenses_arg); is_string(l)]

# -- license identifiers of one `licenses` entry -----------------------------------------------------------

entry_ids(e) := [e.license.id] if {
	is_string(e.license.id)
} else := [e.license.name] if {
	is_string(e.license.name)
} else := expression_ids(e.expression) if {
	is_string(e.expression)
} else := []

# Tokens of an SPDX expression, split on spaces and parentheses. (Not regex.split: regopy 1.5.2 formats the
# strings it returns with quotes in sprintf, unlike OPA.)
expression_ids(x) := [t |
	some t in split(replace(replace(x, "(", " "), ")", " "), " ")
	t != ""
	not upper(t) in ["AND", "OR", "WITH"]
]

label(c) := c.purl if {
	is_string(c.purl)
} else := sprintf("%s@%s", [c.name, c.version]) if {
	is_string(c.name)
	is_string(c.version)
} else := c.name if {
	is_string(c.name)
} else := "(unnamed)"

# -- violations ---------------------------------------------------------------------------------------------

default violations := []

violations := array.concat(
	["input licenses must name at least one license" | count(banned) == 0],
	array.concat(banned_in(input.components), banned_in(nested)),
) if valid_input

banned_in(components) := [sprintf("component %s has banned license %s", [label(c), id]) |
	some c in components
	some e in c.licenses
	some id in entry_ids(e)
	lower(id) in banned
]
