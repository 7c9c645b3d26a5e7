"""Part L of ``benchmarks/RESULTS.md``: GAN recipes on the ring of 8 Gaussians, modes counted, at equal CPU time.

Each recipe trains the same small MLPs (``helpers/toy_ring.py``) on fresh samples of the ring for the same number of
training seconds, and is measured (2,000 generated points: modes covered, high-quality share) at each quarter of
that budget. Recipes: the course's non-saturating GAN step (``helpers.gan.make_gan_train_step``, Adam 1e-4,
beta_1 0.5), the same with spectral normalisation in D, and WGAN-GP (``helpers.wgan``, the paper's settings:
lambda 10, n_critic 5, Adam 1e-4, betas 0 / 0.9). One JSON line per measurement goes to
``benchmarks/ring_runs.jsonl``; part L is the table of every recorded run.

    .venv/bin/python benchmarks/ring_modes.py --seconds 60 --seeds 0 1 2   # about 10 minutes on 2 CPU cores
    .venv/bin/python benchmarks/ring_modes.py --write-results              # part L from the records only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results_file import replace_section  # noqa: E402
from helpers import gan, toy_ring, wgan  # noqa: E402
from helpers.environment import quiet_tensorflow  # noqa: E402

quiet_tensorflow()
import keras  # noqa: E402

RUNS = ROOT / "benchmarks" / "ring_runs.jsonl"
HEADING = "## L. Stabilisation recipes on the ring of 8 Gaussians (modes counted)"
LATENT_DIM, BATCH = 16, 512
RECIPES = ("gan", "gan-spectral", "wgan-gp")


def build(recipe: str, seed: int):
    keras.utils.set_random_seed(seed)
    generator = toy_ring.build_generator(LATENT_DIM)
    if recipe == "wgan-gp":
        critic = toy_ring.build_discriminator(probability=False)
        return generator, wgan.make_wgan_gp_train_step(generator, critic, wgan.wgan_optimizer(), wgan.wgan_optimizer(),
                                                       LATENT_DIM, seed=seed)
    discriminator = toy_ring.build_discriminator(spectral=recipe == "gan-spectral")
    adam = lambda: keras.optimizers.Adam(1e-4, beta_1=0.5)  # noqa: E731
    return generator, gan.make_gan_train_step(generator, discriminator, adam(), adam(), LATENT_DIM, seed=seed)


def run(recipe: str, seed: int, seconds: float) -> list[dict]:
    generator, step = build(recipe, seed)
    rng = np.random.default_rng(seed)
    step(toy_ring.sample_ring(BATCH, rng))  # trace outside the clock
    records, trained, calls, checkpoints = [], 0.0, 1, [seconds * q / 4 for q in (1, 2, 3, 4)]
    while checkpoints:
        batch = toy_ring.sample_ring(BATCH, rng)
        began = time.perf_counter()
        step(batch)
        trained += time.perf_counter() - began
        calls += 1
        if trained >= checkpoints[0]:
            checkpoints.pop(0)
            noise = np.random.default_rng(seed + 1).normal(size=(2_000, LATENT_DIM)).astype("float32")
            report = toy_ring.mode_report(np.asarray(generator(noise, training=False)))
            record = {"recipe": recipe, "seed": seed, "budget_seconds": seconds, "train_seconds": round(trained, 1),
                      "step_calls": calls, "modes_covered": report.modes_covered,
                      "high_quality": round(report.high_quality, 3), "counts": list(report.counts),
                      "machine": f"{platform.machine()} {os.cpu_count()}-core",
                      "time": datetime.now(UTC).isoformat(timespec="seconds")}
            print(json.dumps(record), flush=True)
            records.append(record)
            with RUNS.open("a") as f:
                f.write(json.dumps(record) + "\n")
    return records


def results_lines() -> list[str]:
    rows = [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()] if RUNS.is_file() else []
    lines = [HEADING, "",
             "Written by `benchmarks/ring_modes.py` from `benchmarks/ring_runs.jsonl`. Data: 8 Gaussians (std 0.02) on "
             "a circle of radius 2, fresh batches of 512; generator and discriminator/critic: MLPs with two hidden "
             "layers of 128; 2,000 generated points per measurement. A point is high quality within 3 std of its "
             "nearest mode; a mode is covered with at least a quarter of its fair share of high-quality points. "
             "'step calls' counts discriminator/critic updates (WGAN-GP updates G on every 5th).", "",
             "| recipe | seed | train s | step calls | modes covered | high quality |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['recipe']} | {r['seed']} | {r['train_seconds']} | {r['step_calls']:,} | "
                     f"{r['modes_covered']} / 8 | {100 * r['high_quality']:.0f} % |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="training seconds per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--recipes", nargs="+", choices=RECIPES, default=list(RECIPES))
    parser.add_argument("--write-results", action="store_true", help="only rewrite part L from the records")
    args = parser.parse_args()
    if not args.write_results:
        for seed in args.seeds:
            for recipe in args.recipes:
                run(recipe, seed, args.seconds)
    replace_section(HEADING, results_lines())


if __name__ == "__main__":
    main()
