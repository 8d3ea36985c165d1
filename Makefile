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
        system-deps pg-up pg-down redis-up redis-down lint check lock lock-upgrade audit

## Python environment from the lock files (requirements/*.txt, every file's sha256 checked).
## build.txt first (pip, setuptools), so that nothing is ever built with an unhashed backend
## (--no-build-isolation); then the pinned dependencies, then Vigie itself (the checkout, no
## hash); pip check fails if pyproject.toml asks for something the lock lacks (`make lock`).
LOCKS := requirements/build.txt requirements/production.txt requirements/test.txt
$(VENV)/.installed: pyproject.toml $(LOCKS)
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements/build.txt
	$(BIN)/python -m pip install -q --require-hashes --no-deps --no-build-isolation \
	  -r requirements/test.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@$(BIN)/python -m pip check || { echo "The lock files miss what pyproject.toml" \
	  "declares: run \`make lock\` (README, Installations reproductibles)." >&2; exit 1; }
	touch $@
venv: $(VENV)/.installed

## The lock files (README, « Installations reproductibles »): uv and pip-audit in their own venv,
## installed from requirements/tools.txt with hashes too. `make lock` keeps every pin it can
## and adds what pyproject.toml gained; `make lock-upgrade` takes the newest releases in range.
TOOLS := .venv-tools
LOCK_INDEX ?= https://pypi.org/simple
UV_COMPILE = $(TOOLS)/bin/uv pip compile --quiet --no-config --generate-hashes \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --default-index $(LOCK_INDEX) --custom-compile-command 'make lock' $(LOCK_ARGS)
$(TOOLS)/.installed: requirements/build.txt requirements/tools.txt
	test -d $(TOOLS) || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --require-hashes --no-deps -r requirements/build.txt
	$(TOOLS)/bin/python -m pip install -q --require-hashes --no-deps --no-build-isolation \
	  -r requirements/tools.txt
	touch $@
lock: $(TOOLS)/.installed
	$(UV_COMPILE) requirements/build.in -o requirements/build.txt
	$(UV_COMPILE) pyproject.toml -c requirements/build.txt -o requirements/production.txt
	$(UV_COMPILE) pyproject.toml --extra test -c requirements/production.txt \
	  -c requirements/build.txt -o requirements/test.txt
	$(UV_COMPILE) requirements/bench.in -c requirements/test.txt -c requirements/build.txt \
	  -o requirements/bench.txt
	$(UV_COMPILE) requirements/tools.in -c requirements/build.txt -o requirements/tools.txt
lock-upgrade:
	$(MAKE) lock LOCK_ARGS=--upgrade

## Known vulnerabilities in every pinned release (PyPI's advisory database: needs the network;
## not part of `make test`)
audit: $(TOOLS)/.installed
	$(TOOLS)/bin/pip-audit --disable-pip --require-hashes --strict --progress-spinner off \
	  -r requirements/build.txt -r requirements/test.txt -r requirements/bench.txt \
	  -r requirements/tools.txt $(AUDIT_ARGS)

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
	$(PYTHON) scripts/build_icons.py  # the map's sprite: webapp/icons.py's Tabler icons, licence

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
	VIGIE_TEST_DATABASES=sqlite $(BIN)/python -m pytest -m "not browser and not production and not zabbix and not network" -q $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check webapp topology tests scripts bench

bench: venv vendor translations system-deps
	@$(BIN)/python -m pip install -q --require-hashes --no-deps --no-build-isolation \
	  -r requirements/bench.txt || echo "requirements/bench.txt not installed: the bench uses" \
	  "its copy of the Ecoindex formula and makes no comparison with grandalf's Sugiyama layout"
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) node_modules static/vendor instance .pytest_cache .ruff_cache *.egg-info
	-scripts/pg.sh down

## Development Zabbix 6.0 on loopback with the demo estate (scripts/zabbix.sh; not part of `make test`)
.PHONY: zabbix-up zabbix-down zabbix-provision
zabbix-up: venv
	@scripts/zabbix.sh up
zabbix-down:
	@scripts/zabbix.sh down
zabbix-provision: venv
	@scripts/zabbix.sh provision $(PROVISION_ARGS)
