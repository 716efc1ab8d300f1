# cyclonedx-vulnerabilities: no vulnerability in the SBOM's `vulnerabilities` is rated `severity` or above.
#
# A vulnerability's severity is the highest `ratings[].severity` it has (`unknown` and missing ratings do not
# count). Vulnerabilities whose `analysis.state` says they do not apply (`not_affected`, `false_positive`,
# `resolved`, `resolved_with_pedigree`) are left out. A CycloneDX document without a `vulnerabilities` key is
# no vulnerability report: skipped.
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
} else := "the SBOM carries no vulnerability report (no vulnerabilities key)" if {
	not has_report
}

default valid_input := false

valid_input if {
	is_cyclonedx
	has_report
}

is_cyclonedx if input.bomFormat == "CycloneDX"

# A helper rule, never `not is_array(input.vulnerabilities)`: when the key is missing OPA makes that whole
# expression undefined (the reference is evaluated outside the negation) where regopy makes it true.
has_report if is_array(input.vulnerabilities)

# -- severities ---------------------------------------------------------------------------------------------

level_names := ["none", "info", "low", "medium", "high", "critical"]

level(name) := i if {
	is_string(name)
	some i, n in level_names
	n == lower(name)
}

severity_arg := object.get(input, ["args", "severity"], "high")

threshold := level(severity_arg)

not_applicable := ["not_affected", "false_positive", "resolved", "resolved_with_pedigree"]

# The highest known rating of a vulnerability; undefined when it has none.
highest(v) := max(levels) if {
	levels := [l | some r in v.ratings; l := level(r.severity)]
	count(levels) > 0
}

# Messages are built with concat, not sprintf: regopy 1.5.2's sprintf prints the result of concat (and of
# lower, replace, format_int, regex.split) with quotes, unlike OPA.
message(v, lvl) := concat("", [vuln_id(v), " (", level_names[lvl], ") affects ", concat(", ", refs)]) if {
	refs := [a.ref | some a in v.affects; is_string(a.ref)]
	count(refs) > 0
} else := sprintf("%s (%s)", [vuln_id(v), level_names[lvl]])

vuln_id(v) := v.id if {
	is_string(v.id)
} else := "(no id)"

# -- violations ---------------------------------------------------------------------------------------------

default violations := []

violations := array.concat(
	[sprintf("input severity must be one of none, info, low, medium, high, critical, got %v", [severity_arg]) |
		not threshold
	],
	[message(v, lvl) |
		some v in input.vulnerabilities
		not object.get(v, ["analysis", "state"], "") in not_applicable
		lvl := highest(v)
		lvl >= threshold
	],
) if valid_input
