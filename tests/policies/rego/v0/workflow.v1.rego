package main

violations contains msg if {
    not is_workflow
    msg := "incorrect workflow"
}

is_workflow if {
    input.workflow.name == "policytest"
}
