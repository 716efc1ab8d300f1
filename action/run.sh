#!/usr/bin/env bash
# The action's run step: crafter's action runner (crafter/_internal/cli/action.py) with the interpreter of the venv
# install.sh made (CRAFTER_VENV): bin/python on Linux and macOS, Scripts/python.exe on Windows.
set -euo pipefail
venv="${CRAFTER_VENV:?CRAFTER_VENV is not set: the install step did not run}"
if [[ "$(uname -s)" == MINGW* || "$(uname -s)" == MSYS* || "$(uname -s)" == CYGWIN* ]] && command -v cygpath >/dev/null; then
  venv="$(cygpath -u "$venv")"
fi
for python in "$venv/bin/python" "$venv/Scripts/python.exe"; do
  if [[ -x "$python" ]]; then
    # crafter 0.1 kept its modules outside crafter._internal: a `version:` pinned to it still runs.
    if "$python" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("crafter._internal") is None)'; then
      exec "$python" -m crafter._internal.cli.action
    fi
    exec "$python" -m crafter.cli.action
  fi
done
echo "::error title=crafter action::no Python in $venv (bin/python or Scripts/python.exe)" >&2
exit 2
