#!/usr/bin/env bash
# The whole test suite (README Quick start, and .ci/run): lint, types, import contracts,
# then pytest on SQLite and on a throwaway PostgreSQL server started here.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
status=0

echo "== ruff"; $BIN/ruff check screener tests benchmarks || status=1
echo "== mypy (strict on screener/)"; $BIN/mypy || status=1
echo "== import contracts"; $BIN/lint-imports || status=1

pg_dir=""
if [ -z "${SCREENER_TEST_PG_URL:-}" ] && [ "${SCREENER_SKIP_PG:-}" != 1 ]; then
  if out=$(bash scripts/pg.sh start); then
    eval "$out"; pg_dir=$SCREENER_PG_DIR
    echo "== PostgreSQL test server at ${SCREENER_TEST_PG_URL}"
  elif [ "${CI:-}" = true ]; then
    echo "CI: the PostgreSQL test server could not start" >&2; status=1
  else
    echo "== PostgreSQL not available: its tests will be skipped (they run in CI)"
  fi
fi
trap '[ -n "$pg_dir" ] && bash scripts/pg.sh stop "$pg_dir"' EXIT

echo "== pytest"
# The CLI, crash and concurrency tests start Python processes that import screener; with
# PYTHONDONTWRITEBYTECODE set (as in some CI images) each one compiles it again (about
# 0.1 s of CPU each). Bytecode goes to the clone's gitignored __pycache__ folders.
unset PYTHONDONTWRITEBYTECODE
$BIN/python -m pytest -q -n 2 --dist loadgroup "$@"
rc=$?
[ $rc -ne 0 ] && status=$rc
exit $status
