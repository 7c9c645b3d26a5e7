"""Train a shipped GAN's architecture with a recipe variant and record its quality as it trains.

    python benchmarks/generator_quality.py 01_gan --steps 20000 --ema 0.999 --tag ema
    python benchmarks/generator_quality.py 03_dcgan_upsample --steps 12000 --ema 0.999
    python benchmarks/generator_quality.py 02_cgan --steps 10000 --ema 0.999

The architectures are the notebooks' own: the code cell that defines ``build_generator`` (or the DCGAN
builders) is executed from the notebook file, so a change there is what this script measures. The step is
``helpers.gan.make_gan_train_step`` (the step notebooks 01 and 03 run; 02's conditional step is taken from
its notebook cell likewise). Every ``--eval-every`` steps the raw generator and, with ``--ema``, the
exponential moving average of its weights are measured the way notebook 06 does: Fréchet distance to the
embedded sample's held-out digits at n = 500 beside the held-out floor, within-class diversity, the median
distance to the nearest training image, and for the conditional GAN the judge's label accuracy per label.
Each measurement is one JSON line appended to ``benchmarks/generator_runs.jsonl`` (settings, seconds of
training so far, the numbers), so every run tried stays on record; ``--summary`` prints them as a table.
Training seconds exclude the evaluations.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import environment  # noqa: E402

environment.quiet_tensorflow()
import keras  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from helpers import augment as augmentation  # noqa: E402
from helpers import data, evaluation, training  # noqa: E402
from helpers import gan as gan_helpers  # noqa: E402

RUNS_FILE = ROOT / "benchmarks" / "generator_runs.jsonl"
MODELS = {  # name -> (notebook, builder name, batch size, conditional)
    "01_gan": ("01_gan", "build_generator", 128, False),
    "02_cgan": ("02_cgan", "build_generator", 128, True),
    "03_dcgan_transpose": ("03_dcgan", "build_transpose_generator", 64, False),
    "03_dcgan_upsample": ("03_dcgan", "build_upsample_generator", 64, False),
}


def notebook_namespace(notebook: str, latent_dim: int, lr: float, beta_1: float, seed: int) -> dict:
    """Execute the notebook's model-defining cells (and 02's step factory) in a fresh namespace."""
    nb = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    ns = {"keras": keras, "layers": layers, "tf": tf, "np": np, "LATENT_DIM": latent_dim, "N_CLASSES": 10,
          "SEED": seed, "adam": lambda: keras.optimizers.Adam(lr, beta_1=beta_1)}
    wanted = ("def build_generator", "def build_transpose_generator", "def make_train_step")
    for cell in nb.cells:
        if cell.cell_type == "code" and any(w in cell.source for w in wanted):
            source = cell.source.split("\nkeras.utils.set_random_seed")[0]  # definitions only, not the builds after
            exec(compile(source, f"{notebook}.ipynb", "exec"), ns)  # noqa: S102
    return ns


def radford_discriminator():
    """03's discriminator made faithful to Radford et al. (2016): BatchNormalization on every convolution but
    the first (none on D's input), LeakyReLU(0.2), strided convolutions, and no dropout (the paper uses none)."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
            layers.Conv2D(64, 4, strides=2, padding="same", use_bias=False), layers.BatchNormalization(),
            layers.LeakyReLU(0.2),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ],
        name="radford_discriminator",
    )


def spectral_discriminator():
    """03's discriminator with spectral normalisation (Miyato et al., 2018) on every weight layer, and no dropout:
    each layer's largest singular value is held at 1, so D cannot sharpen without bound on 4,000 digits."""
    sn = keras.layers.SpectralNormalization
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            sn(layers.Conv2D(32, 4, strides=2, padding="same")), layers.LeakyReLU(0.2),
            sn(layers.Conv2D(64, 4, strides=2, padding="same")), layers.LeakyReLU(0.2),
            layers.Flatten(),
            sn(layers.Dense(1)), layers.Activation("sigmoid"),
        ],
        name="spectral_discriminator",
    )


def ema_updater(generator, ema_generator, decay: float):
    """The notebooks' averaging step (``helpers.gan.update_weight_average``), compiled."""
    return tf.function(lambda: gan_helpers.update_weight_average(ema_generator, generator, decay))


def measure(generator, judge, x_train_raw, x_test_raw, y_test, conditional: bool, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(1000, generator.inputs[0].shape[-1])).astype("float32")
    if conditional:
        requested = rng.integers(0, 10, 1000)
        images = np.asarray(generator([noise, data.one_hot(requested, 10)], training=False))
    else:
        requested = None
        images = np.asarray(generator(noise, training=False))
    images = images.reshape(-1, 28, 28)
    report = evaluation.frechet_report(judge, images, x_test_raw, n=500, seed=seed, repeats=5)
    diversity = evaluation.within_class_diversity(judge, images, x_test_raw, generated_labels=requested,
                                                  real_labels=y_test, seed=seed)
    out = {"frechet": round(report.distance, 1), "frechet_spread": round(report.spread, 1),
           "floor": round(report.floor, 1), "ratio": round(report.ratio_to_floor, 2),
           "diversity": round(diversity.ratio, 3),
           "nearest_train_median": round(float(np.median(evaluation.nearest_distances(images[:300], x_train_raw))),
                                         3)}
    if conditional:
        accuracy = evaluation.label_accuracy(judge, images, requested)
        out["label_accuracy"] = round(float(accuracy.overall), 4)
        out["label_accuracy_min"] = round(float(np.nanmin(accuracy.per_label)), 4)
    else:
        out["classes_present"] = int(evaluation.class_coverage(judge.predict_labels(images)).classes_present)
    return out


def run(args) -> None:
    notebook, builder, batch_size, conditional = MODELS[args.model]
    batch_size = args.batch_size or batch_size
    keras.utils.set_random_seed(args.seed)
    ns = notebook_namespace(notebook, args.latent_dim, args.lr, args.beta_1, args.seed)
    (x_train_raw, y_train), (x_test_raw, y_test) = data.load_mnist("mnist")
    flat = notebook != "03_dcgan"
    x_train = data.scale_to_symmetric(x_train_raw)
    x_train = data.flatten(x_train) if flat else x_train.reshape(-1, 28, 28, 1).astype("float32")
    generator = ns[builder]()
    g_opt = keras.optimizers.Adam(args.lr, beta_1=args.beta_1)
    d_opt = keras.optimizers.Adam(args.lr_d or args.lr, beta_1=args.beta_1)
    if conditional:
        discriminator = ns["build_discriminator"]()
        step, g_opt, d_opt = ns["make_train_step"](generator, discriminator)
        arrays = (x_train, data.one_hot(y_train, 10))
    else:
        discriminator = {"radford": radford_discriminator, "spectral": spectral_discriminator}.get(
            args.d_variant, ns["build_discriminator"])()
        augment = None
        if args.augment == "diffaugment":
            if flat:
                raise SystemExit("--augment diffaugment needs image-shaped batches: use it with the 03_dcgan models")
            augment_seeds = keras.random.SeedGenerator(args.seed + 1)
            augment = lambda images: augmentation.diff_augment(images, augment_seeds)  # noqa: E731
        step = gan_helpers.make_gan_train_step(generator, discriminator, g_opt, d_opt, args.latent_dim, seed=args.seed,
                                               real_label=args.real_label, augment=augment)
        arrays = (x_train,)
    ema_generator, update = None, None
    if args.ema:
        ema_generator = ns[builder]()
        ema_generator.set_weights(generator.get_weights())
        update = ema_updater(generator, ema_generator, args.ema)
    judge = evaluation.load_judge("mnist", verbose=False)
    settings = {k: v for k, v in vars(args).items() if k not in ("summary",)}
    seconds, done = 0.0, 0
    batches = training.make_batches(arrays, batch_size, args.seed)
    epoch = 0
    while done < args.steps:
        for batch in batches:
            began = time.perf_counter()
            step(*batch)
            if update is not None:
                update()
            seconds += time.perf_counter() - began
            done += 1
            if done % args.eval_every == 0 or done == args.steps:
                for which, model in (("raw", generator), ("ema", ema_generator)):
                    if model is None:
                        continue
                    record = {"model": args.model, "tag": args.tag, "settings": settings, "step": done,
                              "train_seconds": round(seconds, 1), "weights": which,
                              "machine": f"{platform.machine()} {os.cpu_count()}-core",
                              "time": datetime.now(UTC).isoformat(timespec="seconds"),
                              **measure(model, judge, x_train_raw, x_test_raw, y_test, conditional, args.seed)}
                    print(json.dumps(record), flush=True)
                    with RUNS_FILE.open("a") as f:
                        f.write(json.dumps(record) + "\n")
            if done >= args.steps:
                break
        epoch += 1
        batches = training.make_batches(arrays, batch_size, args.seed + epoch)
    if args.save:
        (ema_generator or generator).save(args.save)


VAE_RUNS_FILE = ROOT / "benchmarks" / "vae_runs.jsonl"
SECTION = "## E. Training runs: generator quality against training length"


def results_section() -> list[str]:
    """Part E of RESULTS.md: every recorded run of this script and of ``vae_training_length.py``."""
    rows = [json.loads(line) for line in RUNS_FILE.read_text().splitlines() if line.strip()]
    (x_train_raw, _), (x_test_raw, _) = data.load_mnist("mnist")
    real_nn = float(np.median(evaluation.nearest_distances(x_test_raw[:300], x_train_raw)))
    lines = [SECTION, "",
             "Written by `benchmarks/generator_quality.py --write-results` from `benchmarks/generator_runs.jsonl` and "
             "`benchmarks/vae_runs.jsonl` (one JSON line per measurement, with every setting). Each run trains one "
             "notebook architecture on the embedded sample (4,000 training digits) with the step the notebook uses; "
             "every few thousand steps it measures the raw generator and its exponential moving average (EMA) the way "
             "notebook 06 does: Fréchet distance in the judge's features to the 1,000 held-out test digits at n = 500 "
             "per set (mean of 5 random splits) beside the floor (two disjoint sets of real test digits), within-class "
             "diversity (1.00 = as varied as real test digits), the median distance of 300 samples to their nearest "
             "training image (real test digits: "
             f"{real_nn:.2f}; smaller would mean copying) and classes present (conditional GAN: the judge's label "
             "accuracy, overall and for the worst label). Training seconds exclude the measurements. Runs were made "
             "two at a time on the 2-core machine, one TensorFlow thread each (load about 2): a quiet run with both "
             "cores is faster per step (the shipped weights' registry entries hold their own times).", "",
             "| model | run | weights | step | train s | Fréchet | × floor | diversity | nearest-train "
             "| classes / labels |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        labels = (f"{100 * r['label_accuracy']:.1f} % (worst {100 * r['label_accuracy_min']:.1f} %)"
                  if "label_accuracy" in r else f"{r.get('classes_present', '')}/10")
        s = r["settings"]
        run = r["tag"] or "-"
        run += (f" (lr {s['lr']:g}" + (f", D lr {s['lr_d']:g}" if s.get("lr_d") else "") + f", β1 {s['beta_1']:g}"
                + (f", real label {s['real_label']:g}" if s.get("real_label", 1.0) != 1.0 else "")
                + (f", batch {s['batch_size']}" if s.get("batch_size") else "") + ")")
        lines.append(f"| {r['model']} | {run} | {r['weights']} | {r['step']:,} | {r['train_seconds']:.0f} | "
                     f"{r['frechet']:.1f} | {r['ratio']:.2f} | {r['diversity']:.2f} | {r['nearest_train_median']:.2f} "
                     f"| {labels} |")
    if VAE_RUNS_FILE.is_file():
        lines += ["", "**Notebook 04's VAE, trained past its early-stopping point** "
                  "(`benchmarks/vae_training_length.py`: "
                  "the notebook's architecture and step, 3,600 training digits, the notebook's 400 held-out digits; "
                  "test −ELBO with 10 draws of z per test digit; Fréchet distance of 1,000 decoder means from prior "
                  "codes, n = 500):", "",
                  "| latent | epoch | train s | held-out −ELBO | test −ELBO | Fréchet | floor | classes |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for line in VAE_RUNS_FILE.read_text().splitlines():
            v = json.loads(line)
            lines.append(f"| {v['latent_dim']} | {v['epoch']:,} | {v['train_seconds']:.0f} | "
                         f"{v['held_out_elbo']:.1f} | {v['test_elbo']:.1f} | {v['frechet']:.1f} | {v['floor']:.1f} | "
                         f"{v['classes_present']}/10 |")
    return lines + [""]


def summary() -> None:
    rows = [json.loads(line) for line in RUNS_FILE.read_text().splitlines() if line.strip()]
    print(f"{'model':<20}{'tag':<22}{'w':<4}{'step':>7}{'sec':>7}{'FD':>8}{'×floor':>8}{'div':>6}{'NN':>7}  labels")
    for r in rows:
        labels = (f"{100 * r['label_accuracy']:.1f} % (min {100 * r['label_accuracy_min']:.1f})"
                  if "label_accuracy" in r else f"{r.get('classes_present', '')}/10")
        print(f"{r['model']:<20}{r['tag']:<22}{r['weights']:<4}{r['step']:>7}{r['train_seconds']:>7.0f}"
              f"{r['frechet']:>8.1f}{r['ratio']:>8.2f}{r['diversity']:>6.2f}{r['nearest_train_median']:>7.2f}"
              f"  {labels}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", choices=sorted(MODELS))
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--eval-every", type=int, default=2_000)
    parser.add_argument("--ema", type=float, default=0.0, help="EMA decay of G's weights (0: none)")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--lr-d", type=float, default=0.0, help="D's learning rate (0: same as --lr)")
    parser.add_argument("--beta-1", type=float, default=0.5)
    parser.add_argument("--real-label", type=float, default=1.0, help="D's target for real images (0.9: smoothing)")
    parser.add_argument("--batch-size", type=int, default=0, help="0: the notebook's")
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--tag", default="")
    parser.add_argument("--augment", choices=["none", "diffaugment"], default="none",
                        help="DiffAugment (translation + cutout) on everything D sees (03_dcgan models)")
    parser.add_argument("--d-variant", choices=["notebook", "radford", "spectral"], default="notebook",
                        help="03 only: the notebook's discriminator, or one with BatchNormalization and no dropout")
    parser.add_argument("--save", default="", help="save the (EMA) generator here at the end")
    parser.add_argument("--summary", action="store_true")
    parser.add_argument("--write-results", action="store_true", help="rewrite part E of benchmarks/RESULTS.md")
    args = parser.parse_args()
    if args.write_results:
        from benchmarks.results_file import replace_section

        replace_section(SECTION, results_section())
    elif args.summary:
        summary()
    else:
        if args.model is None:
            parser.error("name a model, or --summary")
        run(args)
