#!/usr/bin/env bash
# Run the whole pytest suite twice: on SQLite (TEST_DATABASE_URL unset, incl. e2e tests) and on a
# throwaway PostgreSQL (TEST_DATABASE_URL set, without e2e tests). The PostgreSQL server is
# stopped and its directory removed on every exit path (failure, Ctrl-C, SIGTERM).
#
# Environment: PY (default .venv/bin/python), PYTEST_ARGS (extra pytest arguments, shell-quoted,
# e.g. PYTEST_ARGS='-x -k "login and not slow"'), PGSERVER (default tests/support/pgserver.py).
# Exit status: 0 only when both runs pass.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PY=${PY:-.venv/bin/python}
PGSERVER=${PGSERVER:-tests/support/pgserver.py}
eval "extra_args=(${PYTEST_ARGS:-})"
# Unit tests run in parallel workers (pytest-xdist; each worker has its own database);
# PYTEST_WORKERS=0 runs them in one process.
workers=${PYTEST_WORKERS:-$(nproc 2>/dev/null || echo 2)}
xdist=()
if [[ "$workers" != "0" ]]; then xdist=(-n "$workers"); fi

pgdir=""
cleanup() {
    if [[ -n "$pgdir" ]]; then
        "$PY" "$PGSERVER" stop --dir "$pgdir" || echo "run_suite: could not stop PostgreSQL in $pgdir" >&2
        pgdir=""
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- 1. SQLite ------------------------------------------------------------------------------
echo
echo "=== Test suite on SQLite ==="
env -u TEST_DATABASE_URL "$PY" -m pytest "${xdist[@]}" -m "not e2e" "${extra_args[@]}" --ignore=tests/e2e
sqlite_rc=$?
echo
echo "=== Browser tests (Playwright + Chromium) on SQLite ==="
env -u TEST_DATABASE_URL "$PY" -m pytest tests/e2e "${extra_args[@]}"
e2e_rc=$?
if [[ $e2e_rc -eq 5 ]]; then e2e_rc=0; fi  # PYTEST_ARGS selected no browser test
if [[ $sqlite_rc -eq 0 ]]; then sqlite_rc=$e2e_rc; fi

# --- 2. PostgreSQL --------------------------------------------------------------------------
pg_rc=1
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/bwp-pgtest.XXXXXX")
if url=$("$PY" "$PGSERVER" start --dir "$pgdir"); then
    port=${url##*:}
    port=${port%%/*}
    echo
    echo "=== Test suite on PostgreSQL (127.0.0.1:${port}) ==="
    # e2e (browser) tests run only against SQLite; --ignore also keeps them out when
    # PYTEST_ARGS brings its own -m (the last -m wins in pytest).
    TEST_DATABASE_URL="$url" "$PY" -m pytest "${xdist[@]}" -m "not e2e" "${extra_args[@]}" --ignore=tests/e2e
    pg_rc=$?
else
    echo "=== PostgreSQL could not be started; the PostgreSQL run counts as failed ===" >&2
    rmdir "$pgdir" 2>/dev/null
    pgdir=""
fi
cleanup

echo
echo "=== Summary: SQLite $([[ $sqlite_rc -eq 0 ]] && echo passed || echo "FAILED (exit $sqlite_rc)")," \
     "PostgreSQL $([[ $pg_rc -eq 0 ]] && echo passed || echo "FAILED (exit $pg_rc)") ==="
if [[ $sqlite_rc -ne 0 ]]; then exit "$sqlite_rc"; fi
exit "$pg_rc"
