# stackcurate: `make run` curates the built-in sample, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SHARED ?= ../shared
SAMPLE ?= sample
OUT ?= out
SAMPLE_MB ?= 20
PRESET ?= santacoder
BASE_STAMP := $(VENV)/.base-installed
FULL_STAMP := $(VENV)/.full-installed
# With ../shared beside the checkout everything stays offline; without it the benchmarks come from the Hub and
# the opt-out cases are planted against the list the sample builder writes.
SHARED_ARGS := $(if $(wildcard $(SHARED)/benchmarks),--benchmarks_dir $(SHARED)/benchmarks,) \
               $(if $(wildcard $(SHARED)/optout/optouts.jsonl),--optout_list $(SHARED)/optout/optouts.jsonl,--optout_list $(SAMPLE)/optouts.txt)
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=

.PHONY: run test install install-full sample lint bench clean browser jars

$(BASE_STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -c requirements.lock -e .
	touch $@

$(FULL_STAMP): $(BASE_STAMP)
	$(PIP) install -q --disable-pip-version-check -c requirements.lock -e '.[model,gcp,dev]'
	touch $@

install: $(BASE_STAMP)
install-full: $(FULL_STAMP)

$(SAMPLE)/truth.json: $(BASE_STAMP)
	$(PY) -m samplegen.sample --output $(SAMPLE) --size_mb $(SAMPLE_MB) $(if $(wildcard $(SHARED)/benchmarks),--benchmarks_dir $(SHARED)/benchmarks,)

sample: $(SAMPLE)/truth.json

run: $(SAMPLE)/truth.json
	$(PY) -m pipeline.run --input $(SAMPLE) --output $(OUT) --preset $(PRESET) $(SHARED_ARGS)

# Beam's Flink and Spark job servers, built once by Maven into .cache/jars (pipeline.job_servers); FlinkRunner and
# SparkRunner find them there. Without Java and Maven the Flink and Spark tests are skipped.
jars: $(BASE_STAMP)
	@if command -v java >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1; then $(PY) -m pipeline.job_servers fetch flink >/dev/null && $(PY) -m pipeline.job_servers fetch spark >/dev/null; \
	else echo "java or mvn missing: no Flink or Spark job server, their tests will be skipped"; fi

# Debian's chromium renders report.html in the report test.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "chromium not installed: the browser test will be skipped"

test: $(FULL_STAMP) browser jars
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(PY) -m pytest -n 2 -p no:cacheprovider tests

lint: $(FULL_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(FULL_STAMP)
	for b in bench/[a-z]*.py; do m=bench.$$(basename $$b .py); echo "== $$m"; $(PY) -m $$m || exit 1; done

clean:
	rm -rf $(OUT) $(SAMPLE) .cache
