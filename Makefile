# DeferredRev for Slack. `make demo` and `make test` work on a fresh clone with nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_WORKERS ?= 2

.PHONY: install demo docs-chart test test-calendar test-postgres lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/deferredrev demo --chart demo-rollforward.png

# The README's chart: the demo's final report, drawn by the code (deterministic: the same bytes every run).
docs-chart: $(STAMP)
	$(BIN)/deferredrev demo --quiet --chart docs/rollforward-chart.png

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

# The whole suite again on another day: the year's last minute, when the next month (and year) has already begun in
# UTC+14. Tests marked `calendar` run at several such moments in `make test` itself (tests/calendar.py).
test-calendar: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q --clock 2026-12-31T23:59:30Z

# Storage and concurrency tests against a real PostgreSQL (set TEST_DATABASE_URL).
test-postgres: $(STAMP)
	$(BIN)/python -m pytest -q -m postgres

lint: $(STAMP)
	$(BIN)/ruff check deferredrev tests bench app.py
	$(BIN)/ruff format --check deferredrev tests bench app.py
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
