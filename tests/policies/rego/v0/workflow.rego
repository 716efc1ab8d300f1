package main

# The embedded policy of Chainloop's own crafter test data, in Rego v0.

violations[msg] {
    not is_workflow
    msg := "incorrect workflow"
}

is_workflow {
    input.workflow.name == "policytest"
}
