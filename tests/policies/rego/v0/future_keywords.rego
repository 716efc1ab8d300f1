package conftest

import future.keywords.contains
import future.keywords.if

# A v0 module that imported the v1 keywords: `deny[msg] if` is still a partial set here.

deny[msg] if {
    input.kind == "Deployment"
    not input.spec.replicas
    msg := "deployments must set replicas"
}

deny contains "no kind" if not input.kind

allowed if count(deny) == 0
