#!/usr/bin/env bash
# `make dev`: the demo configuration on CKAN's development server (`ckan run`,
# with the reloader), for working on the extension. No job worker: start one
# with `.venv/bin/ckan -c ckan.ini jobs worker` if you need it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
export CKAN_INI=$REPO/ckan.ini
scripts/services.sh start
scripts/services.sh createdb "ckan$DB_SUFFIX"
use_db "ckan$DB_SUFFIX" "${MEL_DEMO_REDIS_DB:-0}"
scripts/write-ini.sh "$CKAN_INI" "http://127.0.0.1:$MEL_CKAN_PORT" "mel-demo$DB_SUFFIX"
"$VENV/bin/ckan" -c "$CKAN_INI" db upgrade >/dev/null
exec "$VENV/bin/ckan" -c "$CKAN_INI" run --host 127.0.0.1 --port "$MEL_CKAN_PORT"
