package main

import rego.v1

default skipped := true

skipped := false if input.kind == "sbom"

violations contains "no components" if count(input.components) == 0
