"""Part M of ``benchmarks/RESULTS.md``: what one step call of each recipe of ``03_stabilising_gans`` costs.

The notebook gives every recipe the same CPU time by training it for ``TRAIN_STEPS / STEP_COST[recipe]`` step
calls. This script measures those relative costs the way the notebook trains: it runs the notebook itself (train
mode, 300 step calls per recipe on 4,000 digits, every ``STEP_COST`` set to 1) and reads
each recipe's steady time per step call (``History.seconds_per_step``: tracing excluded). One JSON line per run
goes to ``benchmarks/stabilise_step_costs.jsonl``; part M is the table of every recorded run, and its last run's
ratios are what the notebook's ``STEP_COST`` should hold (``tests/test_stabilise.py`` checks that they do).

    .venv/bin/python benchmarks/stabilise_step_costs.py                  # about 4 minutes on 2 CPU cores
    .venv/bin/python benchmarks/stabilise_step_costs.py --write-results  # part M from the records only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results_file import replace_section  # noqa: E402
from scripts.train_pretrained import inject_parameters  # noqa: E402

NOTEBOOK = ROOT / "notebooks" / "03_stabilising_gans.ipynb"
RUNS = ROOT / "benchmarks" / "stabilise_step_costs.jsonl"
HEADING = "## M. Stabilisation recipes: CPU time per step call (notebook 03_stabilising_gans)"
MARK = "STEP_COSTS_JSON "


def measure() -> dict:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    inject_parameters(nb, {"WEIGHTS": "train", "TRAIN_STEPS": 300, "TRAIN_SIZE": 4_000, "EMA_DECAY": 0.99})
    train = next(i for i, c in enumerate(nb.cells) if c.get("id") == "train")
    source = nb.cells[train].source
    assert source.count("\nsteps = {") == 1, "the train cell no longer sets `steps` from STEP_COST: update this script"
    every_one = "\nSTEP_COST = {r: 1.0 for r in RECIPES}  # measuring"
    nb.cells[train].source = source.replace("\nsteps = {", every_one + "\nsteps = {")
    report = nbformat.v4.new_code_cell(
        "import json\nprint(" + repr(MARK) + " + json.dumps({r: {'ms': 1000 * h.seconds_per_step, "
        "'steps': h.steps_done} for r, h in histories.items()}))")
    nb.cells = nb.cells[: next(i for i, c in enumerate(nb.cells) if c.get("id") == "timings") + 1] + [report]
    os.environ.pop("COURSE_FAST", None)
    os.environ["COURSE_RUNS_DIR"] = tempfile.mkdtemp(prefix="step-costs-")
    NotebookClient(nb, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    measured = json.loads(text.split(MARK, 1)[1])
    base = measured["non-saturating"]["ms"]
    return {"recipes": {r: {"ms_per_call": round(m["ms"], 2), "relative": round(m["ms"] / base, 3),
                            "step_calls": m["steps"]} for r, m in measured.items()},
            "machine": f"{platform.machine()} {os.cpu_count()}-core",
            "time": datetime.now(UTC).isoformat(timespec="seconds")}


def records() -> list[dict]:
    return [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()] if RUNS.is_file() else []


def results_lines() -> list[str]:
    lines = [HEADING, "",
             "Written by `benchmarks/stabilise_step_costs.py` from `benchmarks/stabilise_step_costs.jsonl`: the "
             "notebook run in train mode (300 step calls per recipe, batch 64, 4,000 "
             "digits), steady milliseconds per step call (tracing excluded) and the ratio to the non-saturating "
             "step. WGAN-GP's step call is one critic update (and a generator update on every 5th call). The "
             "notebook's `STEP_COST` holds the last run's ratios. Absolute times vary with the day's machine: the "
             "plain step took 80.5 ms here on 2026-12-06 (a standalone 100-step loop: 82.0 ms) and 38.3 ms when "
             "03_dcgan's weights were trained on 2026-12-02 (their registry entry); the ratios are what matters.", "",
             "| run (UTC) | machine | recipe | ms per step call | relative |", "|---|---|---|---:|---:|"]
    for run in records():
        for recipe, m in run["recipes"].items():
            lines.append(f"| {run['time']} | {run['machine']} | {recipe} | {m['ms_per_call']:.1f} | "
                         f"{m['relative']:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-results", action="store_true", help="only rewrite part M from the records")
    args = parser.parse_args()
    if not args.write_results:
        run = measure()
        print(json.dumps(run, indent=1))
        with RUNS.open("a") as f:
            f.write(json.dumps(run) + "\n")
    replace_section(HEADING, results_lines())


if __name__ == "__main__":
    main()
