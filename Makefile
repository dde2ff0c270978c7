# The two set-up commands on a fresh machine are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# pytest workers: most tests wait on peers (SIPp, Kamailio, baresip, timers), so more
# workers than cores pay: on 2 cores 1596 tests took 126 s with 3 workers, 98 s with 4,
# 98 s with 5; a file stays on one worker (its peers and fixtures)
WORKERS ?= 4
XDIST := -n $(WORKERS) --dist loadfile
export PYGAME_HIDE_SUPPORT_PROMPT := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test deps lint unit bench install clean screenshots

deps:
	VENV=$(VENV) bash scripts/install-deps.sh

## make demo: the main job on the mock HAL (three simulated handsets on loopback)
demo: deps
	$(PY) -m firmware demo --out out/demo
	@echo "== all 17 figures against SIPp gateways / Kamailio proxies: ladders in out/demo/flows"
	PIPHONE_LADDERS=out/demo/flows $(PY) -m pytest -q -p no:cacheprovider $(XDIST) tests/flows

## make test: install everything the tests need (apt included), then lint and run pytest
test: deps lint
	$(PY) -m pytest -q -p no:cacheprovider $(XDIST) tests

## make screenshots: the web page tests, saving their screenshots to docs/web
screenshots:
	PIPHONE_WEB_SHOTS=1 $(PY) -m pytest -q -p no:cacheprovider tests/web

lint:
	$(VENV)/bin/ruff check firmware hal tests bench
	$(VENV)/bin/lint-imports

bench: deps
	$(PY) bench/run_all.py

install:
	bash scripts/install-pi.sh

clean:
	rm -rf $(VENV) out .pytest_cache
