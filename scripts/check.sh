#!/usr/bin/env bash
# Install the test dependencies into .venv and run every check: lint, format, types, import
# contracts, models-vs-migrations, then the whole test suite. CI runs exactly this.
# Extra arguments go to pytest (e.g. ./scripts/check.sh -k assets -x).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Metropilot needs Python 3.11 or newer; '$python' is $("$python" --version 2>&1)." >&2
    echo "Point PYTHON at a newer interpreter: PYTHON=python3.12 $0" >&2
    exit 2
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "ruff check";          .venv/bin/ruff check src tests bench
step "ruff format --check"; .venv/bin/ruff format --check src tests bench
step "mypy --strict src";   .venv/bin/mypy src
step "import contracts";    .venv/bin/lint-imports
step "models and migrations agree"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
METROPILOT_DATA_DIR="$scratch" METROPILOT_DATABASE_URL="" .venv/bin/metropilot db check
step "pytest";              .venv/bin/pytest "$@"
