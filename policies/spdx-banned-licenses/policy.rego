# spdx-banned-licenses: no package is under a license listed in `licenses`.
#
# A package's licenses are the identifiers of its `licenseConcluded` and `licenseDeclared` expressions
# (every identifier counts, whatever the operator), `NOASSERTION` and `NONE` left out; each banned identifier
# is reported once per package. Comparison ignores case. An SBOM where no package states a license is
# skipped: there is nothing to judge.
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

skip_reason := "the material is not an SPDX JSON SBOM" if {
	not is_spdx
} else := "no package of the SBOM states a license (licenseConcluded or licenseDeclared)" if {
	not has_licenses
}

default valid_input := false

valid_input if {
	is_spdx
	has_licenses
}

is_spdx if {
	is_string(input.spdxVersion)
	startswith(input.spdxVersion, "SPDX-")
}

# (Counted with an array comprehension: regopy evaluates it faster than a rule body with `some`.)
has_licenses if {
	count([1 |
		some p in input.packages
		some field in ["licenseConcluded", "licenseDeclared"]
		is_string(p[field])
		not p[field] in ["", "NOASSERTION", "NONE"]
	]) > 0
}

# -- arguments ----------------------------------------------------------------------------------------------

licenses_arg := object.get(input, ["args", "licenses"], [])

as_list(x) := x if is_array(x)

as_list(x) := [x] if is_string(x)

banned := [lower(l) | some l in as_list(licenses_arg); is_string(l)]

# -- license identifiers of a package -----------------------------------------------------------------------

# Tokens of an SPDX expression, split on spaces and parentheses. (Not regex.split: regopy 1.5.2 formats the
# strings it returns with quotes in sprintf, unlike OPA.)
expression_ids(x) := [t |
	is_string(x)
	some t in split(replace(replace(x, "(", " "), ")", " "), " ")
	t != ""
	not upper(t) in ["AND", "OR", "WITH", "NOASSERTION", "NONE"]
]

# The identifiers of both fields, each once, in order.
package_ids(p) := unique(array.concat(
	expression_ids(object.get(p, "licenseConcluded", "")),
	expression_ids(object.get(p, "licenseDeclared", "")),
))

# (`some i; x := xs[i]` rather than `some i, x in xs`: regopy 1.5.2 reads the comma of the latter inside an
# array comprehension as an element separator and refuses the module.)
unique(xs) := [x |
	some i
	x := xs[i]
	not x in array.slice(xs, 0, i)
]

label(p) := sprintf("%s@%s", [p.name, p.versionInfo]) if {
	is_string(p.name)
	is_string(p.versionInfo)
} else := p.name if {
	is_string(p.name)
} else := object.get(p, "SPDXID", "(unnamed)")

# -- violations ---------------------------------------------------------------------------------------------

default violations := []

violations := array.concat(
	["input licenses must name at least one license" | count(banned) == 0],
	[sprintf("package %s has banned license %s", [label(p), id]) |
		some p in input.packages
		some id in package_ids(p)
		lower(id) in banned
	],
) if valid_input
