PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2

.PHONY: run test migrate bench clean

SERVE_INSTALLED := $(VENV)/.serve-installed
TEST_INSTALLED := $(VENV)/.test-installed

# The virtual environment with what serving needs (make run, make bench); remade when
# pyproject.toml changes. The test tools (pytest, hypothesis, schemathesis, Playwright) come only
# with make test.
$(SERVE_INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_INSTALLED): $(SERVE_INSTALLED)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

migrate: $(SERVE_INSTALLED)
	$(PY) manage.py migrate --noinput

run: export SERVE_ORIGIN = http://$(HOST):$(PORT)
run: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py createdemo
	$(VENV)/bin/gunicorn oauthserver.wsgi --config oauthserver/gunicorn.conf.py --bind $(HOST):$(PORT) --workers $(WORKERS) --access-logfile - --no-control-socket

test: $(TEST_INSTALLED)
	$(PY) -m pytest

# Throughput and latency under gunicorn, driven by wrk (README "Running in production").
bench: $(SERVE_INSTALLED)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || \
		{ echo "make bench needs wrk (the HTTP load generator): apt-get install -y wrk"; exit 1; }
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) staticfiles *.egg-info
