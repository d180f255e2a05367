# Sourced by scripts/run and scripts/test: make .venv with Python >= 3.11 and install the
# project into it (again only when pyproject.toml changed). Everything comes from PyPI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

extras="${1:-}"
venv=.venv
stamp="$venv/.installed${extras:+-$extras}"

if [ ! -x "$venv/bin/python" ]; then
  python=""
  for candidate in python3.13 python3.12 python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python="$candidate"; break
    fi
  done
  if [ -z "$python" ]; then
    echo "Herald needs Python 3.11 or newer; none was found on PATH." >&2
    exit 1
  fi
  echo "Creating $venv with $($python --version)…" >&2
  "$python" -m venv "$venv"
fi

if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "Installing Herald${extras:+ with [$extras]} into $venv…" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
  touch "$stamp"
fi
