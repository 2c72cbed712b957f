# shipspec: two commands on a fresh machine -- `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: demo test test-fast bench venv checkov lint build check schema clean

venv: $(STAMP)

# Every package comes from constraints.txt, pinned by version and sha256 (--require-hashes; the
# build backend setuptools too); shipspec itself is then installed without resolving anything, and
# `pip check` proves the pins hold every dependency. scripts/hash-pins.py regenerates the hashes.
PIP := $(BIN)/pip --quiet --disable-pip-version-check

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes --no-deps -r constraints.txt || { echo "constraints.txt holds the" \
	  "sha256 of the files pip picks for CI (Linux x86-64, CPython 3.11). On another platform, add this" \
	  "one's: $(BIN)/python scripts/hash-pins.py --add constraints.txt (review the diff), then make again." >&2; \
	  exit 1; }
	$(PIP) install --no-deps --no-build-isolation -e '.[dev]'
	$(PIP) check
	touch $(STAMP)

# checkov pins boto3 and packaging versions of its own: it lives in its own virtual environment.
checkov: $(CHECKOV_VENV)/.installed

$(CHECKOV_VENV)/.installed: checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r checkov-requirements.txt
	touch $@

demo: venv
	$(BIN)/shipspec validate
	$(BIN)/shipspec build
	$(BIN)/shipspec lint
	$(BIN)/shipspec check
	@echo "--- generated/ ---"
	@find generated -type f | sort
	@if [ -x scripts/demo-local.sh ]; then PATH="$(CURDIR)/$(BIN):$$PATH" scripts/demo-local.sh; fi

test: venv checkov
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The fast tier: everything but the tests marked `slow` (emulator, cfn-lint, checkov, worker
# processes, the benchmark). A useful answer in well under a minute; `make test` runs it all.
test-fast: venv
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

bench: venv
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

build: venv
	$(BIN)/shipspec build
	$(BIN)/shipspec schema

check: venv
	$(BIN)/shipspec check

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .shipspec .pytest_cache
