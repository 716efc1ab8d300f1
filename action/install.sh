#!/usr/bin/env bash
# Install crafter into a virtual environment of its own under $RUNNER_TEMP, once per job: later steps of the
# same job (the next `add`, the `push`) find it and skip the install. Inputs come as CRAFTER_ACTION_* variables.
set -euo pipefail

: "${RUNNER_TEMP:?RUNNER_TEMP is not set (run inside GitHub Actions, or set it)}"
python="${CRAFTER_ACTION_PYTHON:-python3}"
version="${CRAFTER_ACTION_VERSION:-}"
extras="${CRAFTER_ACTION_EXTRAS:-}"
source_dir="${CRAFTER_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

if [[ -n "$version" && ! "$version" =~ ^[0-9A-Za-z.+!-]+$ ]]; then
  echo "::error title=crafter action::input 'version' is not a version: $version" >&2
  exit 2
fi
if [[ -n "$extras" && ! "$extras" =~ ^[a-z0-9,-]+$ ]]; then
  echo "::error title=crafter action::input 'extras' must be comma-separated names: $extras" >&2
  exit 2
fi

spec="${source_dir}"
[[ -n "$version" ]] && spec="crafter-attest==${version}"
[[ -n "$extras" ]] && spec="${spec}[${extras}]"

venv="$RUNNER_TEMP/crafter-venv"
stamp="$venv/.crafter-action-spec"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$spec" ]]; then
  echo "crafter already installed in $venv ($spec)"
else
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "::error title=crafter action::crafter needs Python 3.11 or newer; '$python' is not (use actions/setup-python or the 'python' input)" >&2
    exit 2
  fi
  "$python" -m venv "$venv"
  # Word splitting of pip-args is wanted: it holds several pip options.
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check ${CRAFTER_ACTION_PIP_ARGS:-} "$spec"
  printf '%s' "$spec" >"$stamp"
fi
"$venv/bin/crafter" --version

if [[ -n "${GITHUB_ENV:-}" ]]; then echo "CRAFTER_VENV=$venv" >>"$GITHUB_ENV"; fi
if [[ -n "${GITHUB_PATH:-}" ]]; then echo "$venv/bin" >>"$GITHUB_PATH"; fi
