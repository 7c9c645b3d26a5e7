"""Run a notebook in a fresh kernel and measure it: peak kernel memory, time to the first widget.

Shared by ``benchmarks/run_benchmarks.py`` (numbers for RESULTS.md) and
``tests/test_notebook_memory.py`` (the 2 GiB bound on full-size data). Parameters are injected as a
cell right after the notebook's ``parameters`` cell, as ``scripts/train_pretrained.py`` does.

- Peak memory: a last cell reads the kernel's own high-water mark of resident memory (``VmHWM``
  in ``/proc/self/status``; ``ru_maxrss`` where there is no /proc). It covers every cell, TensorFlow
  included, since the kernel process started.
- Time to the first widget: from just before the kernel is started to the end of the first cell
  that builds an explorer (``widgets.<Name>Explorer(``). Every explorer renders its first image in
  its constructor, so the end of that cell is the moment the widget first answers. Whatever order
  the notebook's cells have, the first such cell counts.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from helpers import data  # noqa: E402
from scripts.train_pretrained import inject_parameters  # noqa: E402

TOPIC_NOTEBOOKS = ["01_gan", "02_cgan", "03_dcgan", "03_stabilising_gans", "04_vae", "05_cvae"]
BINDER_LIMIT_BYTES = 2 * 1024**3  # mybinder.org's memory cap

# Fast mode, but every one of the 60,000/10,000 Fashion-MNIST images: whatever grows with the data
# size grows here; the training budget stays small (one epoch where a notebook counts in epochs).
FULL_SIZE_PARAMETERS = {
    "01_gan": {"DATASET": "fashion_mnist", "TRAIN_SIZE": None},
    "02_cgan": {"DATASET": "fashion_mnist", "TRAIN_SIZE": None},
    "03_dcgan": {"DATASET": "fashion_mnist", "TRAIN_SIZE": None},
    "03_stabilising_gans": {"DATASET": "fashion_mnist", "TRAIN_SIZE": None},
    "04_vae": {"DATASET": "fashion_mnist", "TRAIN_SIZE": None, "TEST_SIZE": None, "EPOCHS": 1},
    "05_cvae": {"DATASET": "fashion_mnist", "TRAIN_SIZE": None, "TEST_SIZE": None, "EPOCHS": 1},
}

# Full mode (BUDGET "full": every evaluation at its full size, EVALUATE on) on the 60,000/10,000 images, with a
# short training budget: memory grows with the data and the evaluation sizes, not with the number of steps. Run with
# run_notebook(name, FULL_MODE_PARAMETERS[name], fast=False).
FULL_MODE_PARAMETERS = {
    "01_gan": {"DATASET": "fashion_mnist", "EVALUATE": True, "TRAIN_STEPS": 20, "TIMING_STEPS": 3},
    "02_cgan": {"DATASET": "fashion_mnist", "EVALUATE": True, "TRAIN_STEPS": 20, "BLIND_STEPS": 20},
    "03_dcgan": {"DATASET": "fashion_mnist", "EVALUATE": True, "TRAIN_STEPS": 10},
    "03_stabilising_gans": {"DATASET": "fashion_mnist", "EVALUATE": True, "TRAIN_STEPS": 10},  # each recipe >= 1 step
    "04_vae": {"DATASET": "fashion_mnist", "EVALUATE": True, "EPOCHS": 1, "ELBO_SAMPLES": 2, "IW_SAMPLES": 20},
    "05_cvae": {"DATASET": "fashion_mnist", "EVALUATE": True, "TRAIN_STEPS": 600,  # one epoch of 600 batches
                "ELBO_SAMPLES": 2, "IW_SAMPLES": 20},
}
# ELBO_SAMPLES and IW_SAMPLES (full mode: 10 and 200) repeat the same work: the ELBO draws its samples one batch of
# 500 images at a time, the importance-sampled estimate decodes vae.IW_DECODE_ROWS = 2,000 images per call whatever
# k is (k = 20 on batches of 100 is one such call), so fewer samples give the same peak in a fraction of the time.

PEAK_CELL = """\
import resource as _resource, sys as _sys
try:
    _status = open("/proc/self/status").read()
    _peak_kib = int(next(l for l in _status.splitlines() if l.startswith("VmHWM:")).split()[1])
except OSError:  # no /proc (macOS): ru_maxrss, in bytes there
    _peak_kib = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss // (1024 if _sys.platform == "darwin" else 1)
print(f"PEAK_KIB {_peak_kib}")
"""

EXPLORER_CELL = re.compile(r"widgets\.\w+Explorer\(")


def fashion_mnist_installed() -> bool:
    """The full-size stand-in (60,000/10,000 Fashion-MNIST images) is on this machine."""
    return data.available_offline("fashion_mnist")


def run_notebook(name: str, parameters: dict, *, fast: bool = True, timeout: int = 900) -> dict:
    """Execute ``notebooks/<name>.ipynb`` with ``parameters`` injected; return what was measured.

    Keys: ``peak_bytes`` (kernel's peak resident memory), ``seconds`` (kernel start to last cell),
    ``first_widget_s`` (kernel start to the end of the first explorer cell; None without one),
    ``notebook`` (the executed notebook, outputs included).
    """
    path = ROOT / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    if parameters:
        inject_parameters(nb, parameters)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    explorer_cells = {i for i, c in enumerate(nb.cells) if c.cell_type == "code" and EXPLORER_CELL.search(c.source)}
    first_widget: list[float] = []
    trace: list[tuple[int, int, str]] = []  # (cell index, kernel's VmHWM in bytes after it, first line)

    def on_cell_executed(client, cell, cell_index, elapsed):
        if cell_index in explorer_cells and not first_widget:
            first_widget.append(elapsed)
        peak = _kernel_peak_bytes(client)
        if peak is not None and cell.cell_type == "code":
            trace.append((cell_index, peak, cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""))

    seconds = execute(nb, path, fast=fast, timeout=timeout, on_cell_executed=on_cell_executed)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    match = re.search(r"PEAK_KIB (\d+)", text)
    if not match:
        raise RuntimeError(f"{name}: the peak-memory cell printed no PEAK_KIB line: {text!r}")
    return {"peak_bytes": 1024 * int(match.group(1)), "seconds": seconds,
            "first_widget_s": first_widget[0] if first_widget else None, "notebook": nb, "trace": trace}


def execute(nb, path: Path, *, fast: bool, timeout: int = 900, on_cell_executed=None) -> float:
    """Run ``nb`` (read from ``path``) in a fresh kernel as a student would: fast or full mode, a temporary
    runs folder, TensorFlow's start-up logs off; return the seconds from kernel start to the last cell.
    ``on_cell_executed(client, cell, cell_index, seconds_so_far)`` is called after every cell."""
    saved = dict(os.environ)
    os.environ.update(COURSE_RUNS_DIR=tempfile.mkdtemp(prefix="nbrun-"), TF_CPP_MIN_LOG_LEVEL="3")
    if fast:
        os.environ["COURSE_FAST"] = "1"
    else:
        os.environ.pop("COURSE_FAST", None)
    hook = None
    if on_cell_executed is not None:
        def hook(cell, cell_index, **_):
            on_cell_executed(client, cell, cell_index, time.perf_counter() - began)
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", on_cell_executed=hook,
                                resources={"metadata": {"path": str(path.parent)}})
        began = time.perf_counter()
        client.execute()
        return time.perf_counter() - began
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _kernel_peak_bytes(client) -> int | None:
    """The kernel process's VmHWM read from outside (Linux), to see which cell raised the peak."""
    pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, TypeError):
        return None  # no /proc or no local process: the last cell's own reading still counts
    return 1024 * int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def peak_jumps(trace, min_bytes: int = 50 * 2**20) -> list[str]:
    """The cells that raised the kernel's peak memory by at least ``min_bytes``, as text lines."""
    lines, previous = [], 0
    for index, peak, first_line in trace:
        if peak - previous >= min_bytes:
            rise = (peak - previous) / 2**20
            lines.append(f"cell {index}: peak {peak / 2**20:,.0f} MiB (+{rise:,.0f})  {first_line}")
        previous = max(previous, peak)
    return lines


def output_text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


if __name__ == "__main__":  # quick look: python benchmarks/notebook_runs.py [--full-mode] 04_vae 05_cvae
    full_mode = "--full-mode" in sys.argv
    for notebook in [a for a in sys.argv[1:] if not a.startswith("--")] or TOPIC_NOTEBOOKS:
        parameters = (FULL_MODE_PARAMETERS if full_mode else FULL_SIZE_PARAMETERS)[notebook]
        result = run_notebook(notebook, parameters, fast=not full_mode, timeout=1800)
        print(f"{notebook} ({'full' if full_mode else 'fast'} mode, 60,000/10,000 images): peak "
              f"{result['peak_bytes'] / 2**30:.2f} GiB, {result['seconds']:.0f} s, "
              f"first widget {result['first_widget_s']}", flush=True)
        print("\n".join("   " + line for line in peak_jumps(result["trace"])), flush=True)
