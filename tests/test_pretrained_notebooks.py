"""Every notebook with a WEIGHTS switch also runs end to end on its shipped pretrained weights.

nbval runs the notebooks as committed (WEIGHTS = "train", fast mode); this test covers the
instructor's path: WEIGHTS = "pretrained" injected after the parameters cell, as papermill would.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.train_pretrained import inject_parameters  # noqa: E402


def _notebooks_with_weights_switch():
    found = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        if params and 'WEIGHTS = "train"' in params[0].source:
            found.append(path)
    return found


@pytest.mark.parametrize("path", _notebooks_with_weights_switch(), ids=lambda p: p.name)
def test_notebook_runs_with_pretrained_weights(path, capsys):
    nb = nbformat.read(path, as_version=4)
    inject_parameters(nb, {"WEIGHTS": "pretrained"})
    began = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - began
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Loaded pretrained" in text, "the notebook did not load the shipped weights"
    assert "Trained " not in text, "pretrained mode must not train"
    with capsys.disabled():
        print(f"\n{path.name} in pretrained mode: {seconds:.1f} s")
