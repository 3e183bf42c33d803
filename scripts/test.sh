#!/usr/bin/env bash
# `make test`: the whole suite against the real services, on the CKAN version
# of MEL_CKAN (`make test CKAN=2.11`). Arguments are passed to pytest
# (make test ARGS="-k quota").
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

# MEL_TEST_DB lets several test runs share the services without sharing data:
# each gets its own database, DataStore database, Redis database and Solr site_id.
# MEL_TEST_WORKERS=N (what `make test` sets: one per core) runs the tests in N
# processes (pytest-xdist), each on databases of its own: NAME_gw0, NAME_gw1…
# (tests/conftest.py points each process at its own).
TEST_DB=${MEL_TEST_DB:-ckan_test$DB_SUFFIX}
REDIS_DB=${MEL_TEST_REDIS_DB:-1}
WORKERS=${MEL_TEST_WORKERS:-1}
scripts/services.sh start

scripts/services.sh createdb "$TEST_DB"
use_db "$TEST_DB" "$REDIS_DB"
"$VENV/bin/ckan" -c test.ini db upgrade >/dev/null
permissions=$("$VENV/bin/ckan" -c test.ini datastore set-permissions)
scripts/services.sh psql "${TEST_DB}_datastore" <<<"$permissions" >/dev/null
parallel=()
if ((WORKERS > 1)); then
    # Each process's databases are copies of the migrated ones, with the
    # DataStore's permissions granted again under their own names.
    for ((i = 0; i < WORKERS; i++)); do
        scripts/services.sh clonedb "${TEST_DB}_gw$i" "$TEST_DB" >/dev/null
        sed "s/\"$TEST_DB/\"${TEST_DB}_gw$i/g" <<<"$permissions" |
            scripts/services.sh psql "${TEST_DB}_gw${i}_datastore" >/dev/null
    done
    parallel=(-n "$WORKERS" --dist loadfile)
fi
export MEL_TEST_DB=$TEST_DB
use_db "$TEST_DB" "$REDIS_DB"
export CKAN_SITE_ID=mel-test-$TEST_DB
say "CKAN $("$VENV/bin/python" -c 'import ckan; print(ckan.__version__)') on $TEST_DB ($WORKERS process(es))"
# MEL_COVERAGE=1 (what `make test` sets) measures the line coverage of
# ckanext.mel and prints it after the tests; a targeted run without it stays fast.
coverage=()
if [ "${MEL_COVERAGE:-0}" = 1 ]; then
    coverage=(--cov=ckanext.mel --cov-report=term:skip-covered)
fi
set +e
"$VENV/bin/pytest" "${parallel[@]}" "${coverage[@]}" "$@"
rc=$?
set -e
# pytest's 5 means no test was collected: a failure here, not a success.
exit $rc
