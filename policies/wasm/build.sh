#!/usr/bin/env bash
# Build the WASM versions of the library policies, reproducibly (docs/policies/wasm-authoring.md).
#
#   policies/wasm/src/NAME.ts  ->  policies/NAME-wasm/policy.wasm
#                                  and its digest in policies/NAME-wasm/policy.yaml (path: policy.wasm@sha256:...)
#   policies/NAME/tests/       ->  policies/NAME-wasm/tests/   (the Rego version's cases, copied as they are)
#
# The toolchain is pinned by package-lock.json (npm ci), and asc output depends only on the sources, so two
# builds give byte-identical modules; CI rebuilds and fails when `git status policies/` shows a difference.
set -euo pipefail
cd "$(dirname "$0")"

POLICIES=(cyclonedx-banned-licenses cyclonedx-vulnerabilities junit-all-passed)

npm ci --no-audit --no-fund --silent
for name in "${POLICIES[@]}"; do
  out="../$name-wasm"
  mkdir -p "$out"
  node_modules/.bin/asc "src/$name.ts" --outFile "$out/policy.wasm" \
    --use abort=src/lib/policy/policyAbort --optimize --runtime stub
  digest="$(sha256sum "$out/policy.wasm" | cut -d' ' -f1)"
  # Pin the module in the policy document, so that the document's own digest stands for the module too.
  sed -E "s|^( *)path: policy\.wasm(@sha256:[0-9a-f]{64})?\$|\1path: policy.wasm@sha256:$digest|" \
    "$out/policy.yaml" >"$out/policy.yaml.new"
  mv "$out/policy.yaml.new" "$out/policy.yaml"
  rm -rf "$out/tests"
  cp -R "../$name/tests" "$out/tests"
  echo "$out/policy.wasm: $(wc -c <"$out/policy.wasm") bytes, sha256:$digest"
done
