# Sourced by scripts/run and scripts/test: make .venv with Python >= 3.11 and install the
# project into it (again only when pyproject.toml changed). Everything comes from PyPI.
# The caller's working directory is left alone (scripts/run's paths and .env are the caller's);
# afterwards $root is the repository and $venv its virtual environment, both absolute.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

extras="${1:-}"
venv="$root/.venv"
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

# Installed with these extras (or, for none, with dev: a superset) since pyproject.toml changed?
current() { [ -f "$1" ] && [ ! "$root/pyproject.toml" -nt "$1" ]; }
if ! current "$stamp" && ! { [ -z "$extras" ] && current "$venv/.installed-dev"; }; then
  echo "Installing Herald${extras:+ with [$extras]} into $venv…" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  # setuptools' "Editable installation" notice is about folders named like Herald's packages
  # in the working directory; scripts/run runs Python with -P, so they cannot shadow it.
  PYTHONWARNINGS="ignore:Editable installation" \
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e "$root${extras:+[$extras]}"
  touch "$stamp"
fi
