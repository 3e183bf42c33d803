#!/usr/bin/env bash
# The demo data of `make run`: the 95 communes, the first four enrolled from
# today and one expired, their datasets, and an agent account for Lille.
# Idempotent: a second run refreshes, never duplicates.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

CKAN_INI=${CKAN_INI:-$REPO/ckan.ini}
AGENT_USER=${MEL_AGENT_USER:-agent-lille}
AGENT_PASSWORD=${MEL_AGENT_PASSWORD:-mel-demo-agent}
ckan() { "$VENV/bin/ckan" -c "$CKAN_INI" "$@"; }

say "loading the 95 communes"
ckan mel communes load
say "enrolling the demo communes"
ckan mel demo enrolments
if ckan mel demo --help 2>/dev/null | grep -q "datasets"; then
    say "loading the demo datasets"
    ckan mel demo datasets
fi
ckan mel demo agent "$AGENT_USER" "$AGENT_PASSWORD" --commune lille
say "commune agent: $AGENT_USER / $AGENT_PASSWORD (editor of Lille)"
