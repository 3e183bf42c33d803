#!/usr/bin/env bash
# `make test`: the whole suite against the real services.
# Arguments are passed to pytest (make test ARGS="-k quota").
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

# MEL_TEST_DB lets several test runs share the services without sharing data:
# each gets its own database, Redis database and Solr site_id.
TEST_DB=${MEL_TEST_DB:-ckan_test}
scripts/services.sh start
scripts/services.sh createdb "$TEST_DB"
use_db "$TEST_DB" "${MEL_TEST_REDIS_DB:-1}"
export CKAN_SITE_ID=mel-test-$TEST_DB
"$VENV/bin/ckan" -c test.ini db upgrade >/dev/null
exec "$VENV/bin/pytest" "$@"
