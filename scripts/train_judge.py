"""Train the judge classifier used by helpers.evaluation and ship it in data/weights/.

    python scripts/train_judge.py                 # MNIST: full data if available, else the embedded sample
    python scripts/train_judge.py --dataset fashion_mnist

It trains on the training split that ``helpers.data.load_mnist`` finds (with augmentation),
reports accuracy on the matching test split, and records both in data/weights/registry.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import data, evaluation, weights  # noqa: E402
from helpers.environment import quiet_tensorflow  # noqa: E402

quiet_tensorflow()
import keras  # noqa: E402


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist", choices=sorted(data.DATASETS))
    parser.add_argument("--epochs", type=int, default=None, help="default: 60 on the sample, 12 on full data")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    loaded = data.load_mnist(args.dataset)
    (x_train, y_train), (x_test, y_test) = loaded
    epochs = args.epochs or (60 if loaded.source.is_sample else 12)
    keras.utils.set_random_seed(args.seed)
    judge = evaluation.build_judge()
    judge.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    lr_schedule = keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=4, min_lr=1e-5)
    began = time.perf_counter()
    judge.fit(evaluation.to_judge_input(x_train), y_train, batch_size=128, epochs=epochs, verbose=2,
              callbacks=[lr_schedule])
    seconds = time.perf_counter() - began
    accuracy = evaluation.Judge(judge).accuracy(x_test, y_test)
    print(f"judge test accuracy: {100 * accuracy:.2f}% on {len(x_test):,} images ({seconds:.0f} s of training)")
    weights.save_pretrained(
        judge, evaluation.judge_name(args.dataset), dataset=args.dataset, data_source=loaded.source.kind,
        epochs=epochs, train_seconds=seconds, command=f"python scripts/train_judge.py --dataset {args.dataset}",
        test_accuracy=round(accuracy, 4), test_size=len(x_test), train_size=len(x_train),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
