PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2

.PHONY: run test migrate clean

# The virtual environment with the project and its test tools installed; remade when
# pyproject.toml changes.
$(VENV): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(VENV)

migrate: $(VENV)
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py createdemo
	$(VENV)/bin/gunicorn oauthserver.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --access-logfile - --no-control-socket

test: $(VENV)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) staticfiles *.egg-info
