# The two commands of the README work on a fresh machine with Python >= 3.11:
# `make run` and `make test` create .venv and install on first use. `make run` installs the
# runtime dependencies only; the dev extra (pytest, mypy, ruff…) and the SDK come with `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt bench bench-waiters clean

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) clients/python/pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]' -e clients/python
	touch $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/imagegate dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src worker
	cd clients/python && $(abspath $(BIN))/mypy --strict src/imagegate_client

# The suite spends most of its time starting and waiting on processes, so it runs on several
# pytest-xdist workers, a whole file to each (module fixtures such as the SDK's fresh venv are
# built once), in collection order with the slow directories first (tests/conftest.py) rather
# than xdist's biggest-file-first. 3 was the fastest reliable count on 2 CPUs. `pytest` by
# itself stays serial; TEST_WORKERS=0 makes `make test` serial too.
TEST_WORKERS ?= 3

test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Starts its own Valkey, API and workers on loopback, measures every figure of
# docs/BENCHMARKS.md in one run (~4 min on 2 CPUs) and rewrites that file. Needs wrk: installed
# with apt-get when run as root, else it says how (bench/load.py). Not part of `make test`.
bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.waiters --max 16000

# The waiter benchmarks alone (no wrk needed): the change hub by itself, then SSE streams and
# long-polls on one API process (the `waiters` phase of `make bench`).
bench-waiters: $(STAMP)
	$(BIN)/python -m bench.waiters --max 16000
	$(BIN)/python -m bench.waiters --http --max 8000

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
