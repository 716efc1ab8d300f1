#!/usr/bin/env bash
# Install crafter into a virtual environment of its own under $RUNNER_TEMP, once per job: later steps of the
# same job (the next `add`, the `push`) find it and skip the install. Inputs come as CRAFTER_ACTION_* variables.
#
# Reproducible: the dependencies come from the hash-pinned locks in action/requirements/ (base.txt, plus one
# file per extra), installed with --require-hashes; crafter itself then installs with --no-deps, from this
# action's source or, with a version, as crafter-attest==VERSION (from find-links only, when it is given).
# Linux and macOS venvs have bin/python; Windows ones Scripts/python.exe: both are handled.
set -euo pipefail

: "${RUNNER_TEMP:?RUNNER_TEMP is not set (run inside GitHub Actions, or set it)}"
version="${CRAFTER_ACTION_VERSION:-}"
extras="${CRAFTER_ACTION_EXTRAS:-}"
find_links="${CRAFTER_ACTION_FIND_LINKS:-}"
source_dir="${CRAFTER_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

fail() {
  echo "::error title=crafter action::$1" >&2
  exit 2
}

windows() { [[ "$(uname -s)" == MINGW* || "$(uname -s)" == MSYS* || "$(uname -s)" == CYGWIN* ]] && command -v cygpath >/dev/null; }
# A path the runner understands (GITHUB_PATH, GITHUB_ENV): a Windows path under Git Bash on Windows.
native_path() {
  if windows; then cygpath -w "$1"; else printf '%s' "$1"; fi
}
# A path bash understands: the runner gives Windows paths (D:\a\_temp) on Windows.
posix_path() {
  if windows; then cygpath -u "$1"; else printf '%s' "$1"; fi
}
source_dir="$(posix_path "$source_dir")"
locks_dir="$source_dir/action/requirements"

if [[ -n "$version" && ! "$version" =~ ^[0-9A-Za-z.+!-]+$ ]]; then
  fail "input 'version' is not a version: $version"
fi
if [[ -n "$extras" && ! "$extras" =~ ^[a-z0-9,-]+$ ]]; then
  fail "input 'extras' must be comma-separated names: $extras"
fi
locks=("$locks_dir/base.txt")
IFS=, read -r -a extra_names <<<"$extras"
for extra in ${extra_names[@]+"${extra_names[@]}"}; do
  [[ -z "$extra" ]] && continue
  [[ -f "$locks_dir/$extra.txt" ]] || fail "unknown extra '$extra' (input 'extras'); known: $(cd "$locks_dir" && ls -- *.txt | sed 's/\.txt$//' | grep -vx 'base\|all' | paste -sd, -)"
  locks+=("$locks_dir/$extra.txt")
done

crafter_spec="$source_dir"
[[ -n "$version" ]] && crafter_spec="crafter-attest==${version}"
# The stamp: what is installed; a later step asking for the same finds it and skips the install.
lock_digest="$(cat "${locks[@]}" | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-64)"
spec="${crafter_spec} extras=${extras} locks=${lock_digest} find-links=${find_links}"

venv="$(posix_path "$RUNNER_TEMP")/crafter-venv"
stamp="$venv/.crafter-action-spec"
venv_bin() {  # the venv's scripts directory: bin (POSIX) or Scripts (Windows)
  if [[ -d "$venv/Scripts" && ! -d "$venv/bin" ]]; then echo "$venv/Scripts"; else echo "$venv/bin"; fi
}
venv_python() {
  local bin
  bin="$(venv_bin)"
  if [[ -e "$bin/python.exe" ]]; then echo "$bin/python.exe"; else echo "$bin/python"; fi
}

if [[ -f "$stamp" && "$(cat "$stamp")" == "$spec" ]]; then
  echo "crafter already installed in $venv ($crafter_spec)"
else
  python="${CRAFTER_ACTION_PYTHON:-}"
  if [[ -z "$python" ]]; then  # python3 on Linux and macOS; Windows runners (and setup-python there) have python
    if command -v python3 >/dev/null; then python=python3; else python=python; fi
  fi
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    fail "crafter needs Python 3.11 or newer; '$python' is not (use actions/setup-python or the 'python' input)"
  fi
  rm -rf "$venv"
  "$python" -m venv "$venv"
  py="$(venv_python)"
  pip=("$py" -m pip install --quiet --disable-pip-version-check)
  lock_args=()
  for lock in "${locks[@]}"; do lock_args+=(-r "$lock"); done
  # Word splitting of pip-args is wanted: it holds several pip options.
  # shellcheck disable=SC2086
  "${pip[@]}" --require-hashes ${CRAFTER_ACTION_PIP_ARGS:-} "${lock_args[@]}"
  crafter_from=()
  [[ -n "$find_links" && -n "$version" ]] && crafter_from=(--no-index --find-links "$find_links")
  # shellcheck disable=SC2086
  "${pip[@]}" --no-deps ${CRAFTER_ACTION_PIP_ARGS:-} ${crafter_from[@]+"${crafter_from[@]}"} "$crafter_spec"
  "$py" -m pip check --disable-pip-version-check >/dev/null || {
    "$py" -m pip check --disable-pip-version-check >&2 || true
    fail "crafter's dependencies do not match the lock (action/requirements): regenerate it with action/lock.sh"
  }
  printf '%s' "$spec" >"$stamp"
fi
bin="$(venv_bin)"
if [[ -e "$bin/crafter.exe" ]]; then "$bin/crafter.exe" --version; else "$bin/crafter" --version; fi

if [[ -n "${GITHUB_ENV:-}" ]]; then
  {
    echo "CRAFTER_VENV=$(native_path "$venv")"
    echo "CRAFTER_PYTHON=$(native_path "$(venv_python)")"
  } >>"$GITHUB_ENV"
fi
if [[ -n "${GITHUB_PATH:-}" ]]; then echo "$(native_path "$bin")" >>"$GITHUB_PATH"; fi
