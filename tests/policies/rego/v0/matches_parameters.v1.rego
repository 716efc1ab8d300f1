package test_matches_parameters

severities := ["low", "medium", "high", "critical"]

severity_index(level) := index if {
    some i
    severities[i] == level
    index := i
}

matches_parameters := answer if {
    evaluated := severity_index(input.args.severity)
    expected := severity_index(input.expected_args.severity)
    answer := expected >= evaluated
}
