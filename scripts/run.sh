#!/usr/bin/env bash
# `make run`: the demo portal, in the foreground, on top of scripts/setup.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

ADMIN_USER=${MEL_ADMIN_USER:-admin}
ADMIN_PASSWORD=${MEL_ADMIN_PASSWORD:-mel-demo-admin}
CKAN_INI=$REPO/ckan.ini
ckan() { "$VENV/bin/ckan" -c "$CKAN_INI" "$@"; }

port_in_use "$MEL_CKAN_PORT" && die "port $MEL_CKAN_PORT is already in use; set MEL_CKAN_PORT to a free port"
scripts/services.sh start
use_db ckan 0

# ckan.ini: CKAN's own template (with fresh secrets) on first run, then the
# portal's settings and this machine's services, re-applied every run.
if [ ! -f "$CKAN_INI" ]; then
    say "generating $CKAN_INI"
    "$VENV/bin/ckan" generate config "$CKAN_INI.tmp" >/dev/null
    mv "$CKAN_INI.tmp" "$CKAN_INI"
fi
ckan config-tool "$CKAN_INI" -f portal.ini
ckan config-tool "$CKAN_INI" \
    "ckan.site_url=http://127.0.0.1:$MEL_CKAN_PORT" \
    "ckan.site_id=mel-demo" \
    "sqlalchemy.url=$CKAN_SQLALCHEMY_URL" \
    "solr_url=$CKAN_SOLR_URL" \
    "ckan.redis.url=$CKAN_REDIS_URL" \
    "ckan.storage_path=$MEL_DATA/storage" \
    "smtp.server=localhost:25" \
    "smtp.mail_from=portail-opendata@localhost"

say "migrating the database"
ckan db upgrade >/dev/null

if ! ckan user show "$ADMIN_USER" 2>/dev/null | grep -q "name=$ADMIN_USER"; then
    say "creating the sysadmin $ADMIN_USER"
    ckan user add "$ADMIN_USER" "email=$ADMIN_USER@localhost" "password=$ADMIN_PASSWORD" >/dev/null
fi
ckan sysadmin add "$ADMIN_USER" >/dev/null

if [ -x scripts/demo.sh ]; then scripts/demo.sh; fi

say "portal: http://127.0.0.1:$MEL_CKAN_PORT  (sysadmin: $ADMIN_USER / $ADMIN_PASSWORD)"
say "Ctrl-C stops CKAN; 'make stop' stops PostgreSQL, Redis and Solr"
exec "$VENV/bin/ckan" -c "$CKAN_INI" run --host 127.0.0.1 --port "$MEL_CKAN_PORT" --disable-reloader
