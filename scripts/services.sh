#!/usr/bin/env bash
# Starts, stops and reports the project's own PostgreSQL, Redis and Solr.
# Usage: scripts/services.sh start|stop|status
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PG_BIN=${MEL_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_SOCKET_DIR=$MEL_DATA/pg-socket

as_pg() { runuser -u "$MEL_PG_USER" -- "$@"; }

# PostgreSQL refuses to run as root: the cluster belongs to $MEL_PG_USER, who
# must be able to reach the data folder. A clone under a private folder (such
# as mktemp's) gets the search bit on its parents, nothing more.
open_path_for_pg() {
    local dir=$MEL_DATA
    while [ "$dir" != / ]; do
        if ! as_pg test -x "$dir" 2>/dev/null; then
            say "letting $MEL_PG_USER traverse $dir (chmod o+x)"
            chmod o+x "$dir"
        fi
        dir=$(dirname "$dir")
    done
}

pg_running() { as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; }
psql_admin() { as_pg psql -h 127.0.0.1 -p "$MEL_PG_PORT" -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

start_postgres() {
    mkdir -p "$MEL_DATA" "$LOG_DIR"
    open_path_for_pg
    if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
        say "creating the PostgreSQL cluster in $PGDATA_DIR"
        rm -rf "$PGDATA_DIR"   # a half-made cluster from an interrupted run
        mkdir -p "$PGDATA_DIR"
        chown "$MEL_PG_USER" "$PGDATA_DIR"
        as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 \
            --locale=C.UTF-8 >/dev/null
    fi
    mkdir -p "$PG_SOCKET_DIR"
    chown "$MEL_PG_USER" "$PG_SOCKET_DIR" "$LOG_DIR"
    if pg_running; then
        say "PostgreSQL already running on port $MEL_PG_PORT"
    else
        port_in_use "$MEL_PG_PORT" && die "port $MEL_PG_PORT is already in use; set MEL_PG_PORT to a free port"
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_DIR/postgres.log" -w -t 60 \
            -o "-p $MEL_PG_PORT -h 127.0.0.1 -k $PG_SOCKET_DIR -c fsync=off -c full_page_writes=off" \
            start >/dev/null || { tail -20 "$LOG_DIR/postgres.log" >&2; die "PostgreSQL did not start"; }
        say "PostgreSQL started on port $MEL_PG_PORT"
    fi
    # ckan owns the databases and writes the DataStore; ckan_ro only reads it.
    local role
    for role in ckan ckan_ro; do
        if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" != 1 ]; then
            psql_admin -c "CREATE ROLE $role LOGIN PASSWORD '$role'"
        fi
    done
    ensure_database ckan
}

# ensure_database NAME: the CKAN database NAME and its DataStore NAME_datastore.
ensure_database() {
    local db
    for db in "$1" "$1_datastore"; do
        if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
            psql_admin -c "CREATE DATABASE \"$db\" OWNER ckan ENCODING 'UTF8'"
        fi
    done
}

# clone_database NAME TEMPLATE: NAME and NAME_datastore made afresh as copies of
# TEMPLATE and TEMPLATE_datastore (nothing may be connected to those).
clone_database() {
    local suffix
    for suffix in "" _datastore; do
        psql_admin -c "DROP DATABASE IF EXISTS \"$1$suffix\" WITH (FORCE)"
        psql_admin -c "CREATE DATABASE \"$1$suffix\" TEMPLATE \"$2$suffix\" OWNER ckan"
    done
}

stop_postgres() {
    if [ -f "$PGDATA_DIR/PG_VERSION" ] && pg_running; then
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
        say "PostgreSQL stopped"
    fi
}

REDIS_PID=$MEL_DATA/redis.pid
redis_running() { [ -f "$REDIS_PID" ] && kill -0 "$(cat "$REDIS_PID")" 2>/dev/null; }

start_redis() {
    mkdir -p "$MEL_DATA/redis" "$LOG_DIR"
    if redis_running; then
        say "Redis already running on port $MEL_REDIS_PORT"
        return
    fi
    port_in_use "$MEL_REDIS_PORT" && die "port $MEL_REDIS_PORT is already in use; set MEL_REDIS_PORT to a free port"
    # No persistence: jobs and caches are rebuilt from PostgreSQL. 256 databases:
    # each parallel test process has its own (tests/conftest.py).
    redis-server --bind 127.0.0.1 --port "$MEL_REDIS_PORT" --save '' --appendonly no --databases 256 \
        --dir "$MEL_DATA/redis" --daemonize yes --pidfile "$REDIS_PID" \
        --logfile "$LOG_DIR/redis.log"
    wait_for 20 Redis redis-cli -p "$MEL_REDIS_PORT" ping
    say "Redis started on port $MEL_REDIS_PORT"
}

stop_redis() {
    if redis_running; then
        redis-cli -p "$MEL_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$REDIS_PID")"
        rm -f "$REDIS_PID"
        say "Redis stopped"
    fi
}

case "${1:-}" in
    start) start_postgres; start_redis; "$REPO/scripts/solr.sh" start ;;
    createdb) ensure_database "${2:?database name}" ;;
    clonedb) clone_database "${2:?database name}" "${3:?template database name}" ;;
    # SQL on stdin, as the cluster's superuser (`ckan datastore set-permissions | ...`).
    psql) psql_admin -d "${2:?database name}" ;;
    stop) "$REPO/scripts/solr.sh" stop; stop_redis; stop_postgres ;;
    status)
        pg_running && say "PostgreSQL: running on $MEL_PG_PORT" || say "PostgreSQL: stopped"
        redis_running && say "Redis: running on $MEL_REDIS_PORT" || say "Redis: stopped"
        "$REPO/scripts/solr.sh" status ;;
    *) die "usage: $0 start|stop|status|createdb NAME|clonedb NAME TEMPLATE|psql DB" ;;
esac
