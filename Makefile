# mlops-ladder - everything runs offline. `make demo` and `make test` are the two commands a newcomer needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PULUMI_SKIP_UPDATE_CHECK=true

.PHONY: install test test-fast demo bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the tool with everything the tests need

test: $(STAMP)  ## the whole suite (slow tests included), on all cores
	$(PY) -m pytest -n auto --dist loadfile -q

test-fast: $(STAMP)  ## skip the tests marked slow
	$(PY) -m pytest -n auto -q -m "not slow"

SCENARIO ?= default
demo: $(STAMP)  ## the main job, offline (SCENARIO=bad-canary: the rollback drill)
	$(VENV)/bin/ladder demo --scenario $(SCENARIO)

bench: $(STAMP)  ## performance figures (ratios measured in one run)
	$(PY) benchmarks/cli_latency.py
	$(PY) benchmarks/plan_scaling.py
	$(PY) benchmarks/sandbox_apply.py
	$(PY) benchmarks/demo_time.py
	$(PY) benchmarks/pipeline_executor.py
	$(PY) benchmarks/endpoint_invoke.py
	$(PY) benchmarks/monitor_emulation.py

clean:
	rm -rf $(VENV) .pytest_cache .ladder build
