package main

import rego.v1

valid_input if input._type == "https://in-toto.io/Statement/v1"

violations contains "the statement has no subject" if count(input.subject) == 0
