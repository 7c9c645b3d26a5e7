"""Measure the course's speed targets and write benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/run_benchmarks.py            # every notebook
    .venv/bin/python benchmarks/run_benchmarks.py 01_gan     # some of them
    .venv/bin/python benchmarks/run_benchmarks.py --no-memory  # keep part A (many minutes) from RESULTS.md

Three parts, each in fresh kernels (``benchmarks/notebook_runs.py`` runs and measures them):

A. **Peak kernel memory on full-size data** for every topic notebook: fast mode with every one of
   the 60,000/10,000 Fashion-MNIST images (Debian's ``dataset-fashion-mnist``; skipped without
   it), ``TRAIN_SIZE = None`` (and ``TEST_SIZE = None``, ``EPOCHS = 1`` in 04/05).
B. **Fresh kernel -> answering widgets, pretrained mode** (``WEIGHTS = "pretrained"``, full
   mode, Run All, as an instructor runs it): the time to the end of the first explorer cell (its
   first image is rendered then) and to the end of the last cell (only then is the kernel free to
   answer a slider), with the kernel's peak memory.
C. In fast mode, the whole notebook, then a probe cell (below):

1. the fast-mode wall time of the whole notebook (``COURSE_FAST=1``, as CI runs it);
2. after the notebook has run, a probe cell appended to it times
   - the steady-state training step(s) of the notebook's models (median of many calls, after
     a warm-up call that traces the ``tf.function``), on the notebook's own batch size;
   - for 01_gan, the lecture's ``predict`` + ``train_on_batch`` iteration against the
     compiled step, on the same models and batch, in the same run (ratio);
   - the kernel-side latency of one widget update (median over many slider moves) for every
     latent explorer widget the notebook built.

The probe knows each notebook's variable names (``STEP_PROBES`` below): renaming a step in a
notebook makes the benchmark fail loudly rather than report nothing. These are measurements,
not tests; the test suite has no timing assertions.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.notebook_runs import (  # noqa: E402
    FULL_SIZE_PARAMETERS,
    TOPIC_NOTEBOOKS,
    execute,
    fashion_mnist_installed,
    peak_jumps,
)
from benchmarks.notebook_runs import run_notebook as run_measured  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
REPEATS = 30

# Per notebook: Python expression (evaluated in the notebook's kernel) giving {label: zero-argument callable}.
STEP_PROBES = {
    "01_gan": '{"GAN (MLP), compiled step": lambda: train_step(real_batch),'
    ' "GAN (MLP), lecture predict + 2x train_on_batch": lambda: (lecture_d_step(), lecture_g_step())}',
    "02_cgan": '{"conditional GAN (MLP)": lambda: train_step(x_train[:BATCH_SIZE], y_train_onehot[:BATCH_SIZE])}',
    "03_dcgan": '{f"DCGAN ({label})": (lambda s=s: s(x_train[:BATCH_SIZE])) for label, s in train_steps.items()}',
    "04_vae": '{"VAE (MLP, 2-D latent)": lambda: train_step(x_train[:BATCH_SIZE])}',
    "05_cvae": '{"conditional VAE (MLP, 2-D latent)": lambda: train_step(x_train[:BATCH_SIZE], c_train[:BATCH_SIZE])}',
}

PROBE = r'''
import json as _json, time as _time
import numpy as _np
import ipywidgets as _w
from helpers import widgets as _cw
_probe_started = _time.perf_counter()

def _median_ms(fn, n):
    fn()  # warm-up (tracing)
    out = []
    for _ in range(n):
        t = _time.perf_counter(); fn(); out.append(1000 * (_time.perf_counter() - t))
    return float(_np.median(out))

_steps = STEP_EXPR
_result = {"steps": {k: _median_ms(f, REPEATS) for k, f in _steps.items()}, "widgets": {}}

def _sliders(widget):
    found = []
    if isinstance(widget, (_w.FloatSlider, _w.IntSlider)):
        found.append(widget)
    for child in getattr(widget, "children", ()):
        found.extend(_sliders(child))
    return found

for _name, _obj in list(globals().items()):
    if isinstance(_obj, _cw.ImageExplorer) and not _name.startswith("_"):
        _obj.update_times_ms.clear()
        for _slider in _sliders(_obj):
            _obj.measure_updates(_slider, n=REPEATS)
        if _obj.update_times_ms:
            _result["widgets"][f"{_name} ({type(_obj).__name__})"] = (
                float(_np.median(_obj.update_times_ms)), len(_obj.update_times_ms))
_result["probe_s"] = _time.perf_counter() - _probe_started
print("BENCHMARK_JSON " + _json.dumps(_result))
'''


def run_notebook(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    name = path.stem
    expr = STEP_PROBES.get(name, "{}")
    nb.cells.append(nbformat.v4.new_code_cell(PROBE.replace("STEP_EXPR", expr).replace("REPEATS", str(REPEATS))))
    wall = execute(nb, path, fast=True, timeout=1200)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    line = next(line for line in text.splitlines() if line.startswith("BENCHMARK_JSON "))
    result = json.loads(line.split(" ", 1)[1])
    result["wall_s"] = wall - result["probe_s"]  # the notebook alone, without the probe cell
    return result


def pretrained_run(name: str) -> dict:
    """Part B: the instructor's path — a fresh kernel, ``WEIGHTS = "pretrained"``, full mode, Run All. Keys
    ``first_widget_s`` (kernel start -> end of the first explorer cell) and ``seconds`` (-> the last cell: only
    then is the kernel idle, so only then does every widget answer), and ``peak_bytes``."""
    return run_measured(name, {"WEIGHTS": "pretrained"}, fast=False)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def cpu_description() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()  # no lscpu (macOS)
    return f"{model}, {os.cpu_count()} cores"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        cpu = model
    except (OSError, StopIteration):
        pass  # no /proc/cpuinfo (macOS): keep platform's processor name
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, load average {load:.1f} at start"


def previous_memory_section() -> list[str]:
    """Part A of the current RESULTS.md, kept when ``--no-memory`` skips re-measuring it (it takes many minutes)."""
    if not RESULTS.is_file():
        return []
    text = RESULTS.read_text()
    if "## A." not in text or "## B." not in text:
        return []
    header = text.splitlines()[2] if len(text.splitlines()) > 2 else ""
    section = text[text.index("## A."):text.index("## B.")].rstrip().splitlines()
    kept_from = header.replace("Measured", "measured", 1) if header.startswith("Measured") else "an earlier run"
    return [section[0], "", f"(Kept from the earlier run, {kept_from} `--no-memory` skipped re-measuring it.)",
            *section[1:], ""]


def kept_suite_section() -> str:
    """Part D (the test suite's time, written by ``benchmarks/test_suite_time.py``), kept as it is."""
    text = RESULTS.read_text() if RESULTS.is_file() else ""
    return "\n" + text[text.index("## D. Test suite"):] if "## D. Test suite" in text else ""


def main(argv: list[str]) -> None:
    skip_memory = "--no-memory" in argv
    argv = [a for a in argv if a != "--no-memory"]
    kept_memory = previous_memory_section() if skip_memory else []
    names = argv or sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    started, load_before, began = machine(), uptime(), dt.datetime.now()
    topics = [n for n in names if n in TOPIC_NOTEBOOKS]
    memory, memory_notes = {}, []
    if fashion_mnist_installed() and not skip_memory:
        for name in topics:
            print(f"A. peak memory, {name} on full-size arrays ...", flush=True)
            run = run_measured(name, FULL_SIZE_PARAMETERS[name])
            memory[name] = (run["peak_bytes"], run["seconds"])
            memory_notes += [f"- {name}: " + line for line in peak_jumps(run["trace"], 100 * 2**20)]
            print(f"  {run['peak_bytes'] / 2**30:.2f} GiB, {run['seconds']:.0f} s", flush=True)
    first_widget = {}
    for name in topics:
        print(f"B. fresh kernel -> first widget, {name}, pretrained ...", flush=True)
        first_widget[name] = pretrained_run(name)
        run = first_widget[name]
        print(f"  first widget {run['first_widget_s']:.1f} s, Run All {run['seconds']:.1f} s", flush=True)
    results = {}
    for name in names:
        print(f"running {name} ...", flush=True)
        results[name] = run_notebook(ROOT / "notebooks" / f"{name}.ipynb")
        print(f"  {results[name]['wall_s']:.1f} s", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    lines = [
        "# Benchmark results",
        "",
        f"Measured {began.strftime('%Y-%m-%d %H:%M')} to {dt.datetime.now().strftime('%H:%M')} on {cpu_description()} "
        f"({started}); commit {commit.strip()}.",
        "",
        f"- load before: `{load_before}`",
        f"- load after:  `{uptime()}`",
        "",
        "Timings depend on the load: on a shared machine, compare only numbers taken at a similar load.",
        "Regenerate with `.venv/bin/python benchmarks/run_benchmarks.py`. Medians of "
        f"{REPEATS} calls after a warm-up call; wall times include kernel start and TensorFlow import.",
        "",
        *(kept_memory or [
            "## A. Peak kernel memory on full-size arrays (60,000 / 10,000 Fashion-MNIST images)",
            "",
            "Fast mode with `TRAIN_SIZE = None` (04/05 also `TEST_SIZE = None`, `EPOCHS = 1`); the kernel's VmHWM "
            "after the last cell. mybinder.org's limit is 2 GiB.",
            "",
            "| notebook | peak GiB | seconds |",
            "|---|---:|---:|",
            *(f"| {name} | {peak / 2**30:.2f} | {sec:.0f} |" for name, (peak, sec) in memory.items()),
            *([] if memory else ["| (no Fashion-MNIST: `apt-get install dataset-fashion-mnist`) | | |"]),
            "",
            "Cells that raised the peak by 100 MiB or more (cell numbers count the injected parameters cell: "
            "original index + 1 after the parameters cell):",
            "",
            *memory_notes,
            "",
        ]),
        "## B. Fresh kernel -> answering widgets, `WEIGHTS = \"pretrained\"` (full mode, Run All)",
        "",
        "From kernel start to the end of the notebook's first explorer cell (its first image is rendered then), and",
        "to the end of the last cell: a kernel runs one cell at a time, so after Run All a widget answers only from",
        "then on. Peak: the kernel's resident memory on the embedded sample.",
        "",
        "| notebook | first widget (s) | whole Run All (s) | peak GiB |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {_seconds(r['first_widget_s'])} | {r['seconds']:.1f} | {r['peak_bytes'] / 2**30:.2f} |"
          for name, r in first_widget.items()),
        "",
        "## C. Fast mode",
        "",
        "## Training step (steady state, the notebook's batch size)",
        "",
        "| notebook | step | ms per step |",
        "|---|---|---:|",
    ]
    for name, res in results.items():
        for label, ms in res["steps"].items():
            lines.append(f"| {name} | {label} | {ms:.1f} |")
    if "01_gan" in results:
        steps = results["01_gan"]["steps"]
        lecture = next(v for k, v in steps.items() if "lecture" in k)
        compiled = next(v for k, v in steps.items() if "compiled" in k)
        lines += ["", f"Lecture loop vs compiled step on the same GAN, batch and run: {lecture:.1f} ms vs "
                  f"{compiled:.1f} ms, **{lecture / compiled:.1f}x** faster compiled."]
    lines += ["", "## Widget update, kernel side (slider value set -> image bytes updated)", "",
              "The latency sweeps that notebooks 01-05 used to run after their explorers (`measure_updates` over "
              "every slider of every explorer).", "",
              "| notebook | widget | median ms | updates |", "|---|---|---:|---:|"]
    for name, res in results.items():
        for label, (ms, n) in res["widgets"].items():
            lines.append(f"| {name} | {label} | {ms:.2f} | {n} |")
    lines += ["", "## Notebook wall time, fast mode (`COURSE_FAST=1`)", "", "| notebook | seconds |", "|---|---:|"]
    for name, res in results.items():
        lines.append(f"| {name} | {res['wall_s']:.1f} |")
    RESULTS.write_text("\n".join(lines) + "\n" + kept_suite_section())
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main(sys.argv[1:])
