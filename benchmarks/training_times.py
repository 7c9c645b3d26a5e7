"""Part J of ``benchmarks/RESULTS.md``: how long each topic notebook's course run trains, from the records the
shipped weights carry (``train_seconds`` in ``data/weights/registry.json``, written by the run that trained them).

The topic notebooks' title cells quote these minutes ("≈ N min on a laptop CPU"); ``tests/test_user_paths.py``
checks that they match. Retraining shipped weights changes the records: rerun this script.

    .venv/bin/python benchmarks/training_times.py          # rewrite part J
    .venv/bin/python benchmarks/training_times.py --check  # exit 1 if part J is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results_file import RESULTS, replace_section  # noqa: E402

HEADING = "## J. Training time of each course run"
# The shipped models each topic notebook trains in one full-budget Run All (MNIST).
NOTEBOOK_MODELS = {
    "01_gan": ["gan_generator"],
    "02_cgan": ["cgan_generator"],
    "03_dcgan": ["dcgan_transpose_generator", "dcgan_upsample_generator"],
    "03_stabilising_gans": ["dcgan_upsample_generator", "stabilised_spectral_generator",
                            "stabilised_diffaugment_generator", "stabilised_wgan_gp_generator"],
    "04_vae": ["vae_2d", "vae_16d"],
    "05_cvae": ["cvae_2d"],
}


def _registry() -> dict:
    return json.loads((ROOT / "data" / "weights" / "registry.json").read_text())


# 03_stabilising_gans trains four recipes for the same CPU time each: its step counts come from measured step costs
# (benchmarks/stabilise_step_costs.py) so that each costs what its plain recipe -- 03_dcgan's upsample generator,
# the same recipe, seed and budget -- costs. Its course run is therefore four times that record. (Its other three
# generators were trained three at a time on the 2 cores, so their own seconds say nothing about a laptop.)
EQUAL_TIME = {"03_stabilising_gans": ("dcgan_upsample_generator", 4)}


def training_seconds(notebook: str, registry: dict | None = None) -> float:
    registry = registry or _registry()
    if notebook in EQUAL_TIME:
        name, runs = EQUAL_TIME[notebook]
        return runs * registry[name]["train_seconds"]
    return sum(registry[name]["train_seconds"] for name in NOTEBOOK_MODELS[notebook])


def minutes(notebook: str, registry: dict | None = None) -> int:
    """Whole minutes, at least 1: what a title cell quotes."""
    return max(1, round(training_seconds(notebook, registry) / 60))


def section_lines() -> list[str]:
    registry = _registry()
    lines = [
        HEADING, "",
        "The training seconds recorded when the shipped weights were trained (`scripts/train_pretrained.py`,",
        "full budget, the 4,000-digit MNIST sample; `train_seconds` in `data/weights/registry.json`), on the",
        "2-core AMD EPYC machine of the other parts. The topic notebooks quote the minutes as the time on a laptop",
        "CPU or on Colab's CPU runtime (2 vCPUs): a proxy, not measured on either; GPU runtimes were not measured.",
        "Written by `benchmarks/training_times.py`.", "",
        "| notebook | shipped models | training seconds | quoted |", "|---|---|---:|---:|",
    ]
    for notebook, models in NOTEBOOK_MODELS.items():
        seconds = training_seconds(notebook, registry)
        lines.append(f"| {notebook} | {', '.join(models)} | {seconds:.0f} | ≈ {minutes(notebook, registry)} min |")
    lines += ["", "03_stabilising_gans: four times the upsample generator's record (equal CPU time per recipe by "
              "construction, see `EQUAL_TIME` in this script); the step costs it relies on are part M.",
              "", "02's label-blind comparison (section 8, 1,500 more steps at the recorded 29.9 ms per step, about "
              "45 s) is not in its row."]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    wanted = "\n".join(section_lines())
    if args.check:
        current = RESULTS.read_text()
        if wanted not in current:
            print(f"{RESULTS.name}: part J is out of date: run benchmarks/training_times.py")
            return 1
        print("part J is current")
        return 0
    replace_section(HEADING, section_lines())
    print(f"wrote part J of {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
