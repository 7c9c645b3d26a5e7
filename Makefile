# Two commands for a fresh machine (Linux or macOS, Python 3.10+):
#   make lab    set everything up and open the course in JupyterLab
#   make test   set everything up and run the whole test suite (what CI runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup lab test lint clean-notebooks

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is needed: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

lab: setup
	$(BIN)/jupyter lab notebooks/

test: setup
	$(BIN)/ruff check .
	COURSE_FAST=1 TF_CPP_MIN_LOG_LEVEL=3 COURSE_RUNS_DIR=$$(mktemp -d) $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

# Re-run every notebook in fast mode and keep only the outputs nbval checks (the script trains into a
# temporary COURSE_RUNS_DIR, never into runs/).
clean-notebooks: setup
	COURSE_FAST=1 TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/python scripts/clean_notebooks.py --execute notebooks/*.ipynb
