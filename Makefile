# kd-course: two commands set up a fresh machine —  make demo  and  make test.
# The first run creates .venv from pyproject.toml + constraints.txt (2-3 minutes, about 3 GB);
# later runs reuse it and start at once.

PYTHON ?= python3
PY_NEEDED := 3.11
#: PyTorch's CPU-only wheels: on Linux PyPI's torch is the CUDA build (~3 GB more of nvidia-*
#: packages). Override with TORCH_INDEX=... (e.g. a CUDA index) if you want a GPU build.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_PIN   := $(shell grep -E '^torch==' constraints.txt)
UNAME       := $(shell uname -s)
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
# pytest-xdist: the grading tests keep each graded course on one worker (tests/conftest.py schedules); two
# workers fill the cores while a notebook or a sleeping hostile submission leaves one idle
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder
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

.PHONY: setup demo test test-fast lint lab lab-instructor start release grade benchmark clean
#: jupyter refuses to run as root without this flag; ordinary users do not need it
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' 2>/dev/null || { \
	  echo "make: kd-course needs Python $(PY_NEEDED) or newer (numpy 2.4 and the pinned set); $(PYTHON) is $$($(PYTHON) --version 2>&1 || echo missing). Run e.g. make setup PYTHON=python3.11" >&2; exit 1; }
	@echo "Setting up .venv (first run only: 2-3 minutes, about 3 GB; pip shows its progress)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar on --upgrade pip
ifeq ($(UNAME),Linux)
	$(BIN)/python -m pip install --progress-bar on --retries 1 --no-deps --index-url $(TORCH_INDEX) "$(TORCH_PIN)"
endif
	$(BIN)/python -m pip install --progress-bar on -c constraints.txt -e ".[torch,tf,deploy,course,dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (kd-course)" >/dev/null
	@touch $@

demo: setup  ## train teacher, scratch and distilled students in both frameworks; print the table
	$(BIN)/kd demo $(DEMO_ARGS)

test: lint  ## lint, then the whole test suite (what CI runs), on $(TEST_WORKERS) pytest-xdist workers
	$(BIN)/python -m pytest -q --durations=15 $(XDIST)

test-fast: setup  ## the tests not marked slow (library, contracts, CLI, bank): the edit-run loop, ~1-2 min
	$(BIN)/python -m pytest -q -m "not slow" --durations=5 $(XDIST)

lint: setup  ## ruff: lint and formatting (CI runs it before the tests)
	$(BIN)/ruff check kdlib tests benchmarks solutions nbgrader_config.py
	$(BIN)/ruff format --check kdlib tests benchmarks solutions nbgrader_config.py

#: the learner's language: en or zh (default: from LANG, e.g. LANG=zh_CN.UTF-8 → zh)
LAB_LANG ?= $(if $(filter zh%,$(LANG)),zh,en)
LAB_SETTINGS := $(abspath .cache/lab-settings)
LAB_LOCALE_FILE := $(LAB_SETTINGS)/@jupyterlab/translation-extension/plugin.jupyterlab-settings

start: setup  ## copy the student notebooks into work/ (yours; never overwritten); LAB_LANG=zh: the Chinese edition
	$(BIN)/kd start --lang $(LAB_LANG)

lab: start  ## JupyterLab for learners, on work/ (nbgrader's instructor tools hidden); LAB_LANG=zh: Chinese menus and notebooks
	@mkdir -p $(dir $(LAB_LOCALE_FILE))
	@# the UI language follows LAB_LANG when it is given; otherwise a choice made in Settings → Language stays
	@if [ "$(origin LAB_LANG)" != "file" ] || [ ! -f $(LAB_LOCALE_FILE) ]; then \
	  printf '{"locale": "%s"}\n' "$(if $(filter zh,$(LAB_LANG)),zh_CN,en)" > $(LAB_LOCALE_FILE); fi
	JUPYTER_CONFIG_DIR=$(abspath jupyter-config/learner) JUPYTERLAB_SETTINGS_DIR=$(LAB_SETTINGS) \
	  $(BIN)/jupyter lab $(ROOT_FLAG) --notebook-dir=work

lab-instructor: setup  ## JupyterLab on the whole course with nbgrader's Formgrader and Create Assignment
	$(BIN)/jupyter lab $(ROOT_FLAG) --notebook-dir=.

release: setup  ## regenerate notebooks/ from solutions/, then the Chinese zh/ from both + i18n/zh_CN/*.po (RELEASE_ARGS=--force to overwrite work, with a backup)
	$(BIN)/python -m kdlib.grading release $(RELEASE_ARGS) $(ASSIGNMENTS)
	$(BIN)/python -m kdlib.i18n build $(RELEASE_ARGS) $(ASSIGNMENTS)

grade: setup  ## autograde collected submissions: make grade ASSIGNMENT=03_loss_torch
	@test -n "$(ASSIGNMENT)" || { echo "make grade: say which assignment, e.g. make grade ASSIGNMENT=03_loss_torch (one of: $$(ls solutions | paste -sd' ' -))" >&2; exit 2; }
	$(BIN)/kd grade $(ASSIGNMENT) $(GRADE_ARGS)

benchmark: setup  ## every script that produces a figure the course quotes (benchmarks/figures/ lists which); a few hours on 2 cores
	$(BIN)/python benchmarks/kd_gain.py
	$(BIN)/python benchmarks/teacher_cache.py
	$(BIN)/python benchmarks/transfer_pool.py
	$(BIN)/python benchmarks/import_time.py
	$(BIN)/python benchmarks/pruning_control.py
	$(BIN)/python benchmarks/fidelity_calibration.py
	$(BIN)/python benchmarks/left_out_class.py
	$(BIN)/python benchmarks/dkd_beta.py
	$(BIN)/python benchmarks/keras_default_loss.py
	$(BIN)/python benchmarks/lm_distill.py
	$(BIN)/python benchmarks/self_ensemble.py --frameworks torch --seeds 5
	$(BIN)/python benchmarks/self_ensemble.py --frameworks tf --seeds 3
	$(BIN)/python benchmarks/function_matching.py --frameworks torch tf
	$(BIN)/python benchmarks/grade_parallel.py
	$(BIN)/python benchmarks/grading_costs.py --n 6
	$(BIN)/python benchmarks/kernel_floor.py --n 6  # add --suite-dir /tmp/pytest-of-$$USER/pytest-N after make test for the suite's floor

clean:
	rm -rf .cache .pytest_cache out
