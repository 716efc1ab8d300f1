# attestation-git-and-runner: the statement has a `git.head` subject (it was made from a git checkout), and its
# predicate's `runnerType` is a known CI runner, not `RUNNER_TYPE_UNSPECIFIED` (it was not made on a
# workstation); when `runner` names runner types, it is one of them (ignoring case).
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

skip_reason := "the input is not an in-toto statement" if {
	not valid_input
}

default valid_input := false

valid_input if {
	input._type in ["https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"]
	is_array(input.subject)
	is_object(input.predicate)
}

has_git_head if {
	some s in input.subject
	s.name == "git.head"
	is_object(s.digest)
	count(s.digest) > 0
}

runner_type := input.predicate.runnerType if {
	is_string(input.predicate.runnerType)
	input.predicate.runnerType != ""
} else := "RUNNER_TYPE_UNSPECIFIED"

# -- arguments ----------------------------------------------------------------------------------------------

runner_arg := object.get(input, ["args", "runner"], [])

as_list(x) := x if is_array(x)

as_list(x) := [x] if is_string(x)

accepted := [upper(r) | some r in as_list(runner_arg); is_string(r); r != ""]

# -- violations ---------------------------------------------------------------------------------------------
# Messages with a computed part are built with concat, not sprintf: regopy 1.5.2's sprintf prints the result of
# concat (and of lower, upper, replace, format_int, regex.split) with quotes, unlike OPA.

default violations := []

violations := array.concat(
	array.concat(
		["the attestation has no git.head subject: it was not made from a git checkout" | not has_git_head],
		["the attestation was not made in a CI runner (runnerType RUNNER_TYPE_UNSPECIFIED)" |
			runner_type == "RUNNER_TYPE_UNSPECIFIED"
		],
	),
	[concat("", ["the attestation was made in ", runner_type, ", the policy accepts ", concat(" or ", accepted)]) |
		runner_type != "RUNNER_TYPE_UNSPECIFIED"
		count(accepted) > 0
		not upper(runner_type) in accepted
	],
) if valid_input
