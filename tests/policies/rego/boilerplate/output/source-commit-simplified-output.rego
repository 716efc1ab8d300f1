package source_commit

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

default valid_input := true

default skipped := true

skipped := false if valid_input

default ignore := false

violations contains "the statement does not record the source commit" if not commit_digest

violations contains "the source commit is not signed" if {
    input.args.check_signature == "yes"
    not commit_signed
}

commit_digest := subject.digest.sha1 if {
    some subject in input.subject
    subject.name == "git.head"
}

commit_signed if {
    some subject in input.subject
    subject.annotations.signature != ""
}
