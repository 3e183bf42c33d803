#!/usr/bin/env bash
# The demo data of `make run`: the sysadmin, the 95 communes, the first four
# enrolled from today and one expired, their ten datasets, and an agent of
# Lille. Idempotent: a second run refreshes, never duplicates.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

# The demo's commands come with the demo's plugin (mel_demo, which ckan.ini
# loads); the passwords are read from MEL_ADMIN_PASSWORD and MEL_AGENT_PASSWORD
# (scripts/run.sh), never passed on the command line.
"$VENV/bin/ckan" -c "${CKAN_INI:-$REPO/ckan.ini}" mel-demo load \
    --sysadmin "$MEL_ADMIN_USER" --agent "$MEL_AGENT_USER"
