# junit-all-passed: no test case failed or errored, and at least `min_tests` test cases ran.
#
# The input is crafter's JUnit projection: `input.elements` is the list of suites, each with `tests`,
# `failures`, `errors`, `skipped` (counts that include nested suites), `testcases` ({name, classname, status,
# message}) and nested `suites`. Skipped test cases are neither failures nor runs. Failing test cases are
# named one by one down to suites nested four levels deep; deeper ones are counted in one violation.
# A report without any test case is a violation unless `min_tests` is 0, in which case it is skipped.
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

skip_reason := "the material is not a JUnit report (input.elements is not a list of test suites)" if {
	not is_junit
} else := "the JUnit report contains no test case" if {
	total == 0
	min_tests == 0
}

default valid_input := false

valid_input if {
	is_junit
	total > 0
}

valid_input if {
	is_junit
	total == 0
	min_tests != 0
}

valid_input if {
	is_junit
	not min_tests
}

is_junit if {
	is_array(input.elements)
	count([s | some s in input.elements; is_array(s.testcases); is_number(s.tests)]) == count(input.elements)
}

# -- counts (the top-level suites' counts include their nested suites) --------------------------------------

total := sum([s.tests | some s in input.elements])

not_run := sum([s.skipped | some s in input.elements; is_number(s.skipped)])

# (The sum is bound in the body: in `[a + b | ...]` the `|` would read as set union, in OPA as in regopy.)
failed := sum([n | some s in input.elements; n := s.failures + s.errors])

# Test cases down to suites nested four levels deep (each level read from the one above).
suites2 := [s2 | some s in input.elements; some s2 in s.suites]

suites3 := [s3 | some s2 in suites2; some s3 in s2.suites]

suites4 := [s4 | some s3 in suites3; some s4 in s3.suites]

cases := [c | some suites in [input.elements, suites2, suites3, suites4]; some s in suites; some c in s.testcases]

failing := [c | some c in cases; c.status in ["failed", "error"]]

# -- arguments ----------------------------------------------------------------------------------------------

min_tests_arg := object.get(input, ["args", "min_tests"], "1")

min_tests := whole_number(min_tests_arg)

# A whole number from its decimal text, leading zeros dropped first: a number parsed from "007" keeps its
# leading zeros in both engines (regopy then finds it unequal to 7; OPA cannot serialise it).
whole_number(s) := 0 if {
	is_string(s)
	regex.match(`^0+$`, s)
} else := to_number(trim_left(s, "0")) if {
	is_string(s)
	regex.match(`^[0-9]{1,9}$`, s)
}

# -- messages -----------------------------------------------------------------------------------------------
# Built with concat, not sprintf: regopy 1.5.2's sprintf prints the result of concat (and of lower, replace,
# format_int, regex.split) with quotes, unlike OPA.

test_name(c) := concat(".", [c.classname, c.name]) if {
	is_string(c.classname)
	c.classname != ""
} else := c.name

detail(c) := concat("", [": ", split(c.message, "\n")[0]]) if {
	is_string(c.message)
	c.message != ""
} else := ""

verb := {"failed": "failed", "error": "errored"}

failure_message(c) := concat("", ["test ", test_name(c), " ", verb[c.status], detail(c)])

# -- violations ---------------------------------------------------------------------------------------------

default violations := []

violations := array.concat(
	array.concat(
		[sprintf("input min_tests must be a whole number, got %v", [min_tests_arg]) | not min_tests],
		[failure_message(c) | some c in failing],
	),
	array.concat(
		[sprintf("failed tests in suites nested deeper than four levels: %d", [failed - count(failing)]) |
			failed > count(failing)
		],
		[sprintf("test cases run: %d (skipped ones not counted), at least %d required", [total - not_run, min_tests]) |
			total - not_run < min_tests
		],
	),
) if valid_input
