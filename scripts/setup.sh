#!/usr/bin/env bash
# Installs what the project needs and is idempotent: a second run only checks.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

# Debian packages: PostgreSQL 15 and Redis as servers, the headers psycopg2 is
# built against, libmagic for python-magic, a JDK and Maven for Solr, and
# Chromium with its driver for the browser tests (tests/test_web_*.py).
APT_PACKAGES=(postgresql-15 postgresql-client-15 libpq-dev redis-server libmagic1
              openjdk-17-jdk-headless maven gettext curl chromium chromium-driver)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    say "installing Debian packages: ${missing[*]}"
    [ "$(id -u)" = 0 ] || die "installing ${missing[*]} needs root (or install them first)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Debian's packages would start their own services; ours run on their own ports.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    rm -f /usr/sbin/policy-rc.d
fi

# Python: the venv of the chosen CKAN version (requirements/ckan-$MEL_CKAN.txt),
# the extensions and libraries pinned in requirements*.txt, and this extension
# in editable mode. Every other package is held at the version of a venv whose
# suite passed (requirements/constraints-$MEL_CKAN.txt, `make constraints`), so
# that a clean clone installs what was tested, whatever the registry serves
# newer that day. Reinstalled only when those files change.
stamp=$VENV/.mel-installed
ckan_requirements=requirements/ckan-$MEL_CKAN.txt
constraints=requirements/constraints-$MEL_CKAN.txt
[ -f "$constraints" ] || die "no $constraints: run make constraints CKAN=$MEL_CKAN"
want=$(cat "$ckan_requirements" "$constraints" requirements.txt dev-requirements.txt setup.py pyproject.toml |
    sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing CKAN $MEL_CKAN and the Python packages into $VENV"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q pip==26.3 setuptools==80.10.2 wheel==0.48.0
    "$VENV/bin/pip" install -q -c "$constraints" -r "$ckan_requirements" -r requirements.txt -r dev-requirements.txt
    "$VENV/bin/pip" install -q --no-deps -e .
    echo "$want" > "$stamp"
fi

# Translations: the French catalogue is compiled every time (a fraction of a
# second), so that what runs is what the committed .po says, never a stale .mo.
for po in ckanext/mel/i18n/*/LC_MESSAGES/ckanext-mel.po; do
    [ -f "$po" ] || continue
    msgfmt --check -o "${po%.po}.mo" "$po"
done

# Solr: the launcher and its jars, from Maven Central.
scripts/solr.sh build
