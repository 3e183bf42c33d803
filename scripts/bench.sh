#!/usr/bin/env bash
# `make bench`: ckanext-mel against a stock CKAN (scheming, spatial, ckanext-dcat's
# dcat_ap_full schema and euro_dcat_ap_3 profile) on the same services, each with
# its own database, Redis database and Solr site_id, then the ratio table of the
# README (bench/feeds_vs_stock.py). Arguments go to that script:
#   make bench ARGS="--datasets 5000 --harvest 10000"
# The portals listen on 127.0.0.1:5250 (mel) and 5251 (stock) while it runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
export DB_SUFFIX
scripts/services.sh start
for db in mel_bench stock_bench; do
    scripts/services.sh createdb "$db$DB_SUFFIX"
done
exec "$VENV/bin/python" bench/feeds_vs_stock.py "$@"
