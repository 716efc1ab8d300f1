# sarif-no-errors: no result of any run of the SARIF 2.1.0 log is at the `error` level.
#
# A result's level is its own `level`; else `none` when its `kind` is not `fail`; else the
# `defaultConfiguration.level` of its rule (by `ruleIndex`, `rule.index` or `ruleId`); else `warning`, as the
# SARIF specification says. Suppressed results (a suppression whose status is absent or `accepted`) and results
# whose `baselineState` is `absent` do not count. A log where no run has a `results` list (the analysis did
# not complete) is skipped.
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

skip_reason := "the material is not a SARIF 2.1.0 log" if {
	not is_sarif
} else := "no run of the SARIF log has results (the analysis did not complete)" if {
	not has_results
}

default valid_input := false

valid_input if {
	is_sarif
	has_results
}

is_sarif if {
	input.version == "2.1.0"
	is_array(input.runs)
}

has_results if {
	some run in input.runs
	is_array(run.results)
}

# -- levels -------------------------------------------------------------------------------------------------

level(run, r) := r.level if {
	is_string(r.level)
} else := "none" if {
	is_string(r.kind)
	r.kind != "fail"
} else := rule_level(run, r) if {
	is_string(rule_level(run, r))
} else := "warning"

rule_level(run, r) := run.tool.driver.rules[r.ruleIndex].defaultConfiguration.level if {
	is_number(r.ruleIndex)
} else := run.tool.driver.rules[r.rule.index].defaultConfiguration.level if {
	is_number(r.rule.index)
} else := levels[0] if {
	levels := [l |
		some rule in run.tool.driver.rules
		rule.id == rule_id(r)
		l := rule.defaultConfiguration.level
	]
	count(levels) > 0
}

suppressed(r) if {
	some s in r.suppressions
	object.get(s, "status", "accepted") == "accepted"
}

suppressed(r) if r.baselineState == "absent"

# -- messages -----------------------------------------------------------------------------------------------
# Built with concat, not sprintf: regopy 1.5.2's sprintf prints the result of concat (and of lower, replace,
# format_int, regex.split) with quotes, unlike OPA.

rule_id(r) := r.ruleId if {
	is_string(r.ruleId)
} else := r.rule.id if {
	is_string(r.rule.id)
} else := "(no rule id)"

tool(run) := run.tool.driver.name if {
	is_string(run.tool.driver.name)
} else := "(unnamed tool)"

location(r) := concat("", [" at ", loc.artifactLocation.uri, ":", format_int(loc.region.startLine, 10)]) if {
	loc := r.locations[0].physicalLocation
	is_string(loc.artifactLocation.uri)
	is_number(loc.region.startLine)
} else := concat("", [" at ", loc.artifactLocation.uri]) if {
	loc := r.locations[0].physicalLocation
	is_string(loc.artifactLocation.uri)
} else := ""

text(r) := concat("", [": ", split(r.message.text, "\n")[0]]) if {
	is_string(r.message.text)
	r.message.text != ""
} else := ""

# -- violations ---------------------------------------------------------------------------------------------

default violations := []

violations := [concat("", [tool(run), ": ", rule_id(r), location(r), text(r)]) |
	some run in input.runs
	some r in run.results
	level(run, r) == "error"
	not suppressed(r)
] if valid_input
