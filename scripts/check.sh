#!/usr/bin/env bash
# Install the test dependencies into .venv and run every check: lint, format, types, import
# contracts, models-vs-migrations, the JavaScript's lint and unit tests (npm ci installs ESLint into
# node_modules), then the whole test suite, and the suite again with the clock moved a year ahead.
# CI runs exactly this.
# Extra arguments go to both pytest runs (e.g. ./scripts/check.sh -k assets -x).
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
# The pages' JavaScript (ES modules under src/metropilot/web/static, vendored libraries left out):
# ESLint and node's own test runner, from the versions pinned in package-lock.json.
if command -v node >/dev/null && command -v npm >/dev/null; then
    step "npm ci";          npm ci --no-audit --no-fund --loglevel=error
    step "eslint";          npx --no-install eslint src/metropilot/web/static tests/js
    step "node --test";     node --test tests/js/
elif [ "${CI:-}" = true ]; then
    echo "Node.js and npm are missing: CI must lint and test the pages' JavaScript" >&2
    exit 1
else
    printf '\033[33mskipped: the JavaScript checks need Node.js 20 and npm\033[0m\n' >&2
fi
step "pytest";              .venv/bin/pytest "$@"

# No test may depend on today's date: the suite runs again with the wall clock a year ahead, by
# libfaketime in relative mode (Debian's faketime package), for this process and all it starts
# (servers, workers, the CLI; not Chromium, see tests/browser/conftest.py). The monotonic clock,
# which measures timeouts and durations, is left alone, and tests/moved_clock/sitecustomize.py
# works around libfaketime's time.sleep on it; the PostgreSQL server's clock is not moved either
# (the platform never asks it the time). The soak and fuzzing tests are left out of this run:
# they are about load and inputs, not dates, and cost minutes. Without faketime the run is
# skipped with a warning, except in CI. See docs/development.md.
step "pytest, the clock a year ahead"
if command -v faketime >/dev/null; then
    moved() { faketime -m --exclude-monotonic -f "+365d" "$@"; }
    if [ $(($(moved date +%s) - $(date +%s))) -lt $((364 * 86400)) ]; then
        echo "faketime does not move the clock here; the moved-clock run would prove nothing" >&2
        exit 1
    fi
    echo "the platform's clock reads $(moved date -u +%FT%TZ)"
    PYTHONPATH="$PWD/tests/moved_clock${PYTHONPATH:+:$PYTHONPATH}" moved .venv/bin/pytest -m "not soak and not fuzz" "$@"
elif [ "${CI:-}" = true ]; then
    echo "faketime is missing: CI must run the suite with the clock moved (apt-get install faketime)" >&2
    exit 1
else
    printf '\033[33mskipped: faketime is not installed (apt-get install faketime)\033[0m\n' >&2
fi
