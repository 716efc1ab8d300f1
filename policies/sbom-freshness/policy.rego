# sbom-freshness: the SBOM was created at most `limit` days before the evaluation.
#
# The SBOM's creation time is CycloneDX `metadata.timestamp` or SPDX `creationInfo.created`; a missing or
# malformed one is a violation. The evaluation time is `input.chainloop_metadata.evaluation_time`, never the
# clock (`time.now_ns()`), so that replaying the evaluation later gives the same result; without it the
# policy is skipped. An SBOM created after the evaluation time is not a violation.
#
# Times are checked against an RFC 3339 pattern and a calendar before time.parse_rfc3339_ns sees them, so a
# bad time is a violation rather than an evaluation error, and a trailing `Z` is rewritten to `+00:00`
# (regopy 1.5.2 cannot parse `Z`; OPA can, and both give the same result for the rewritten form).
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
	not is_sbom
} else := "input.chainloop_metadata.evaluation_time is missing or is not an RFC 3339 time" if {
	not evaluation_ns
}

default valid_input := false

valid_input if {
	is_sbom
	evaluation_ns
}

is_cyclonedx if input.bomFormat == "CycloneDX"

is_spdx if {
	is_string(input.spdxVersion)
	startswith(input.spdxVersion, "SPDX-")
}

is_sbom if is_cyclonedx

is_sbom if is_spdx

evaluation_ns := time_ns(input.chainloop_metadata.evaluation_time)

# -- the SBOM's creation time -------------------------------------------------------------------------------

created_field := "metadata.timestamp" if {
	is_cyclonedx
} else := "creationInfo.created"

created := input.metadata.timestamp if {
	is_cyclonedx
} else := input.creationInfo.created if {
	is_spdx
}

# -- RFC 3339 times -----------------------------------------------------------------------------------------

rfc3339 := `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`

# Nanoseconds since the epoch of an RFC 3339 time; undefined (never an error) for anything else, including
# impossible dates and years outside what 64-bit nanoseconds can hold (time.parse_rfc3339_ns would make those
# an evaluation error in both engines).
time_ns(t) := time.parse_rfc3339_ns(with_offset(checked_time(t)))

checked_time(t) := t if {
	is_string(t)
	regex.match(rfc3339, t)
	year := substring(t, 0, 4)
	year >= "1678"
	year <= "2261"
	substring(t, 8, 2) <= days_in_month(to_number(year), substring(t, 5, 2))
}

# Days in a month, as two-digit strings compared as strings: a number parsed from "02" keeps its leading zero
# in both engines (regopy then finds it unequal to 2; OPA cannot serialise it).
days_in_month(year, month) := "29" if {
	month == "02"
	leap_year(year)
} else := "28" if {
	month == "02"
} else := "30" if {
	month in ["04", "06", "09", "11"]
} else := "31"

leap_year(y) if {
	y % 4 == 0
	y % 100 != 0
}

leap_year(y) if y % 400 == 0

with_offset(t) := concat("", [substring(t, 0, count(t) - 1), "+00:00"]) if {
	endswith(t, "Z")
} else := t

# -- arguments ----------------------------------------------------------------------------------------------

limit_arg := object.get(input, ["args", "limit"], "30")

limit := whole_number(limit_arg)

# A whole number from its decimal text, leading zeros dropped first (see days_in_month).
whole_number(s) := 0 if {
	is_string(s)
	regex.match(`^0+$`, s)
} else := to_number(trim_left(s, "0")) if {
	is_string(s)
	regex.match(`^[0-9]{1,6}$`, s)
}

ns_per_day := ((24 * 60) * 60) * 1000000000

# -- violations ---------------------------------------------------------------------------------------------

default violations := []

violations := array.concat(
	[sprintf("input limit must be a whole number of days, got %v", [limit_arg]) | not limit],
	[msg | limit; msg := freshness_problem],
) if valid_input

freshness_problem := sprintf("the SBOM has no creation time (%s)", [created_field]) if {
	not created
} else := sprintf("the SBOM creation time %v (%s) is not an RFC 3339 time", [created, created_field]) if {
	not time_ns(created)
} else := msg if {
	age := evaluation_ns - time_ns(created)
	age > limit * ns_per_day
	msg := sprintf(
		"the SBOM was created at %s, %d days before the evaluation; the limit is %d days",
		[created, floor(age / ns_per_day), limit],
	)
}
