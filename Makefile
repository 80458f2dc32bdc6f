# kd-course: two commands set up a fresh machine —  make demo  and  make test.
# The first run creates .venv from pyproject.toml + constraints.txt (about 2 minutes);
# later runs reuse it and start at once.

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
# nbgrader runs `alembic` as a subprocess: the venv's bin/ must be on PATH.
export PATH := $(BIN):$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 2
export TF_ENABLE_ONEDNN_OPTS ?= 0
export KERAS_HOME ?= $(abspath .cache/keras)
export MPLCONFIGDIR ?= $(abspath .cache/matplotlib)
export PYTHONHASHSEED ?= 0

ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9][0-9]_*))
DEMO_ARGS ?=
GRADE_ARGS ?=

.PHONY: setup demo test lint lab release grade benchmark clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[torch,tf,deploy,course,dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (kd-course)" >/dev/null
	@touch $@

demo: setup  ## train teacher, scratch and distilled students in both frameworks; print the table
	$(BIN)/kd demo $(DEMO_ARGS)

test: setup  ## the whole test suite (what CI runs)
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check kdlib tests benchmarks

lab: setup  ## open JupyterLab on the course
	$(BIN)/jupyter lab --allow-root --notebook-dir=.

release: setup  ## regenerate the student notebooks/ from solutions/
	$(BIN)/python -m kdlib.grading release $(ASSIGNMENTS)

grade: setup  ## autograde collected submissions: make grade ASSIGNMENT=03_loss_torch
	@test -n "$(ASSIGNMENT)" || { echo "make grade: say which assignment, e.g. make grade ASSIGNMENT=03_loss_torch (one of: $$(ls solutions | paste -sd' ' -))" >&2; exit 2; }
	$(BIN)/kd grade $(ASSIGNMENT) $(GRADE_ARGS)

benchmark: setup
	$(BIN)/python benchmarks/kd_gain.py
	$(BIN)/python benchmarks/teacher_cache.py
	$(BIN)/python benchmarks/transfer_pool.py
	$(BIN)/python benchmarks/import_time.py
	$(BIN)/python benchmarks/grade_parallel.py

clean:
	rm -rf .cache .pytest_cache out
