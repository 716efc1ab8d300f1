package main

import rego.v1


# Checks that every test suite passed.
# (Comments after the imports stay below the injected block.)

violations contains msg if {
    some suite in input.elements
    suite.failures > 0
    msg := sprintf("suite %s has failures", [suite.name])
}
