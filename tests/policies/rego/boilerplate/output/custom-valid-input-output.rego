package main

import rego.v1

result := {
    "skipped": skipped,
    "violations": violations,
    "skip_reason": skip_reason,
    "ignore": ignore,
}

default skip_reason := ""

skip_reason := m if {
    not valid_input
    m := "the file content is not recognized"
}

default skipped := true

skipped := false if valid_input

default ignore := false

valid_input if input._type == "https://in-toto.io/Statement/v1"

violations contains "the statement has no subject" if count(input.subject) == 0
