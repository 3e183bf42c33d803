# The two commands: `make run` (the demo portal) and `make test` (the suite).
# Both install what is missing first; see the README.
.PHONY: run test setup stop status reset lint

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
