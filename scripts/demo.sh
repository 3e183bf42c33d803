#!/usr/bin/env bash
# The demo data of `make run`: the sysadmin, the 95 communes, the first four
# enrolled from today and one expired, their ten datasets, and an agent of
# Lille. Idempotent: a second run refreshes, never duplicates.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

"$VENV/bin/ckan" -c "${CKAN_INI:-$REPO/ckan.ini}" mel demo load \
    --sysadmin "$MEL_ADMIN_USER" "$MEL_ADMIN_PASSWORD" \
    --agent "$MEL_AGENT_USER" "$MEL_AGENT_PASSWORD"
