#!/usr/bin/env bash
# End-to-end demo: a real, signed attestation of the "hello" release in a temporary directory (or
# $CRAFTER_DEMO_DIR), then verified as its consumer would. Needs `crafter` on PATH (see README.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${CRAFTER_DEMO_DIR:-$(mktemp -d -t crafter-demo.XXXXXX)}"
export CRAFTER_STATE_DIR="$work/state"
export CRAFTER_KEY_PASSWORD="${CRAFTER_KEY_PASSWORD:-demo-password}"
cd "$work"

# Each step prints its command, in bold on a terminal (plain text when piped or logged), then runs it.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }

step crafter keys generate --output-prefix release
step crafter init --contract "$here/contract.yaml" --project hello --version 1.0.0
step crafter add --name sbom --value "$here/sbom.cdx.json"
step crafter add --name tests --value "$here/junit.xml"
step crafter add --name release-file --value "$here/hello-1.0.0.py"
step crafter add --name build-ref --value "demo-build-42"
step crafter status
step crafter push --key release.key --bundle hello-1.0.0.sigstore.json
# What a consumer of the release does next: check the bundle with the public key against the file they got
# and the contract the release promised.
step crafter verify hello-1.0.0.sigstore.json --key release.pub --material "$here/hello-1.0.0.py" \
  --contract "$here/contract.yaml"

printf '\nSigned and verified in %s: hello-1.0.0.sigstore.json (bundle), release.pub (public key)\n' "$work"
