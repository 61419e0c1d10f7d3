# Two commands for a fresh machine: `make run` (the hall on SQLite with demo data) and
# `make test` (the whole suite on SQLite, and on PostgreSQL when 127.0.0.1:5432 answers).
# Both install what they need first: Debian packages, a venv with pip, npm packages.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
HPF := $(VENV)/bin/hpf
VENDOR := web/static/vendor
STAMP_PY := $(VENV)/.installed
STAMP_DEB := $(VENV)/.debs
STAMP_NPM := node_modules/.installed

.PHONY: setup run test lint bench load-bench clean

setup: $(STAMP_DEB) $(STAMP_PY) $(VENDOR)/.copied

$(STAMP_DEB): debian-packages.txt
	@missing=$$(grep -v '^#' debian-packages.txt | xargs -n1 | while read -r p; do \
	    dpkg -s "$$p" >/dev/null 2>&1 || echo "$$p"; done); \
	if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages: $$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

$(STAMP_PY): setup.cfg pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

$(STAMP_NPM): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

STUDIO_SRC := $(wildcard web/frontend/studio/*.js)

$(VENDOR)/.copied: $(STAMP_NPM) $(STUDIO_SRC)
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bpmn-js $(VENDOR)/swagger-ui $(VENDOR)/studio
	cp node_modules/bpmn-js/dist/{bpmn-navigated-viewer,bpmn-modeler}.production.min.js $(VENDOR)/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets/. $(VENDOR)/bpmn-js/assets/
	cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui-standalone-preset.js,swagger-ui.css} $(VENDOR)/swagger-ui/
	cp node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css $(VENDOR)/studio/
	node_modules/.bin/esbuild web/frontend/studio/index.js --bundle --minify --format=iife \
	    --global-name=HallStudio --outfile=$(VENDOR)/studio/panel.js --log-level=warning
	@touch $@

run: setup
	$(HPF) init-db
	$(HPF) seed-demo
	$(HPF) deploy
	$(HPF) serve --demo-ukey

test: setup
	$(PY) tests/run_suites.py

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) bench/engine.py
	$(PY) bench/documents.py
	$(PY) bench/studio.py

load-bench: setup
	$(PY) bench/load.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache
