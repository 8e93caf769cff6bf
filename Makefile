# make demo: create .venv, install the package alone (what the demo needs), build the demo
#            database and print its summary.
# make test: install the development extras too, then the linter and the whole test suite
#            (what .ci/run runs).
# make bench: the benchmarks (figures in BENCHMARKS.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.installed-dev-stamp

PEERS  := bench/.venv-peers
PEERS_STAMP := $(PEERS)/.installed-stamp

.PHONY: demo test lint install clean bench bench-peers

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# The tests' and linters' tools (pytest, Playwright, mypy, …): never needed by the demo.
$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

install: $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/sstransfer demo

# ruff; the layering contracts of pyproject.toml (arrows one way, no cycles, a pure core);
# mypy --strict on the package (settings in pyproject.toml).
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy workflow

# Two processes (one per core of the CI machine); each has its own PostgreSQL database.
test: lint
	$(BIN)/python -m pytest -n 2

# The peer engines of bench/bench_peers.py live in their own virtual environment, made only
# here (never by `make test`): the project's .venv keeps exactly the project's dependencies, so
# the tests never see a peer or a version a peer pulled in. Same interpreter as the project.
$(PEERS_STAMP): Makefile
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS)/bin/python -m pip install --quiet 'SpiffWorkflow>=3,<4' 'python-statemachine>=3,<4' \
		'transitions>=0.9.2,<0.10' 'sqlmodel>=0.0.22'
	touch $(PEERS_STAMP)

bench-peers: $(PEERS_STAMP)

# The benchmarks of BENCHMARKS.md (about 25 minutes on 2 cores); the PostgreSQL ones start a
# throw-away PostgreSQL on loopback with .ci/postgres.sh. The national-scale one (issue 22) runs
# in a database of its own (sstransfer_test_national, dropped and made anew) with 300,000 cases,
# about 5 minutes; the real run, 5 million cases with loading capped at 20 minutes and figures
# at 1 million too (about 30 minutes on an idle 2-core machine, some 13 GB of disk):
#   cd bench && SSTRANSFER_BENCH_POSTGRES_URL=$(bash ../.ci/postgres.sh)_national \
#     ../.venv/bin/python bench_national.py --cases 5000000 --minutes 20
bench: $(DEV_STAMP) $(PEERS_STAMP)
	cd bench && ../$(BIN)/python bench_startup.py
	cd bench && ../$(BIN)/python bench_peers.py
	cd bench && ../$(BIN)/python bench_transitions.py
	cd bench && ../$(BIN)/python bench_scan.py
	cd bench && ../$(BIN)/python bench_scan_logging.py
	cd bench && ../$(BIN)/python bench_calendar.py
	cd bench && ../$(BIN)/python bench_bulk_open.py
	cd bench && ../$(BIN)/python bench_memory.py
	cd bench && SSTRANSFER_BENCH_POSTGRES_URL=$$(bash ../.ci/postgres.sh) ../$(BIN)/python bench_postgres.py
	cd bench && SSTRANSFER_BENCH_POSTGRES_URL=$$(bash ../.ci/postgres.sh) ../$(BIN)/python bench_api.py
	cd bench && SSTRANSFER_BENCH_POSTGRES_URL=$$(bash ../.ci/postgres.sh)_national ../$(BIN)/python bench_national.py

clean:
	rm -rf $(VENV) $(PEERS) demo-output .pytest_cache .ruff_cache .hypothesis
