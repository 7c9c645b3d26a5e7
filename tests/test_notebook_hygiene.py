"""Committed notebooks: no outputs except nbval-checked cells, a parameters cell, the project kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "00_setup.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata, "saved widget state: run scripts/clean_notebooks.py"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if CHECK_MARK in cell.source:
            assert cell.execution_count is not None and cell.outputs, f"cell {i}: checked cell without reference output"
        else:
            assert not cell.outputs and cell.execution_count is None, (
                f"{path.name} cell {i} has outputs: run `make clean-notebooks`"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_one_parameters_cell_with_dataset(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged `parameters` (papermill convention)"
    assert 'DATASET = "mnist"' in tagged[0].source
