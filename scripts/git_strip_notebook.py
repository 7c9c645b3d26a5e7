"""Git clean filter for notebooks: read a notebook on stdin, write it stripped on stdout.

Installed by `make setup` / `make lab` (see the Makefile's `git-filter` and `.gitattributes`), so that
outputs JupyterLab autosaves into a tracked notebook never reach `git status`, `git diff` or a commit.
It applies the repository's one rule, ``clean_notebooks.strip``: cells marked ``# NBVAL_CHECK_OUTPUT``
keep their outputs and execution counts (nbval compares them), every other cell loses both.

Why not the ``nbstripout`` command itself: its per-cell ``keep_output`` keeps outputs but still drops the
execution count (only the global ``--keep-count`` keeps counts, for every cell), and it renumbers cell ids
unless ``--keep-id``; nbval needs the counts of the checked cells, and the hygiene test forbids them elsewhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clean_notebooks import strip  # noqa: E402


def main() -> None:
    nb = nbformat.read(sys.stdin.buffer, as_version=4)
    strip(nb)
    sys.stdout.reconfigure(encoding="utf-8", newline="\n")
    nbformat.write(nb, sys.stdout)


if __name__ == "__main__":
    main()
