# Cartable: every target is one line of intent. `make run` and `make test` install what is missing.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROTOS := $(shell find protos -name '*.proto')
STAMP_DEPS := $(VENV)/.deps-stamp
STAMP_PROTOS := cartable/.protos-stamp
STAMP_BROWSER := $(VENV)/.browser-stamp

LOCKS := requirements/runtime.txt requirements/dev.txt requirements/protoc.txt

.PHONY: install lock audit protos translations browser run test test-fast lint bench migrate services-up clean

install: $(STAMP_DEPS) $(STAMP_PROTOS) translations  ## venv, locked dependencies, compiled protos and catalogs

# Exact versions with hashes (requirements/dev.txt: runtime, s3, local tools, test and lint tools), then
# the project itself without resolving anything more.
$(STAMP_DEPS): requirements/dev.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements/dev.txt
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

# The locks, from pyproject.toml: runtime.txt (dependencies + s3, what the production image installs),
# dev.txt (+ local and dev extras, kept at runtime.txt's versions), protoc.txt (grpcio-tools at dev.txt's
# version, for the image's build stage). Versions already locked stay unless pyproject.toml asks
# otherwise; `make lock UPGRADE=1` takes the newest releases.
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)
lock: $(STAMP_DEPS)  ## regenerate requirements/*.txt from pyproject.toml
	$(UV_COMPILE) pyproject.toml --extra s3 -o requirements/runtime.txt
	$(UV_COMPILE) pyproject.toml --extra dev -c requirements/runtime.txt -o requirements/dev.txt
	echo 'grpcio-tools' | $(UV_COMPILE) - -c requirements/dev.txt -o requirements/protoc.txt

protos: $(STAMP_PROTOS)  ## compile protos/ into the importable `cartable` package, with .pyi stubs

$(STAMP_PROTOS): $(PROTOS) $(STAMP_DEPS)
	@rm -rf cartable && mkdir -p cartable
	$(BIN)/python -m grpc_tools.protoc -Iprotos --python_out=. --pyi_out=. --grpc_python_out=. $(PROTOS)
	@find cartable -type d -exec touch {}/__init__.py \;
	@touch $@

translations: $(STAMP_DEPS)  ## compile the web pages' catalogs (fr is the source language)
	@for d in gateway/translations/*/; do $(BIN)/pybabel compile --statistics -d $$d >/dev/null 2>&1 || { echo "bad catalog in $$d"; exit 1; }; done

browser: $(STAMP_BROWSER)  ## Debian's Chromium for the browser tests
$(STAMP_BROWSER):
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@touch $@

services-up:  ## start the local RabbitMQ (and PostgreSQL when tests use it) if installed but not running
	@$(BIN)/python -m devtools.ensure_services

migrate: install  ## apply every service's migrations
	@for s in auth documents finance orders notifications meetings; do $(BIN)/python -m services.$$s migrate || exit 1; done

run: install services-up migrate  ## run the whole suite locally (Ctrl-C stops everything)
	@$(BIN)/python -m devtools.seed
	@echo "Cartable is starting on http://127.0.0.1:8000 (demo accounts: var/demo-credentials.json, mail: var/mail/)"
	@$(BIN)/honcho start -f Procfile

TEST_WORKERS ?= 2
test: install browser services-up  ## every test (unit, integration, e2e, browser), TEST_WORKERS processes
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

test-fast: install  ## unit tests only
	$(BIN)/pytest -m 'not browser and not broker' -x -q

lint: install  ## ruff (rules and format), mypy (pyproject.toml), pip-audit on the locked versions
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@$(MAKE) --no-print-directory audit

# Known vulnerabilities of every pinned version in requirements/dev.txt (a superset of the other locks),
# read from PyPI's JSON API without installing anything. Fails on a vulnerability or when the audit
# cannot run; a package whose advisory data cannot be read is not a failure, but is counted out loud
# (pip-audit alone would still print "No known vulnerabilities found").
audit: $(STAMP_DEPS)  ## pip-audit on the locked versions
	@locked=$$(grep -cE '^[a-z0-9]' requirements/dev.txt); \
	out=$$($(BIN)/pip-audit --disable-pip --require-hashes --progress-spinner off -r requirements/dev.txt 2>&1); rc=$$?; \
	skipped=$$(printf '%s\n' "$$out" | grep -c 'could not be audited'); \
	printf '%s\n' "$$out" | grep -v 'could not be audited' | grep -vE '^(Name +Skip Reason|-+ -+)$$' | tail -n 40; \
	if [ $$rc -ne 0 ] && ! printf '%s\n' "$$out" | grep -q 'known vulnerabilit'; then \
	  echo "pip-audit could not run: the vulnerability data was not reachable (see the error above)."; fi; \
	if [ $$skipped -gt 0 ]; then \
	  echo "pip-audit: WARNING: $$skipped of the $$locked packages pinned in requirements/dev.txt were NOT audited"; \
	  echo "  (nor those for other platforms): their advisory data could not be read from PyPI's JSON API"; \
	  echo "  here ('Dependency not found'). For them \"No known vulnerabilities\" means no verdict."; fi; \
	exit $$rc

# Each bench prints its ratios with their goal beside them; the goals' lines again at the end.
bench: install services-up  ## benchmarks under bench/ (PostgreSQL), then every goal and its ratio
	@mkdir -p var && : > var/bench.log; \
	for b in bench/bench_*.py; do \
	  PYTHONUNBUFFERED=1 $(BIN)/python $$b 2>&1 | tee -a var/bench.log; test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done; \
	echo; echo "== the goals (var/bench.log has everything)"; grep -h "goal" var/bench.log

clean:
	rm -rf var cartable .pytest_cache
