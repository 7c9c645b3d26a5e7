"""Train the shipped pretrained weights by running a topic notebook in full mode.

    python scripts/train_pretrained.py 01_gan [02_cgan ...]

The notebook itself is the single source of its architecture and training step: this script
executes it with ``COURSE_FAST`` unset and the parameters ``WEIGHTS = "train"`` and
``SAVE_AS_PRETRAINED = True`` injected after its ``parameters`` cell (the papermill
convention), so the notebook saves its models with ``helpers.weights.save_pretrained`` and
records the run in ``data/weights/registry.json``. The executed copy, with all outputs, is
written to ``runs/executed/`` for inspection. Checkpoints go to a fresh temporary folder so an
earlier run is never resumed by accident.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def inject_parameters(nb, values: dict) -> None:
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    source = "# injected by scripts/train_pretrained.py\n" + "\n".join(f"{k} = {v!r}" for k, v in values.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, cell)


def run(name: str, extra: dict | None = None) -> float:
    path = ROOT / "notebooks" / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    nb = nbformat.read(path, as_version=4)
    inject_parameters(nb, {"WEIGHTS": "train", "SAVE_AS_PRETRAINED": True, **(extra or {})})
    os.environ.pop("COURSE_FAST", None)
    os.environ["COURSE_RUNS_DIR"] = tempfile.mkdtemp(prefix="pretrain-")
    began = time.perf_counter()
    client = NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    seconds = time.perf_counter() - began
    out = ROOT / "runs" / "executed" / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    print(f"{path.name}: {seconds:.0f} s wall time in full mode; executed copy in {out}")
    return seconds


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for notebook in sys.argv[1:]:
        run(notebook)
