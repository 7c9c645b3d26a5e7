#!/usr/bin/env bash
# Print the path of a Python MAJOR.MINOR interpreter (default 3.13, Colab's) and exit 0; or say on stderr where
# it looked and how to get one, and exit 1. `make test-colab` uses it to build .venv-colab.
# Looks, in this order: $COLAB_PYTHON (when set it must be that version: no silent fallback), pythonX.Y on
# PATH, pyenv's versions ($PYENV_ROOT or ~/.pyenv), uv (`uv python find`, then `uv python install`, which
# downloads a standalone build when online). What it prints is the interpreter itself (sys.executable), not a shim.
set -u
want="${1:-3.13}"

real_path() {  # the interpreter behind $1 if it is Python $want, else nothing
    "$1" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want' else 1)" >/dev/null 2>&1 &&
        "$1" -c 'import sys; print(sys.executable)'
}

if [ -n "${COLAB_PYTHON:-}" ]; then
    real_path "$COLAB_PYTHON" || { echo "COLAB_PYTHON=$COLAB_PYTHON is not a Python $want interpreter." >&2; exit 1; }
    exit 0
fi
if command -v "python$want" >/dev/null 2>&1; then
    real_path "$(command -v "python$want")" && exit 0
fi
for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$want".*/bin/"python$want" 2>/dev/null | sort -rV); do
    real_path "$candidate" && exit 0
done
if command -v uv >/dev/null 2>&1; then
    found="$(uv python find "$want" 2>/dev/null)" && real_path "$found" && exit 0
    echo "find_python: asking uv to install Python $want (a download, once)" >&2
    uv python install "$want" >&2 && found="$(uv python find "$want" 2>/dev/null)" && real_path "$found" && exit 0
fi
echo "No Python $want found (looked at COLAB_PYTHON, python$want on PATH, pyenv, uv). Get one with" \
     "'uv python install $want' (pip install uv), 'pyenv install $want', or your system's packages," \
     "or pass COLAB_PYTHON=/path/to/python$want." >&2
exit 1
