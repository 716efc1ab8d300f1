# openvex-cves-addressed: every vulnerability in `cves` has at least one OpenVEX statement, and no statement
# about it is still `under_investigation`.
#
# A statement is about a vulnerability when its `vulnerability.name` or one of its `vulnerability.aliases`
# (OpenVEX 0.2), or its `vulnerability` string (OpenVEX 0.0.x), equals it, ignoring case. Any other status
# (`not_affected`, `affected`, `fixed`) addresses it. Without any vulnerability in `cves` the policy is skipped.
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

skip_reason := "the material is not an OpenVEX document" if {
	not is_openvex
} else := "input cves names no vulnerability: nothing to check" if {
	count(cves) == 0
}

default valid_input := false

valid_input if {
	is_openvex
	count(cves) > 0
}

is_openvex if {
	is_string(input["@context"])
	startswith(input["@context"], "https://openvex.dev/ns")
	is_array(input.statements)
}

# -- arguments ----------------------------------------------------------------------------------------------

cves_arg := object.get(input, ["args", "cves"], [])

as_list(x) := x if is_array(x)

as_list(x) := [x] if is_string(x)

cves := unique([upper(c) | some c in as_list(cves_arg); is_string(c); c != ""])

# (`some i; x := xs[i]` rather than `some i, x in xs`: regopy 1.5.2 reads the comma of the latter inside an
# array comprehension as an element separator and refuses the module.)
unique(xs) := [x |
	some i
	x := xs[i]
	not x in array.slice(xs, 0, i)
]

# -- statements ---------------------------------------------------------------------------------------------

names(s) := [upper(s.vulnerability)] if {
	is_string(s.vulnerability)
} else := [upper(n) |
	some n in array.concat([object.get(s.vulnerability, "name", "")], object.get(s.vulnerability, "aliases", []))
	is_string(n)
	n != ""
] if {
	is_object(s.vulnerability)
} else := []

about(cve) := [s | some s in input.statements; cve in names(s)]

products(s) := [p | some x in s.products; p := product_id(x)]

product_id(x) := x if {
	is_string(x)
} else := x["@id"] if {
	is_string(x["@id"])
}

# -- messages -----------------------------------------------------------------------------------------------
# Built with concat, not sprintf: regopy 1.5.2's sprintf prints the result of concat (and of lower, upper,
# replace, format_int, regex.split) with quotes, unlike OPA.

investigating(cve, s) := concat("", [cve, " is still under investigation for ", concat(", ", products(s))]) if {
	count(products(s)) > 0
} else := concat("", [cve, " is still under investigation"])

# -- violations ---------------------------------------------------------------------------------------------

default violations := []

violations := array.concat(
	[concat("", ["no OpenVEX statement addresses ", cve]) |
		some cve in cves
		count(about(cve)) == 0
	],
	[investigating(cve, s) |
		some cve in cves
		some s in about(cve)
		s.status == "under_investigation"
	],
) if valid_input
