"""Part N of ``benchmarks/RESULTS.md``: how long 02's exercise 5 (Fashion-MNIST) must train before its check passes.

02's solutions prove exercise 5's check (``helpers.exercises.cgan.ex5``) by training the notebook's conditional MLP
GAN on Fashion-MNIST's 60,000 garments. That run is the longest part of ``make test-assignments``, so its length is
measured here: this script runs the solutions notebook's own set-up and ``train_run`` code (its cells, executed
in-process with ``SEED`` replaced), and after every epoch (468 steps) applies the check exactly as the solutions
cell does (1,000 garments, 100 per class, noise from ``SEED``; the Fashion-MNIST judge on them and on the 10,000
test garments). One JSON line per epoch goes to ``benchmarks/cgan_fashion_runs.jsonl``; part N lists, per step
count, the check's verdict and numbers over seeds. Evaluating after each epoch draws no random numbers, so the last
line of a run is the solutions' own run at that length.

    .venv/bin/python benchmarks/cgan_fashion_exercise.py --steps 5000 --seeds 42 0 1 2 3   # 11-24 min per seed here
    .venv/bin/python benchmarks/cgan_fashion_exercise.py --write-results                   # part N from the records
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import replace_section  # noqa: E402

SOLUTIONS = ROOT / "notebooks" / "solutions" / "02_cgan_solutions.ipynb"
RUNS = ROOT / "benchmarks" / "cgan_fashion_runs.jsonl"
HEADING = "## N. 02's exercise 5: training steps its check needs on Fashion-MNIST"


def solutions_namespace(seed: int) -> dict:
    """The solutions notebook's imports, settings, data, networks and ``train_run``, run with ``SEED = seed``."""
    nb = nbformat.read(SOLUTIONS, as_version=4)
    namespace: dict = {}
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    setup = [s for s in code if s.startswith(("from helpers import environment", "BUDGET =", "LATENT_DIM,"))]
    steps = next(s for s in code if s.startswith("def make_train_step"))
    source = "\n\n".join([*setup, steps[: steps.index("EX3_STEPS =")]]).replace("SEED = 42", f"SEED = {seed}")
    # from a real file, so that AutoGraph can read the step's source as it does in the notebook
    script = Path(tempfile.mkdtemp()) / "02_cgan_solutions_setup.py"
    script.write_text(source)
    exec(compile(source, str(script), "exec"), namespace)  # noqa: S102 - the course's own notebook
    return namespace


def run(seed: int, max_steps: int) -> None:
    ns = solutions_namespace(seed)
    np, data, evaluation, training, check = ns["np"], ns["data"], ns["evaluation"], ns["training"], ns["check"]
    keras, n_classes, latent_dim = ns["keras"], ns["N_CLASSES"], ns["LATENT_DIM"]
    (f_train_raw, f_train_labels), (f_test_raw, f_test_labels) = data.load_mnist("fashion_mnist")
    arrays = (data.flatten(data.scale_to_symmetric(f_train_raw)), data.one_hot(f_train_labels, n_classes))
    fashion_judge = evaluation.load_judge("fashion_mnist")
    requested = np.repeat(np.arange(n_classes), 100)
    noise = np.random.default_rng(seed).normal(size=(len(requested), latent_dim)).astype("float32")
    labels = data.one_hot(requested, n_classes)

    # train_run's body (it cannot be called: its sample_fn and sample_every are fixed), with the check after every
    # epoch (sample_fn is called at epoch 0, after each epoch and at the end; one thread measured 63-130 s per epoch)
    keras.utils.set_random_seed(seed)
    generator, discriminator = ns["build_generator"](), ns["build_discriminator"]()
    epochs, per_epoch = training.plan_epochs(max_steps, len(arrays[0]), ns["BATCH_SIZE"])
    calls, began = [0], time.perf_counter()

    def evaluate():
        garments = np.asarray(generator([noise, labels], training=False))
        result = check.ex5("fashion_mnist", fashion_judge, garments, requested, f_test_raw, f_test_labels)
        predicted = fashion_judge.predict_labels(garments)
        record = {"seed": seed, "steps": calls[0] * per_epoch, "passed": bool(result.passed),
                  "measured": {k: (round(float(v), 4) if isinstance(v, float) else v)
                               for k, v in result.measured.items()},
                  "label accuracy": round(float(np.mean(predicted == requested)), 4),
                  "largest class share": round(float(np.bincount(predicted, minlength=10).max() / len(predicted)), 4),
                  "wall_seconds": round(time.perf_counter() - began, 1),
                  "machine": f"{platform.machine()} {os.cpu_count()}-core",
                  "threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "default"),
                  "time": datetime.now(UTC).isoformat(timespec="seconds")}
        calls[0] += 1
        print(json.dumps(record), flush=True)
        with RUNS.open("a") as f:
            f.write(json.dumps(record) + "\n")
        return np.zeros((1, 1), "float32")

    training.train(ns["make_train_step"](generator, discriminator), arrays, epochs=epochs,
                   batch_size=ns["BATCH_SIZE"], sample_fn=evaluate, sample_every=1, live=False, seed=seed)


def results_lines() -> list[str]:
    from helpers.exercises.cgan import EX5_LABEL_SUNK_IN

    rows = [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()] if RUNS.is_file() else []
    by_steps: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_steps[r["steps"]].append(r)
    within_key = "upper-body errors that stay upper-body (generated)"
    lines = [HEADING, "",
             "Written by `benchmarks/cgan_fashion_exercise.py` from `benchmarks/cgan_fashion_runs.jsonl`: the "
             "solutions' exercise-5 run (02's conditional MLP GAN on Fashion-MNIST's 60,000 garments, batch 128, "
             "one TensorFlow thread) checked after every epoch. The check passes when the judge's label accuracy on "
             f"the 1,000 garments is at least {EX5_LABEL_SUNK_IN} (the label has sunk in), the class it recognises "
             "worst is an upper-body garment, and at least half of the upper-body errors stay upper-body. "
             "'passed' applies today's check to the recorded numbers (runs recorded before the label-accuracy "
             "condition existed stored the other two conditions' verdict).", "",
             "| steps | seeds | passed | label accuracy: min – max | errors staying upper-body: min – max | "
             "largest class share: max |",
             "|---:|---|---:|---:|---:|---:|"]
    for steps in sorted(by_steps):
        runs = sorted(by_steps[steps], key=lambda r: r["seed"])
        accuracy = [r["label accuracy"] for r in runs]
        within = [r["measured"][within_key] for r in runs if isinstance(r["measured"].get(within_key), float)]
        passed = sum(r["passed"] and r["label accuracy"] >= EX5_LABEL_SUNK_IN for r in runs)
        lines.append(f"| {steps:,} | {', '.join(str(r['seed']) for r in runs)} | {passed} / {len(runs)} | "
                     f"{min(accuracy):.3f} – {max(accuracy):.3f} | "
                     f"{f'{min(within):.3f} – {max(within):.3f}' if within else '–'} | "
                     f"{max(r['largest class share'] for r in runs):.3f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5_000, help="the longest run, checked after every epoch")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--write-results", action="store_true", help="only rewrite part N from the records")
    args = parser.parse_args()
    if not args.write_results:
        for seed in args.seeds:
            run(seed, args.steps)
    replace_section(HEADING, results_lines())


if __name__ == "__main__":
    main()
