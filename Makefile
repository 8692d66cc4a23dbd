# Quick start: `make run` (portal + sandbox + worker + beat) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(REQ_HASH)
PYTEST_ARGS ?=

.PHONY: install run test migrate bench clean check-python

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: install
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py seeddemo
	$(BIN)/python manage.py runstack

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache
