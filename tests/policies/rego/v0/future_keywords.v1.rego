package conftest

deny contains msg if {
    input.kind == "Deployment"
    not input.spec.replicas
    msg := "deployments must set replicas"
}

deny contains "no kind" if not input.kind

allowed if count(deny) == 0
