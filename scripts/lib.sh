# Shared settings for the set-up and service scripts; sourced, never run.
# Every value can be overridden from the environment.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The CKAN version: 2.12 (current, the default) or 2.11 (previous, security
# fixes only). Each has its own venv: .venv for the default, .venv-2.11 beside it.
MEL_CKAN=${MEL_CKAN:-2.12}
# Their databases differ too (a database migrated by 2.12 is not 2.11's):
# DB_SUFFIX names them (ckan and ckan_test, ckan_2_11 and ckan_test_2_11).
case "$MEL_CKAN" in
    2.12) default_venv=$REPO/.venv DB_SUFFIX= ;;
    2.11) default_venv=$REPO/.venv-2.11 DB_SUFFIX=_2_11 ;;
    *) printf '[mel] unsupported CKAN version %s (2.12 or 2.11)\n' "$MEL_CKAN" >&2; exit 2 ;;
esac
VENV=${MEL_VENV:-$default_venv}
MEL_DATA=${MEL_DATA:-$REPO/.data}
MEL_CKAN_PORT=${MEL_CKAN_PORT:-5000}
MEL_SOLR_PORT=${MEL_SOLR_PORT:-8983}
MEL_PG_PORT=${MEL_PG_PORT:-5439}
MEL_REDIS_PORT=${MEL_REDIS_PORT:-6390}
MEL_PG_USER=${MEL_PG_USER:-postgres}   # the unprivileged system user that runs the cluster
PGDATA_DIR=$MEL_DATA/pg
LOG_DIR=$MEL_DATA/logs

# CKAN reads CKAN_* variables over the values in ckan.ini and test.ini, so that
# a port changed here reaches both configurations.
export CKAN_SOLR_URL=${CKAN_SOLR_URL:-http://127.0.0.1:$MEL_SOLR_PORT/solr/ckan}

# use_db NAME REDIS_DB: point CKAN at one of the project's databases and at
# its DataStore database NAME_datastore (written by ckan, read by ckan_ro).
use_db() {
    export CKAN_SQLALCHEMY_URL=postgresql://ckan:ckan@127.0.0.1:$MEL_PG_PORT/$1
    export CKAN_DATASTORE_WRITE_URL=postgresql://ckan:ckan@127.0.0.1:$MEL_PG_PORT/$1_datastore
    export CKAN_DATASTORE_READ_URL=postgresql://ckan_ro:ckan_ro@127.0.0.1:$MEL_PG_PORT/$1_datastore
    export CKAN_REDIS_URL=redis://127.0.0.1:$MEL_REDIS_PORT/$2
}
export MEL_DATA MEL_SOLR_PORT MEL_PG_PORT MEL_REDIS_PORT MEL_CKAN_PORT MEL_CKAN VENV

say() { printf '\033[1m[mel]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[mel] %s\033[0m\n' "$*" >&2; exit 1; }

# port_in_use PORT: true when something listens on 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds.
wait_for() {
    local seconds=$1 what=$2
    shift 2
    local i
    for ((i = 0; i < seconds * 4; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.25
    done
    die "$what did not become ready within ${seconds}s"
}
