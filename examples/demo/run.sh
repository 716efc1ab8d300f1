#!/usr/bin/env bash
# End-to-end demo: a real, signed attestation of the "hello" release, in a temporary directory.
# Needs `crafter` on PATH (see README.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${CRAFTER_DEMO_DIR:-$(mktemp -d -t crafter-demo.XXXXXX)}"
export CRAFTER_STATE_DIR="$work/state"
export CRAFTER_KEY_PASSWORD="${CRAFTER_KEY_PASSWORD:-demo-password}"
cd "$work"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step crafter keys generate --output-prefix "$work/release"
step crafter init --contract "$here/contract.yaml" --project hello --version 1.0.0
step crafter add --name sbom --value "$here/sbom.cdx.json"
step crafter add --name tests --value "$here/junit.xml"
step crafter add --name release-file --value "$here/hello-1.0.0.py"
step crafter add --name build-ref --value "demo-build-42"
step crafter status
step crafter push --key "$work/release.key" --bundle "$work/hello-1.0.0.sigstore.json"

printf '\nSigned bundle: %s\nPublic key:    %s\n' "$work/hello-1.0.0.sigstore.json" "$work/release.pub"
