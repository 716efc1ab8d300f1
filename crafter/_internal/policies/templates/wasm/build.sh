#!/usr/bin/env bash
# Build policy.wasm from src/policy.ts, reproducibly: the toolchain is pinned by package-lock.json (npm ci),
# and the same sources always give the same bytes (pin the module with its @sha256: digest).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --silent
node_modules/.bin/asc src/policy.ts --outFile policy.wasm \
  --use abort=src/lib/policy/policyAbort --optimize --runtime stub
echo "policy.wasm: $(wc -c <policy.wasm) bytes, sha256:$(sha256sum policy.wasm | cut -d' ' -f1)"
