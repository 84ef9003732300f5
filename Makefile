# Fiscal e-receipt platform: `make run` serves the demo province, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The national platform simulator that `make run` starts beside the platform (docs/national.md).
NATSIM_PORT ?= 8700

.PHONY: natsim run test test-sqlite lint screenshots bench bench-issue bench-pipeline bench-render bench-verify install migrate demo worker schema clean

$(VENV)/.installed: requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "需要 Python 3.11（$(PYTHON)）。Python 3.11 is required."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	bash bin/ensure_system_packages.sh
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

demo: migrate
	$(PY) manage.py load_demo

run: demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py demo_logins
	HOST=$(HOST) PORT=$(PORT) NATSIM_PORT=$(NATSIM_PORT) bash bin/serve.sh

# The simulator alone, in the foreground (as `make run` starts it, without the platform).
natsim: install
	$(PY) -m natsim serve --data var/natsim --port $(NATSIM_PORT) --control

worker: install
	$(VENV)/bin/celery -A config worker --loglevel INFO --concurrency 2

test: install
	$(PY) bin/run_tests.py

test-sqlite: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

bench: install
	$(PY) bench/issue.py
	$(PY) bench/pipeline.py
	$(PY) bench/render.py
	$(PY) bench/verify.py

bench-issue: install
	$(PY) bench/issue.py

bench-pipeline: install
	$(PY) bench/pipeline.py

bench-render: install
	$(PY) bench/render.py

bench-verify: install
	$(PY) bench/verify.py

schema: install
	$(PY) manage.py spectacular --file docs/openapi.yaml --validate

clean:
	rm -rf $(VENV) var

# Pictures of the user guide (docs/user-guide/images): the browser tests' screens, then the demo
# province's screens from a running `make run` (BASE_URL) as every demo login.
BASE_URL ?= http://127.0.0.1:8000
screenshots: install
	EREC_SCREENSHOTS_DIR=$(CURDIR)/docs/user-guide/images $(PY) -m pytest tests/browser -p no:randomly
	$(PY) bin/user_guide_screens.py --base-url $(BASE_URL) --out docs/user-guide/images
