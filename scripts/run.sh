#!/usr/bin/env bash
# `make run`: the demo portal, in the foreground, on top of scripts/setup.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

export MEL_ADMIN_USER=${MEL_ADMIN_USER:-admin} MEL_ADMIN_PASSWORD=${MEL_ADMIN_PASSWORD:-mel-demo-admin}
export MEL_AGENT_USER=${MEL_AGENT_USER:-agent-lille} MEL_AGENT_PASSWORD=${MEL_AGENT_PASSWORD:-mel-demo-agent}
CKAN_INI=$REPO/ckan.ini
ckan() { "$VENV/bin/ckan" -c "$CKAN_INI" "$@"; }

port_in_use "$MEL_CKAN_PORT" && die "port $MEL_CKAN_PORT is already in use; set MEL_CKAN_PORT to a free port"
scripts/services.sh start
use_db ckan 0

# ckan.ini: CKAN's own template (with fresh secrets) on first run, then the
# portal's settings and this machine's services, applied again when they change.
stamp=$MEL_DATA/ckan.ini.applied
if [ ! -f "$CKAN_INI" ]; then
    say "generating $CKAN_INI"
    "$VENV/bin/ckan" generate config "$CKAN_INI.tmp" >/dev/null
    mv "$CKAN_INI.tmp" "$CKAN_INI"
    rm -f "$stamp"
fi
settings=(
    "ckan.site_url=http://127.0.0.1:$MEL_CKAN_PORT"
    "ckan.site_id=mel-demo"
    "sqlalchemy.url=$CKAN_SQLALCHEMY_URL"
    "solr_url=$CKAN_SOLR_URL"
    "ckan.redis.url=$CKAN_REDIS_URL"
    "ckan.storage_path=$MEL_DATA/storage"
    "smtp.server=localhost:25"
    "smtp.mail_from=portail-opendata@localhost"
)
want=$( (cat portal.ini; printf '%s\n' "${settings[@]}") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    ckan config-tool "$CKAN_INI" -f portal.ini
    ckan config-tool "$CKAN_INI" "${settings[@]}"
    ckan config-tool "$CKAN_INI" -s logger_ckanext level=WARNING
    ckan config-tool "$CKAN_INI" -s logger_ckan level=WARNING
    echo "$want" > "$stamp"
fi

say "migrating the database"
ckan db upgrade >/dev/null

say "loading the demo"
CKAN_INI=$CKAN_INI scripts/demo.sh

# A background worker checks large files against their data model.
ckan jobs worker >"$LOG_DIR/worker.log" 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null' EXIT

say "portal: http://127.0.0.1:$MEL_CKAN_PORT"
say "  sysadmin: $MEL_ADMIN_USER / $MEL_ADMIN_PASSWORD"
say "  commune agent (Lille): $MEL_AGENT_USER / $MEL_AGENT_PASSWORD"
say "Ctrl-C stops CKAN; 'make stop' stops PostgreSQL, Redis and Solr"
ckan run --host 127.0.0.1 --port "$MEL_CKAN_PORT" --disable-reloader
