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

# Re-run every notebook in fast mode and keep only the outputs nbval checks.
clean-notebooks: setup
	COURSE_FAST=1 TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/python scripts/clean_notebooks.py --execute notebooks/*.ipynb

# ---- instructor kit (issue 15): reveal.js decks and the course as a static site ----------------------------
# Each notebook is executed once on its shipped weights (fast mode where it has none); the executed copies are
# cached in artifacts/executed/ by content hash and shared by both targets. Output: artifacts/slides/, artifacts/site/.
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(STAMP) requirements-docs.txt
	$(BIN)/python -m pip install --quiet -r requirements-docs.txt
	@touch $(DOCS_STAMP)

.PHONY: slides site
slides: $(DOCS_STAMP)
	TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/python scripts/build_slides.py

site: $(DOCS_STAMP)
	TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/python scripts/build_site.py
