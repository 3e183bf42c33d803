# The two commands: `make run` (the demo portal) and `make test` (the suite).
# Both install what is missing first; see the README. CKAN=2.11 picks the
# previous CKAN version (default 2.12), with its own venv and databases.
CKAN ?= 2.12
export MEL_CKAN := $(CKAN)
VENV := $(if $(filter 2.12,$(CKAN)),.venv,.venv-$(CKAN))

.PHONY: run dev test bench setup stop status reset lint typecheck i18n wheel constraints

run: setup
	scripts/run.sh

# CKAN's development server (`ckan run`, reloader, single process).
dev: setup
	scripts/dev.sh

# With the line coverage of ckanext.mel (make test MEL_COVERAGE=0 to leave it out),
# in one process per core (MEL_TEST_WORKERS=1 for one).
test: setup
	MEL_COVERAGE=$${MEL_COVERAGE:-1} MEL_TEST_WORKERS=$${MEL_TEST_WORKERS:-$$(nproc)} scripts/test.sh $(ARGS)

bench: setup
	scripts/bench.sh $(ARGS)

setup:
	scripts/setup.sh

stop:
	scripts/services.sh stop

status:
	scripts/services.sh status

# Forget the demo and test data (databases, Solr index, uploads), keep the installs.
reset: stop
	rm -rf .data ckan.ini

lint: setup
	$(VENV)/bin/ruff check ckanext tests bench
	$(VENV)/bin/ruff format --check ckanext tests bench

# mypy on ckanext/mel ([tool.mypy] in pyproject.toml).
typecheck: setup
	$(VENV)/bin/mypy

# Freeze the venv of CKAN=$(CKAN) into the constraints setup.sh installs with, after a
# requirement changed and the suite passed: `$(VENV)/bin/pip install -r requirements.txt`
# (or -U a package), `make test`, then `make constraints`.
constraints:
	{ echo "# Every package of a venv whose suite passed (CKAN $(CKAN)), frozen with pip freeze:"; \
	  echo "# setup.sh installs with these constraints, so that CI runs what passed here."; \
	  echo "# Regenerate with make constraints CKAN=$(CKAN) (see the Makefile)."; \
	  $(VENV)/bin/pip freeze --exclude-editable; } > requirements/constraints-$(CKAN).txt

# The wheel an operator installs into an existing CKAN (dist/).
wheel: setup
	$(VENV)/bin/python -m build --wheel --outdir dist .

# Re-extract the interface's messages and merge them into the French catalogue.
i18n:
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output -o ckanext/mel/i18n/ckanext-mel.pot ckanext/mel
	$(VENV)/bin/pybabel update -i ckanext/mel/i18n/ckanext-mel.pot -d ckanext/mel/i18n -D ckanext-mel -l fr --no-fuzzy-matching
