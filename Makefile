# The two set-up commands: `make demo` (the native stack) and `make test` (the whole suite).
# Both install what they need: Debian's prometheus, prometheus-alertmanager, prometheus-blackbox-exporter and
# victoria-metrics, and a virtualenv in .venv.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FRAMEWORKS_STAMP := $(VENV)/.frameworks

.PHONY: help deps validators venv frameworks lint format test test-rules generate dashboards bench demo clean

help:
	@echo "make demo        run the native stack (Prometheus, Alertmanager, exporter, scorer, simulator)"
	@echo "make test        run every test (installs what is missing)"
	@echo "make lint        ruff check, ruff format --check and the mypy type check (part of make test)"
	@echo "make format      ruff fix and format the tree"
	@echo "make test-rules  promtool and amtool checks and tests of the rules and routing"
	@echo "make generate    regenerate the event schema, metrics reference, rule files, dashboards and deploy/kubernetes/"
	@echo "make dashboards  regenerate grafana/dashboards/*.json and the alerts' dashboard links from grafana/builder/"
	@echo "make bench       run the benchmarks and print figures"
	@echo "make frameworks  add LiveKit Agents and Pipecat to .venv, so make test runs the adapters' tests (CI does)"

deps:
	@scripts/install-deps.sh

validators:
	@scripts/install-validators.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The voice frameworks the adapters plug into (about 600 MB): optional extras, their tests skip without them.
$(FRAMEWORKS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,livekit,pipecat]'
	touch $(FRAMEWORKS_STAMP)

frameworks: $(FRAMEWORKS_STAMP)

test: deps validators venv lint
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m scripts.typecheck

format: venv
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

test-rules: deps venv
	$(PY) -m pytest tests/rules

generate: venv
	$(PY) -m scripts.generate_reference
	$(PY) -m grafana.builder
	$(PY) -m grafana.builder.coverage_doc
	$(PY) -m prometheus.generate
	$(PY) -m deploy.kubernetes.generate

dashboards: venv
	$(PY) -m grafana.builder
	$(PY) -m prometheus.generate

bench: deps venv
	$(PY) -m scripts.bench_exporter
	$(PY) -m scripts.bench_exposition
	$(PY) -m scripts.bench_soak
	$(PY) -m scripts.bench_scorer
	$(PY) -m scripts.bench_memory
	$(PY) -m scripts.bench_client
	$(PY) -m scripts.bench_series_cost
	$(PY) -m scripts.bench_webhooks
	$(PY) -m scripts.bench_traces
	$(PY) -m scripts.bench_adapter
	$(PY) -m scripts.bench_drilldown --calls 100000 --hours 6
	$(PY) -m scripts.bench_drilldown --calls 200000 --hours 24

demo: deps venv
	$(PY) -m scripts.demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .demo .pytest_cache
