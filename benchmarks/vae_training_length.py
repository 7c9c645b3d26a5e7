"""How a notebook-04 VAE's likelihood and its samples' quality move as training goes on.

    python benchmarks/vae_training_length.py --latent-dim 2 --epochs 1500 --every 50

Builds the VAE and its training step from notebook 04's own cells, trains it on the embedded sample with
the notebook's held-out split (a tenth of the 4,000 training digits, drawn with the notebook's seed) and
records, every ``--every`` epochs: the negative ELBO on those held-out digits (what early stopping watches),
on the 1,000 test digits, and the Fréchet distance of 1,000 decoded prior samples to the test digits (n =
500, the floor beside it). One JSON line per measurement goes to ``benchmarks/vae_runs.jsonl``.
This is the evidence for notebook 04's point that sample quality and likelihood part ways.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import environment  # noqa: E402

environment.quiet_tensorflow()
import keras  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from helpers import data, evaluation, training, vae  # noqa: E402

RUNS_FILE = ROOT / "benchmarks" / "vae_runs.jsonl"


def notebook_namespace(latent_dim: int, seed: int) -> dict:
    nb = nbformat.read(ROOT / "notebooks" / "04_vae.ipynb", as_version=4)
    ns = {"keras": keras, "layers": layers, "tf": tf, "np": np, "vae": vae, "LATENT_DIM": latent_dim,
          "INTERMEDIATE_DIM": 64, "SEED": seed}
    for cell in nb.cells:
        if cell.cell_type == "code" and ("def build_encoder" in cell.source or "def make_train_step" in cell.source):
            exec(compile(cell.source.split("\noptimizer = ")[0], "04_vae.ipynb", "exec"), ns)  # noqa: S102
    return ns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1500)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--held-out-share", type=float, default=0.1)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    ns = notebook_namespace(args.latent_dim, args.seed)
    (x_train_raw, y_train), (x_test_raw, _) = data.load_mnist("mnist")
    n_held = int(len(x_train_raw) * args.held_out_share)
    (x_kept, _), (x_held, _) = data.hold_out(x_train_raw, y_train, n_held, seed=args.seed)  # notebook 04's split
    x_held = data.flatten(data.scale_to_unit(x_held))
    x_train = data.flatten(data.scale_to_unit(x_kept))
    x_test = data.flatten(data.scale_to_unit(x_test_raw))
    encoder, decoder, _ = ns["build_vae"](args.latent_dim)
    optimizer = keras.optimizers.Adam(1e-3)
    step = ns["make_train_step"](encoder, decoder, optimizer)
    judge = evaluation.load_judge("mnist", verbose=False)
    prior = np.random.default_rng(args.seed + 1).normal(size=(1000, args.latent_dim)).astype("float32")
    seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        began = time.perf_counter()
        for batch in training.make_batches((x_train,), 100, args.seed + epoch):
            step(*batch)
        seconds += time.perf_counter() - began
        if epoch % args.every == 0:
            images = np.asarray(decoder(prior, training=False)).reshape(-1, 28, 28)
            report = evaluation.frechet_report(judge, images, x_test_raw, n=500, seed=args.seed, repeats=5)
            record = {
                "latent_dim": args.latent_dim, "epoch": epoch, "train_seconds": round(seconds, 1),
                "held_out_elbo": round(vae.negative_elbo(encoder, decoder, x_held, seed=args.seed)["negative_elbo"], 2),
                "test_elbo": round(vae.negative_elbo(encoder, decoder, x_test, n_samples=10,
                                                     seed=args.seed)["negative_elbo"], 2),
                "frechet": round(report.distance, 1), "floor": round(report.floor, 1),
                "classes_present": int(evaluation.class_coverage(judge.predict_labels(images)).classes_present),
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            print(json.dumps(record), flush=True)
            with RUNS_FILE.open("a") as f:
                f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
