#!/usr/bin/env bash
# Regenerate the action's hash-pinned locks from pyproject.toml: action/requirements/*.txt.
#
#   python3 -m venv /tmp/uv && /tmp/uv/bin/pip install uv && UV=/tmp/uv/bin/uv action/lock.sh
#
# One universal resolution (Linux, macOS, Windows; Python 3.11 and newer) of crafter's dependencies and every
# extra but dev is written to all.txt; base.txt (no extra) and one file per extra (the base plus that extra) are
# then resolved with all.txt as constraints, so every file pins the same versions and any of them can be
# installed together. Run it whenever pyproject.toml's dependencies change or before a release, and commit the
# result with the version bump (docs/github-action.md, "Releasing").
set -euo pipefail
cd "$(dirname "$0")/.."
uv="${UV:-uv}"
out=action/requirements
mkdir -p "$out"
extras=$(python3 - <<'PY'
import tomllib
with open("pyproject.toml", "rb") as fh:
    project = tomllib.load(fh)["project"]
print(" ".join(sorted(e for e in project.get("optional-dependencies", {}) if e != "dev")))
PY
)
compile() {  # compile OUTPUT [uv options...]
  local output="$1"
  shift
  "$uv" pip compile pyproject.toml --quiet --universal --python-version 3.11 --generate-hashes \
    --no-header --annotation-style line --index-url "${CRAFTER_LOCK_INDEX_URL:-https://pypi.org/simple}" \
    "$@" -o "$output"
}
all_extras=()
for extra in $extras; do all_extras+=(--extra "$extra"); done
compile "$out/all.txt" "${all_extras[@]}" ${CRAFTER_LOCK_UPGRADE:+--upgrade}
compile "$out/base.txt" -c "$out/all.txt"
for extra in $extras; do
  compile "$out/$extra.txt" --extra "$extra" -c "$out/all.txt"
done
echo "locked: $(ls "$out")"
