# Vigie – the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py
HOST ?= 127.0.0.1
PORT ?= 5000

## VIGIE_SOURCE=zabbix without a token: the development Zabbix's settings (written by
## `make zabbix-up`), read here once, so that every step of every target sees them.
ifeq ($(VIGIE_SOURCE),zabbix)
ifeq ($(VIGIE_ZABBIX_TOKEN),)
ZABBIX_ENV_FILE := $(shell scripts/zabbix.sh env-file)
ifneq ($(wildcard $(ZABBIX_ENV_FILE)),)
include $(ZABBIX_ENV_FILE)
export $(shell sed -n 's/^\(VIGIE_[A-Z0-9_]*\)=.*/\1/p' $(ZABBIX_ENV_FILE))
else
ZABBIX_ENV_FILE :=
endif
endif
endif

.PHONY: run test test-unit test-fast bench clean venv vendor translations db-upgrade demo-data \
        system-deps pg-up pg-down redis-up redis-down lint check

## Python environment (re-done when pyproject.toml changes)
$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@
venv: $(VENV)/.installed

## Front-end files from npm (pinned in package-lock.json), copied into static/vendor
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
vendor: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/socket.io.min.js
	mkdir -p static/vendor/zxcvbn-ts  # the password meter's bundles, with their licences
	for p in core language-common language-fr; do \
	  cp node_modules/@zxcvbn-ts/$$p/dist/zxcvbn-ts.js static/vendor/zxcvbn-ts/$$p.js; \
	  cp node_modules/@zxcvbn-ts/$$p/LICENSE.txt static/vendor/zxcvbn-ts/$$p.LICENSE.txt; \
	done
	cp node_modules/@zxcvbn-ts/language-fr/NOTICE.md static/vendor/zxcvbn-ts/language-fr.NOTICE.md

translations: venv
	$(BIN)/pybabel -q compile -d translations

db-upgrade: venv
	$(BIN)/flask db upgrade

demo-data: db-upgrade
	$(BIN)/flask vigie demo load
	@$(BIN)/flask vigie push keys >/dev/null  # VAPID key, made once (instance/vapid_private.pem)

## make run: embedded defaults (SQLite, demo source, one process)
run: venv vendor translations demo-data
	@echo
	@echo "  Vigie démarre sur http://$(HOST):$(PORT)/"
	@echo "  Comptes de démonstration :"
	@$(BIN)/flask vigie demo accounts
	@echo
	$(if $(ZABBIX_ENV_FILE),@echo "  Source : le Zabbix de développement ($(ZABBIX_ENV_FILE))")
	@$(BIN)/flask vigie serve --host $(HOST) --port $(PORT)

## System services the tests need (apt; idempotent)
system-deps:
	@scripts/system-deps.sh

pg-up:
	@scripts/pg.sh up
pg-down:
	@scripts/pg.sh down

redis-up:
	@scripts/redis.sh up
redis-down:
	@scripts/redis.sh down

## make test: the whole suite, on SQLite and PostgreSQL, browser and production tests included
test: venv vendor translations system-deps
	@scripts/pg.sh up
	@scripts/redis.sh up
	@scripts/zabbix.sh up
	@set -o pipefail; status=0; \
	set -a; . "$$(scripts/zabbix.sh env-file)"; set +a; \
	VIGIE_TEST_ZABBIX_URL="$$VIGIE_ZABBIX_URL" VIGIE_TEST_ZABBIX_TOKEN="$$VIGIE_ZABBIX_TOKEN" \
	VIGIE_TEST_DATABASES="sqlite,$$(scripts/pg.sh url)" \
	VIGIE_TEST_POSTGRES="$$(scripts/pg.sh url)" VIGIE_TEST_REDIS="$$(scripts/redis.sh url)" \
	  env -u VIGIE_SOURCE -u VIGIE_ZABBIX_URL -u VIGIE_ZABBIX_TOKEN -u VIGIE_ZABBIX_GROUPS_PREFIX \
	  $(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	scripts/zabbix.sh down >/dev/null 2>&1; scripts/redis.sh down >/dev/null 2>&1; \
	scripts/pg.sh down >/dev/null 2>&1; exit $$status

test-fast: venv vendor translations
	VIGIE_TEST_DATABASES=sqlite $(BIN)/python -m pytest -m "not browser and not production and not zabbix" -q $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check webapp topology tests scripts bench

bench: venv vendor translations system-deps
	@$(BIN)/python -c "import ecoindex.compute" 2>/dev/null || $(BIN)/pip install -q ecoindex-compute \
	  || echo "ecoindex-compute not installed: the bench uses its copy of the Ecoindex formula"
	@$(BIN)/python -c "import grandalf" 2>/dev/null || $(BIN)/pip install -q grandalf \
	  || echo "grandalf not installed: no comparison with its Sugiyama layout"
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules static/vendor instance .pytest_cache .ruff_cache *.egg-info
	-scripts/pg.sh down

## Development Zabbix 6.0 on loopback with the demo estate (scripts/zabbix.sh; not part of `make test`)
.PHONY: zabbix-up zabbix-down zabbix-provision
zabbix-up: venv
	@scripts/zabbix.sh up
zabbix-down:
	@scripts/zabbix.sh down
zabbix-provision: venv
	@scripts/zabbix.sh provision $(PROVISION_ARGS)
