"""Every notebook also runs unchanged on Fashion-MNIST (DATASET injected after the parameters cell).

With ``EVALUATE = False``: what depends on the data set (loading, labels and class names, training, the
widgets, the exercises' checks, the Fashion-MNIST judge) runs; the slow evaluations (Fréchet reports, CAS,
quick judges) are the same code as on MNIST, where the nbval pass runs them. 04 and 05 are not run here when
``tests/test_notebook_memory.py`` runs them on all 60,000/10,000 Fashion-MNIST images with every evaluation.

Needs Fashion-MNIST offline: Debian's ``dataset-fashion-mnist`` package (CI installs it), the
four IDX files in ``data/fashion-mnist/``, or a Keras cache. Skipped with a message otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers import data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.notebook_runs import fashion_mnist_installed  # noqa: E402
from scripts.train_pretrained import inject_parameters  # noqa: E402

FASHION = data.available_offline("fashion_mnist")
# the memory test runs 04 and 05 on Fashion-MNIST where Debian's full-size package is installed; elsewhere, here
COVERED_BY_MEMORY_TEST = {"04_vae.ipynb", "05_cvae.ipynb"} if fashion_mnist_installed() else set()


@pytest.mark.skipif(not FASHION, reason="no Fashion-MNIST offline: `sudo apt-get install dataset-fashion-mnist`")
@pytest.mark.parametrize("path", [p for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
                                  if p.name not in COVERED_BY_MEMORY_TEST], ids=lambda p: p.name)
def test_notebook_runs_on_fashion_mnist(path):
    nb = nbformat.read(path, as_version=4)
    inject_parameters(nb, {"DATASET": "fashion_mnist", "EVALUATE": False})
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Fashion-MNIST from" in text, "the notebook did not load Fashion-MNIST"
