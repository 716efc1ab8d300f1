package main

import rego.v1

result := {
    "skipped": skipped,
    "violations": violations,
    "skip_reason": skip_reason,
    "ignore": ignore,
}

default skip_reason := ""

skip_reason := "no input" if count(input) == 0

default skipped := true

skipped := false if count(input) > 0

default ignore := false

default valid_input := true

default violations := []

violations := ["empty name"] if input.name == ""
