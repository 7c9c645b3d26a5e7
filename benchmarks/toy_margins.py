"""Part K of ``benchmarks/RESULTS.md``: the toy checks' sampled and trained quantities over seeds 0-4.

``tests/test_toys.py`` and the claims of the companions 01 · more and 04 · more (section 4 of each) quote
tolerances; this script measures what those tolerances must cover, on the same settings (1,000 discriminator
steps; 2,000 PPCA points, k up to 1,000).

    .venv/bin/python benchmarks/toy_margins.py   # about a minute on 2 CPU cores; rewrites part K
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results_file import replace_section  # noqa: E402
from helpers import toy_gan, toy_vae  # noqa: E402

HEADING = "## K. Toy checks of the maths: what the sampled quantities do over seeds"
SEEDS = range(5)
DATA = toy_gan.Gaussian(0.0, 1.0)
GENERATORS = {"N(3, 1)": toy_gan.Gaussian(3.0, 1.0), "N(1, 1.5²)": toy_gan.Gaussian(1.0, 1.5),
              "N(0.3, 1)": toy_gan.Gaussian(0.3, 1.0)}  # the companion's three


def gan_rows() -> list[str]:
    rows = ["| generator | seed | \\|V(trained D) − (−log 4 + 2 JSD)\\| (nats) | mean \\|D − D*\\| | seconds |",
            "|---|---:|---:|---:|---:|"]
    worst_value = worst_error = 0.0
    for name, generator in GENERATORS.items():
        target = -toy_gan.LOG_4 + 2 * toy_gan.jensen_shannon(DATA, generator)
        for seed in SEEDS:
            start = time.perf_counter()
            trained = toy_gan.as_function(toy_gan.train_discriminator(DATA, generator, steps=1_000, seed=seed))
            seconds = time.perf_counter() - start
            value_gap = abs(toy_gan.value(trained, DATA, generator) - target)
            error = toy_gan.weighted_error(trained, DATA, generator)
            worst_value, worst_error = max(worst_value, value_gap), max(worst_error, error)
            rows.append(f"| {name} | {seed} | {value_gap:.5f} | {error:.4f} | {seconds:.1f} |")
    rows.append(f"\nLargest over the {len(rows) - 2} runs: value gap {worst_value:.5f} nats, "
                f"weighted |D − D*| {worst_error:.4f}.")
    return rows


def vae_rows() -> list[str]:
    rows = ["| model seed | exact gap (nats) | IW gap k=1 | k=10 | k=100 | k=1000 | sampled ELBO − exact (in SEs) |",
            "|---:|---:|---:|---:|---:|---:|---:|"]
    for seed in SEEDS:
        model = toy_vae.LinearGaussian.random(data_dim=5, latent_dim=2, noise_variance=0.25, seed=seed)
        rng = np.random.default_rng(seed + 100)
        x = model.sample(2_000, rng)
        encoder = model.best_diagonal_encoder()
        log_p, exact = model.log_likelihood(x), model.elbo(x, encoder)
        gaps = [float(np.mean(log_p - model.importance_weighted(x, encoder, k, rng))) for k in (1, 10, 100, 1000)]
        sampled = model.elbo_monte_carlo(x, encoder, 100, rng)
        in_errors = (sampled - exact).mean() / ((sampled - exact).std(ddof=1) / np.sqrt(len(x)))
        rows.append(f"| {seed} | {float(np.mean(log_p - exact)):.4f} | "
                    + " | ".join(f"{g:.4f}" for g in gaps) + f" | {in_errors:+.2f} |")
    return rows


def main() -> None:
    lines = [HEADING, "",
             "The 1-D GAN of 01 · more, section 4 (data N(0, 1), a frozen Gaussian generator, a 2×32 tanh "
             "discriminator trained 1,000 Adam steps on fresh batches of 4,096 + 4,096 samples):", "",
             *gan_rows(), "",
             "The linear-Gaussian VAE of 04 · more, section 4 (5-D data, 2-D codes, noise variance 0.25, the best "
             "diagonal encoder, 2,000 points; the sampled ELBO uses 100 draws per point):", "",
             *vae_rows(), "",
             "Measured with `benchmarks/toy_margins.py` on the 2-core development machine."]
    replace_section(HEADING, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
