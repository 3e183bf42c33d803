#!/usr/bin/env bash
# `make run`: the demo portal through the production server, in the foreground,
# on top of scripts/setup.sh. Ctrl-C stops everything this script started
# (gunicorn, the job workers, the scheduler); `make stop` stops the services.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

export MEL_ADMIN_USER=${MEL_ADMIN_USER:-admin} MEL_ADMIN_PASSWORD=${MEL_ADMIN_PASSWORD:-mel-demo-admin}
export MEL_AGENT_USER=${MEL_AGENT_USER:-agent-lille} MEL_AGENT_PASSWORD=${MEL_AGENT_PASSWORD:-mel-demo-agent}
# gunicorn: worker processes × threads each (see the README's deployment section).
MEL_WEB_WORKERS=${MEL_WEB_WORKERS:-$(( $(nproc) + 1 ))}
MEL_WEB_THREADS=${MEL_WEB_THREADS:-4}
MEL_JOB_WORKERS=${MEL_JOB_WORKERS:-2}
export CKAN_INI=$REPO/ckan.ini
ckan() { "$VENV/bin/ckan" -c "$CKAN_INI" "$@"; }

port_in_use "$MEL_CKAN_PORT" && die "port $MEL_CKAN_PORT is already in use; set MEL_CKAN_PORT to a free port"
scripts/services.sh start
scripts/services.sh createdb "ckan$DB_SUFFIX"
use_db "ckan$DB_SUFFIX" "${MEL_DEMO_REDIS_DB:-0}"
scripts/write-ini.sh "$CKAN_INI" "http://127.0.0.1:$MEL_CKAN_PORT" "mel-demo$DB_SUFFIX"

say "migrating the database (CKAN $MEL_CKAN)"
ckan db upgrade >/dev/null
ckan datastore set-permissions | scripts/services.sh psql "ckan${DB_SUFFIX}_datastore" >/dev/null

say "loading the demo"
scripts/demo.sh

# Started directly (not through the ckan function, whose subshell would outlive
# a kill) so that each pid below is the process itself.
pids=()
stop_all() {
    trap - INT TERM EXIT
    say "stopping the portal"
    kill "${pids[@]}" 2>/dev/null || true
    # A job worker finishes its current job first: give them 30 s, then stop them hard.
    local i pid alive
    for ((i = 0; i < 60; i++)); do
        alive=
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ -n "$alive" ] || break
        sleep 0.5
    done
    pkill -KILL -P "$(printf '%s,' "${pids[@]}" | sed 's/,$//')" 2>/dev/null || true
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
trap stop_all INT TERM EXIT

# The job workers check large files and links, load the DataStore and send
# reminders, score the datasets' metadata quality and rebuild the metropolitan
# datasets (each on its queue, in that order); the scheduler queues the daily
# and nightly jobs.
for ((i = 1; i <= MEL_JOB_WORKERS; i++)); do
    "$VENV/bin/ckan" -c "$CKAN_INI" jobs worker default mel_quality mel_consolidation >>"$LOG_DIR/worker-$i.log" 2>&1 &
    pids+=($!)
done
"$VENV/bin/ckan" -c "$CKAN_INI" mel scheduler >>"$LOG_DIR/scheduler.log" 2>&1 &
pids+=($!)

"$VENV/bin/gunicorn" --config scripts/gunicorn.conf.py \
    --bind "127.0.0.1:$MEL_CKAN_PORT" --workers "$MEL_WEB_WORKERS" --threads "$MEL_WEB_THREADS" \
    --access-logfile "$LOG_DIR/access.log" --error-logfile - \
    "ckanext.mel.wsgi:application" &
pids+=($!)
wait_for 120 "the portal" curl -sf "http://127.0.0.1:$MEL_CKAN_PORT/api/action/status_show"

say "portal: http://127.0.0.1:$MEL_CKAN_PORT (CKAN $MEL_CKAN, gunicorn: $MEL_WEB_WORKERS workers × $MEL_WEB_THREADS threads)"
say "  sysadmin: $MEL_ADMIN_USER / $MEL_ADMIN_PASSWORD"
say "  commune agent (Lille): $MEL_AGENT_USER / $MEL_AGENT_PASSWORD"
say "logs in $LOG_DIR; Ctrl-C stops the portal; 'make stop' stops PostgreSQL, Redis and Solr"
# Ends when any of them ends (or at Ctrl-C), and then stops the others.
wait -n "${pids[@]}"
