"""Keep notebooks committed without outputs, except the cells nbval checks.

    python scripts/clean_notebooks.py notebooks/*.ipynb            # strip only
    python scripts/clean_notebooks.py --execute notebooks/*.ipynb  # run (fast mode), then strip

Executed notebooks train into a temporary runs folder (``$COURSE_RUNS_DIR`` is set to a fresh
temporary folder for their kernels and removed afterwards), so cleaning never resumes, adds to or
moves a student's run in ``<repo>/runs``.

A cell whose source contains ``# NBVAL_CHECK_OUTPUT`` keeps its outputs and execution count
(nbval compares them); every other cell loses both, and saved widget state is dropped. Whole numbers in
metadata are written as integers (``3``, not ``3.0``): JupyterLab rewrites ``3.0`` as ``3`` when it saves, so a
notebook that was only run and saved would otherwise differ from the committed one.
``tests/test_notebook_hygiene.py`` fails when a committed notebook breaks this rule.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def is_checked(cell) -> bool:
    return cell.cell_type == "code" and CHECK_MARK in cell.source


def whole_numbers_as_ints(value):
    """``value`` with every float that is a whole number turned into an int, in nested dicts and lists: the form
    JavaScript's JSON.stringify (JupyterLab's save) writes."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        for key in value:
            value[key] = whole_numbers_as_ints(value[key])
    elif isinstance(value, list):
        value[:] = [whole_numbers_as_ints(item) for item in value]
    return value


def strip(nb) -> None:
    nb.metadata.pop("widgets", None)
    whole_numbers_as_ints(nb.metadata)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        whole_numbers_as_ints(cell.metadata)
        if cell.cell_type != "code":
            continue
        if is_checked(cell):
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
        else:
            cell.outputs = []
            cell.execution_count = None


def execute(nb, path: Path) -> None:
    from nbclient import NotebookClient

    os.environ.setdefault("COURSE_FAST", "1")
    previous = os.environ.get("COURSE_RUNS_DIR")
    with tempfile.TemporaryDirectory(prefix="clean-notebooks-runs-") as runs:
        os.environ["COURSE_RUNS_DIR"] = runs  # the kernel inherits it: never <repo>/runs
        try:
            client = NotebookClient(nb, timeout=1200, kernel_name="python3",
                                    resources={"metadata": {"path": str(path.parent)}})
            client.execute()
        finally:
            if previous is None:
                os.environ.pop("COURSE_RUNS_DIR", None)
            else:
                os.environ["COURSE_RUNS_DIR"] = previous


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--execute", action="store_true", help="run each notebook in fast mode first")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if args.execute:
            execute(nb, path)
        strip(nb)
        nbformat.write(nb, path)
        print(f"cleaned {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
