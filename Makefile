# make demo: create .venv, install, build the demo database and print its summary.
# make test: the linter and the whole test suite (what .ci/run runs).
# make bench: the benchmarks (figures in BENCHMARKS.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint install clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sstransfer demo

lint: $(STAMP)
	$(BIN)/ruff check .

# Two processes (one per core of the CI machine); each has its own PostgreSQL database.
test: lint
	$(BIN)/python -m pytest -n 2

# The benchmarks of BENCHMARKS.md (about 10 minutes on 2 cores); the last one starts a
# throw-away PostgreSQL on loopback with .ci/postgres.sh.
bench: $(STAMP)
	cd bench && ../$(BIN)/python bench_transitions.py
	cd bench && ../$(BIN)/python bench_scan.py
	cd bench && ../$(BIN)/python bench_calendar.py
	cd bench && ../$(BIN)/python bench_bulk_open.py
	cd bench && ../$(BIN)/python bench_memory.py
	cd bench && SSTRANSFER_BENCH_POSTGRES_URL=$$(bash ../.ci/postgres.sh) ../$(BIN)/python bench_postgres.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .ruff_cache .hypothesis
