# Quick start: `make run` (portal + sandbox + worker + beat), `make test` and `make check`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(REQ_HASH)
PYTEST_ARGS ?=

.PHONY: install run test check chromium migrate bench bench-smoke drills clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (set PYTHON=...)")'
	@bin/ensure-venv $(PYTHON) $(VENV) requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# The browser tests need Chromium: installed with apt-get (as root or with sudo) if missing,
# else one line naming the command and no test runs.
chromium:
	@bin/ensure-chromium

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: install
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py seeddemo
	$(BIN)/python manage.py runstack

# The whole suite, then (on SQLite) the sync engine's tests again on a local PostgreSQL if one answers.
test: install chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@bin/postgres-pass $(BIN)/python $(PYTEST_ARGS)

# Lint, format, types, bandit and pip-audit; every check runs, and any failure fails the target.
# bandit warns once per other node of a multi-line statement whose finding carries `# nosec BXXX`
# ("nosec encountered ... but no failed test"): those lines are dropped, everything else is shown.
check: install
	@status=0; \
	echo "$(BIN)/ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "$(BIN)/ruff format --check ."; $(BIN)/ruff format --check . || status=1; \
	echo "$(BIN)/mypy ."; $(BIN)/mypy . || status=1; \
	echo "$(BIN)/bandit -c pyproject.toml -r . -q"; \
	out=$$($(BIN)/bandit -c pyproject.toml -r . -q 2>&1) || status=1; \
	printf '%s\n' "$$out" | grep -v 'WARNING.nosec encountered (B[0-9]*), but no failed test' | grep -v '^$$'; \
	echo "bin/pip-audit-check $(BIN)"; bin/pip-audit-check $(BIN) || status=1; \
	exit $$status

# The drills (drills/): the whole stack on a PostgreSQL and a Redis of its own, put through
# failures; each prints "drill NAME: acknowledged N, lost L, duplicated D, recovered in T s".
# DRILLS="kill_worker rate_limit" runs some of them.
DRILLS ?=
drills: install
	$(BIN)/python -m drills $(DRILLS)

bench: install
	$(BIN)/python bench/run_all.py

# The list benchmark at 5,000 rows, each case once (about a minute, PostgreSQL): it still runs and
# every check holds. CI runs it; it measures nothing worth reporting.
bench-smoke: install
	$(BIN)/python bench/lists.py --smoke

clean:
	rm -rf $(VENV) var .pytest_cache
