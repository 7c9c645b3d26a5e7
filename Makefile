# Two commands for a fresh machine (Linux or macOS, Python 3.11, 3.12 or 3.13):
#   make lab    install the runtime (requirements.txt) and open the course in JupyterLab
#   make test   install runtime + development tools (requirements-dev.txt), run ruff, the whole test suite with
#               the autograder's grading runs, then the Colab-versions pass (test-colab: Python 3.13, TF 2.20,
#               Keras 3.13, ipywidgets 7.7.1; outside CI it is skipped, saying so, where no Python 3.13 is found)
# Inner loop: make test-quick (ruff and tests/ without nbval, the pretrained and Fashion-MNIST runs, the browser
#   or grading; see the README)
# Another interpreter: make lab PYTHON=python3.12
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev
# extra JupyterLab options, e.g. in a container: make lab LAB_ARGS="--ip=0.0.0.0 --no-browser"
LAB_ARGS ?=

# Colab's versions in a second venv, on a Python 3.13 that scripts/find_python.sh finds (COLAB_PYTHON if set,
# python3.13 on PATH, pyenv, uv). Empty here: set it to pick one.
COLAB_PYTHON ?=
COLAB_VENV   := .venv-colab
COLAB_STAMP  := $(COLAB_VENV)/.installed
# every widget test (the explorers in test_vae/test_cvae included) and every shipped model loaded whole (the files
# were saved by Keras 3.15; weights.load_model drops the newer config keys at their defaults so 3.13 builds the
# same model); then every notebook and solutions notebook (below).
COLAB_WIDGET_TESTS := tests/test_widgets.py tests/test_cgan_widgets.py tests/test_vae.py tests/test_cvae.py

TEST_ENV := COURSE_FAST=1 TF_CPP_MIN_LOG_LEVEL=3 COURSE_RUNS_DIR=$$(mktemp -d)
# test processes (pytest-xdist): most of the suite is notebooks running in kernels, one core each; 2 fills a 2-core
# machine. What must stay on one worker is set in tests/conftest.py. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
# more pytest options for the suite, e.g. TEST_ARGS=--junitxml=report.xml (benchmarks/test_suite_time.py)
TEST_ARGS ?=

.PHONY: setup setup-runtime check-python git-filter lab test test-main test-quick test-assignments test-colab colab-venv colab-pass lint clean-notebooks assignments

# The supported range, checked before anything is installed (when .venv is made) (keras 3.15 and ipykernel 7 need >= 3.11;
# TensorFlow has no wheel for 3.14 yet).
check-python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: '$(PYTHON)' not found. The course needs Python 3.11, 3.12 or 3.13: pass one, e.g. make lab PYTHON=python3.12 (or PYTHON=/path/to/python3.13)."; exit 1; }
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v <= (3, 13) else "make: $(PYTHON) is Python %d.%d; the course needs Python 3.11, 3.12 or 3.13. Pick one with e.g. make lab PYTHON=python3.12 (or PYTHON=/path/to/python3.13), then rm -rf $(VENV) if it was made with another." % v)'

# `setup` is the developer set-up (runtime + tests + git filter); `make lab` needs only setup-runtime.
setup: $(DEV_STAMP) git-filter

setup-runtime: $(RUNTIME_STAMP)

$(RUNTIME_STAMP): requirements.txt pyproject.toml
	@$(MAKE) --no-print-directory check-python PYTHON=$(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

$(DEV_STAMP): requirements-dev.txt requirements-docs.txt $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

# Keep tracked notebooks clean while people use them: a git clean filter (the nbstripout mechanism) strips
# outputs, except cells marked `# NBVAL_CHECK_OUTPUT`, with the same rule as scripts/clean_notebooks.py.
# It only writes this clone's .git config; the command is relative, so each clone/worktree uses its own .venv.
git-filter:
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git config filter.notebook-outputs.clean '.venv/bin/python scripts/git_strip_notebook.py' && \
	  git config filter.notebook-outputs.smudge cat && \
	  echo "git filter 'notebook-outputs' installed (see .gitattributes): saved outputs no longer dirty git status"; \
	fi

lab: setup-runtime git-filter
	@if [ "$$(id -u)" = 0 ]; then echo "make lab: running as root (a container?), so adding --allow-root; in a container also pass LAB_ARGS=\"--ip=0.0.0.0 --no-browser\""; root=--allow-root; fi; \
	echo "make lab: serving $(CURDIR), opening notebooks/; JupyterLab prints the URL with its token below"; \
	exec $(BIN)/jupyter lab --ServerApp.root_dir=. --FileContentsManager.preferred_dir=notebooks $$root $(LAB_ARGS)

# The Colab pass needs a Python 3.13. Where none is found, CI (CI set, not "false") fails; anywhere else the rest
# of the suite has passed, and the last line says that the Colab pass did not run and how to enable it.
# .venv-colab is built beside .venv (both mostly download and unpack wheels: about 80 s each on the 2-core machine,
# about 110 s together), its log printed after; then the main suite, then the Colab pass (times: CHANGELOG.md).
test:
	@log=$$(mktemp); \
	$(MAKE) --no-print-directory colab-venv >$$log 2>&1 & colab=$$!; \
	$(MAKE) --no-print-directory setup; setup=$$?; \
	wait $$colab; built=$$?; sed 's/^/[colab venv] /' $$log; rm -f $$log; \
	[ $$setup = 0 ] && [ $$built = 0 ] || { echo "make test: FAILED: set-up (make setup: exit $$setup; .venv-colab: exit $$built, log above)"; exit 1; }; \
	$(MAKE) --no-print-directory test-main && $(MAKE) --no-print-directory colab-pass

# .venv-colab where a Python 3.13 is found; nothing (and no error) where none is: colab-pass then says so, or fails in CI
colab-venv:
	@if py=$$(COLAB_PYTHON="$(COLAB_PYTHON)" scripts/find_python.sh 3.13 2>/dev/null); then \
	  $(MAKE) --no-print-directory $(COLAB_STAMP) COLAB_PYTHON="$$py"; \
	fi

colab-pass:
	@if py=$$(COLAB_PYTHON="$(COLAB_PYTHON)" scripts/find_python.sh 3.13); then \
	  $(MAKE) --no-print-directory test-colab COLAB_PYTHON="$$py"; \
	elif [ -n "$${CI:-}" ] && [ "$${CI}" != false ]; then \
	  echo "make test: FAILED: CI=$$CI requires the Colab-versions pass (make test-colab), and no Python 3.13 was found (above)."; exit 1; \
	else \
	  echo "make test: everything else passed, but the Colab-versions pass (make test-colab) did NOT run: no Python 3.13 (above). Enable it: uv python install 3.13, or make test COLAB_PYTHON=/path/to/python3.13."; \
	fi

# Everything on Python 3.11's versions in one pytest session, so both workers stay busy: the grading runs (the
# autograder on each topic's solutions and untouched hand-out, at the exercise budget; 02's first, the longest) and
# the rest of the suite. Grading runs every solution at the exercise budget, the real one, where nbval's fast mode
# skips the long runs, so only the solutions notebooks with outputs nbval compares (NBVAL_CHECK_OUTPUT) run under
# nbval here; the Colab pass runs all of them under nbval.
SOLUTIONS_UNCHECKED := $(shell grep -L NBVAL_CHECK_OUTPUT notebooks/solutions/*.ipynb)
test-main: setup
	$(BIN)/ruff check .
	$(TEST_ENV) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --durations=15 \
	  $(addprefix --ignore=,$(SOLUTIONS_UNCHECKED)) $(TEST_ARGS)

# The inner loop: the helpers' unit tests, the checks' own tests, hygiene, claims' form, user paths. Leaves out every
# nbval notebook run, the claims' pretrained runs, Fashion-MNIST, full-size memory, the browser and the grading.
test-quick: setup
	$(BIN)/ruff check .
	$(TEST_ENV) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope -m "not grading" tests --ignore=tests/browser \
	  --ignore=tests/test_notebooks_fashion.py --ignore=tests/test_notebook_memory.py \
	  -k "not runs_with_pretrained and not claims_hold" $(TEST_ARGS)

# The exercises as hand-outs and autograders (otter-grader, scripts/build_assignments.py), into assignments/dist/.
assignments: setup
	TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/python scripts/build_assignments.py

# The autograder graded for real, alone: the solutions score every point, the untouched student copies none. The
# exercises train at their exercise budget (02's solutions about 9,000 steps); test-main runs the same tests.
test-assignments: setup
	$(TEST_ENV) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope -m grading --durations=10 tests/test_assignments.py

lint: setup
	$(BIN)/ruff check .

# Colab's versions on Python 3.13. A missing interpreter fails (not skips) here: a skipped check would let a
# change that breaks Colab pass unnoticed (`make test` outside CI says so instead, see colab-pass).
$(COLAB_STAMP): requirements-colab.txt pyproject.toml
	@py=$$(COLAB_PYTHON="$(COLAB_PYTHON)" scripts/find_python.sh 3.13) || exit 1; \
	echo "make test-colab: building $(COLAB_VENV) with $$py"; \
	rm -rf $(COLAB_VENV) && $$py -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install --quiet -r requirements-colab.txt
	$(COLAB_VENV)/bin/python -m pip install --quiet -e .
	@touch $@

# Both modes of every notebook on Colab's versions: the student's (fast mode, training: nbval of notebooks/ and
# notebooks/solutions/) and the instructor's (pretrained Run All: the claims test's run, without comparing numbers,
# which TensorFlow 2.20 may round differently). Time on the 2-core machine: part I of benchmarks/RESULTS.md.
test-colab: $(COLAB_STAMP)
	@$(COLAB_VENV)/bin/python -c 'import importlib.metadata as m; v = {p: m.version(p) for p in ("tensorflow", "keras", "ipywidgets", "numpy", "matplotlib", "pillow", "scipy")}; print("make test-colab:", v); assert v["tensorflow"].startswith("2.20.") and v["keras"].startswith("3.13.") and (v["ipywidgets"], v["numpy"], v["matplotlib"], v["pillow"], v["scipy"]) == ("7.7.1", "2.1.3", "3.9.4", "11.0.0", "1.14.1"), "pip install -e . changed the pinned floors: lower the floors in pyproject.toml"'
	$(TEST_ENV) $(COLAB_VENV)/bin/python -m pytest -q -W ignore::DeprecationWarning $(COLAB_WIDGET_TESTS) -k "widget or explorer or shipped_models"
	$(TEST_ENV) $(COLAB_VENV)/bin/python -m pytest -q -W ignore::DeprecationWarning tests/test_weights.py -k "shipped or portable"
	$(TEST_ENV) $(COLAB_VENV)/bin/python -m pytest -q -W ignore::DeprecationWarning -n $(TEST_WORKERS) --dist loadscope --durations=10 notebooks tests/test_claims.py -k "Cell or runs_with_pretrained"

# Re-run every notebook in fast mode and keep only the outputs nbval checks (the script trains into a
# temporary COURSE_RUNS_DIR, never into runs/).
clean-notebooks: setup
	COURSE_FAST=1 TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/python scripts/clean_notebooks.py --execute notebooks/*.ipynb

# ---- instructor kit (issue 15): reveal.js decks and the course as a static site ----------------------------
# Each notebook is executed once on its shipped weights (fast mode where it has none); the executed copies are
# cached in artifacts/executed/ by content hash and shared by both targets. Output: artifacts/slides/, artifacts/site/.
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(RUNTIME_STAMP) requirements-docs.txt
	$(BIN)/python -m pip install --quiet -r requirements-docs.txt
	@touch $(DOCS_STAMP)

.PHONY: slides site
slides: $(DOCS_STAMP)
	TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/python scripts/build_slides.py

site: $(DOCS_STAMP)
	TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/python scripts/build_site.py
