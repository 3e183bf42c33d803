#!/usr/bin/env bash
# `make test`: the whole suite against the real services.
# Arguments are passed to pytest (make test ARGS="-k quota").
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

scripts/services.sh start
use_db ckan_test 1
"$VENV/bin/ckan" -c test.ini db upgrade >/dev/null
exec "$VENV/bin/pytest" "$@"
