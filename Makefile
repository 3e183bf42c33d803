# The two commands: `make run` (the demo portal) and `make test` (the suite).
# Both install what is missing first; see the README.
.PHONY: run test setup stop status reset lint i18n

run: setup
	scripts/run.sh

test: setup
	scripts/test.sh $(ARGS)

setup:
	scripts/setup.sh

stop:
	scripts/services.sh stop

status:
	scripts/services.sh status

# Forget the demo and test data (databases, Solr index, uploads), keep the installs.
reset: stop
	rm -rf .data ckan.ini

lint:
	.venv/bin/ruff check ckanext tests

# Re-extract the interface's messages and merge them into the French catalogue.
i18n:
	.venv/bin/pybabel extract -F babel.cfg --no-location --sort-output -o ckanext/mel/i18n/ckanext-mel.pot ckanext/mel
	.venv/bin/pybabel update -i ckanext/mel/i18n/ckanext-mel.pot -d ckanext/mel/i18n -D ckanext-mel -l fr --no-fuzzy-matching
