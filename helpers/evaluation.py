"""Numbers for generative models, computed the same way in every notebook.

- a **judge**: a small convolutional classifier trained on the course's training split
  (``scripts/train_judge.py``), shipped in ``data/weights/`` like the generators;
- **Fréchet distance in the judge's feature space**: the FID recipe (Heusel et al., 2017) with
  the judge's penultimate layer instead of Inception (which cannot be downloaded offline).
  The numbers are therefore *not* comparable with Inception-based FIDs in papers; compare them
  with the same distance between real training and real test images, printed beside them;
- **label accuracy** of conditional samples, and **class coverage** (classes present, entropy
  of the predicted-label histogram) of unconditional ones — a direct mode-collapse indicator.

The test-set negative ELBO of the VAEs lives in :mod:`helpers.vae` beside the model parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import weights
from .environment import quiet_tensorflow
from .plotting import to_display_range

quiet_tensorflow()
import keras  # noqa: E402
from keras import layers  # noqa: E402

FEATURE_LAYER = "judge_features"


def judge_name(dataset: str) -> str:
    return f"judge_{dataset}"


def build_judge() -> keras.Model:
    """A small CNN; augmentation layers are active only while it trains (4,000 digits are few)."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
            layers.RandomRotation(0.04, fill_mode="constant"),
            layers.RandomZoom(0.1, fill_mode="constant"),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128, activation="relu", name=FEATURE_LAYER),
            layers.Dropout(0.3),
            layers.Dense(10, activation="softmax"),
        ],
        name="judge",
    )


def _value_range(images: np.ndarray) -> str | None:
    """The value range of a whole batch, guessed once, so that converting it in chunks cannot guess
    differently per chunk (``to_display_range`` reads any value below 0 as the [-1, 1] range)."""
    if images.dtype == np.uint8 or images.size == 0:
        return None
    return "symmetric" if float(np.min(images)) < -1e-3 else "unit"


def to_judge_input(images: np.ndarray) -> np.ndarray:
    """Any course image batch (uint8, [0, 1], [-1, 1]; flat or not) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return to_display_range(images)[..., None].astype(np.float32)


class Judge:
    """The shipped classifier with fast batched calls for labels and features."""

    def __init__(self, model: keras.Model, info: dict | None = None):
        self.model = model
        self.info = info or {}
        self._features = keras.Model(model.inputs[0], [model.get_layer(FEATURE_LAYER).output, model.outputs[0]])

    def _run(self, images: np.ndarray, batch_size: int = 500):
        # converted batch by batch: 100,000 images as float32 would be a 313 MB copy of the input
        images = np.asarray(images)
        value_range = _value_range(images)
        feats, probs = [], []
        for start in range(0, len(images), batch_size):
            x = to_display_range(images[start : start + batch_size], value_range)[..., None]
            f, p = self._features(x, training=False)
            feats.append(np.asarray(f))
            probs.append(np.asarray(p))
        return np.concatenate(feats), np.concatenate(probs)

    def features(self, images: np.ndarray) -> np.ndarray:
        return self._run(images)[0]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return self._run(images)[1]

    def predict_labels(self, images: np.ndarray) -> np.ndarray:
        return self.probabilities(images).argmax(axis=1)

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float((self.predict_labels(images) == np.asarray(labels)).mean())


def load_judge(dataset: str = "mnist", verbose: bool = True) -> Judge:
    """The shipped judge for ``dataset`` (train one with ``python scripts/train_judge.py``)."""
    name = judge_name(dataset)
    model = weights.load_model(name, dataset, verbose=False)
    info = weights.entry(name, dataset)
    if verbose:
        print(f"Judge: {name}, test accuracy {100 * info['test_accuracy']:.1f}% on {info['test_size']:,} "
              f"{dataset} test images ({info['data_source']})")
    return Judge(model, info)


# --------------------------------------------------------------------------- distances


def _sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are samples).

    d = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)); the trace of the matrix square root
    is computed as Tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)), which is symmetric and stable.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two (N, D) feature arrays with the same D, got {a.shape} and {b.shape}")
    if min(len(a), len(b)) < 2:
        raise ValueError("need at least 2 samples per set to estimate a covariance")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root_a = _sqrtm_psd(cov_a)
    cross = np.trace(_sqrtm_psd(root_a @ cov_b @ root_a))
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)
    return max(value, 0.0)


@dataclass
class FrechetReport:
    generated_vs_test: float
    train_vs_test: float
    n_generated: int
    n_reference: int

    def __str__(self) -> str:
        return (f"Fréchet distance (judge features): generated vs real test {self.generated_vs_test:.2f}   "
                f"[scale: real train vs real test {self.train_vs_test:.2f}; {self.n_generated:,} generated, "
                f"{self.n_reference:,} real images per set; not comparable with Inception FID]")


def frechet_report(judge: Judge, generated: np.ndarray, real_test: np.ndarray, real_train: np.ndarray,
                   n: int = 1000, seed: int = 0) -> FrechetReport:
    """Generated vs real test images, with real train vs real test as the scale (same sample sizes)."""
    rng = np.random.default_rng(seed)
    n = min(n, len(generated), len(real_test), len(real_train))
    pick = lambda arr: arr[rng.choice(len(arr), n, replace=False)]  # noqa: E731
    gen, test, train = (judge.features(pick(arr)) for arr in (generated, real_test, real_train))
    return FrechetReport(frechet_distance(gen, test), frechet_distance(train, test), n, n)


# --------------------------------------------------------------------------- labels


@dataclass
class Coverage:
    counts: np.ndarray  # predicted-label histogram, length 10
    classes_present: int  # classes with at least `min_share` of the samples
    entropy_bits: float  # log2(10) = 3.32 for a perfectly even spread

    def __str__(self) -> str:
        shares = " ".join(f"{c}:{100 * n / self.counts.sum():.0f}%" for c, n in enumerate(self.counts))
        return (f"class coverage: {self.classes_present}/10 classes, entropy {self.entropy_bits:.2f} of "
                f"{np.log2(10):.2f} bits  [{shares}]")


def class_coverage(predicted_labels: np.ndarray, num_classes: int = 10, min_share: float = 0.02) -> Coverage:
    """How evenly samples spread over the classes: few classes or low entropy = mode collapse."""
    counts = np.bincount(np.asarray(predicted_labels, int), minlength=num_classes)[:num_classes]
    if counts.sum() == 0:
        raise ValueError("no predicted labels given")
    p = counts / counts.sum()
    entropy = float(-(p[p > 0] * np.log2(p[p > 0])).sum())
    return Coverage(counts, int((p >= min_share).sum()), entropy)


@dataclass
class LabelAccuracy:
    overall: float
    per_label: np.ndarray

    def __str__(self) -> str:
        per = " ".join(f"{c}:{100 * a:.0f}%" for c, a in enumerate(self.per_label))
        return f"label accuracy: {100 * self.overall:.1f}%  [{per}]"


def label_accuracy(judge: Judge, images: np.ndarray, requested: np.ndarray, num_classes: int = 10) -> LabelAccuracy:
    """Share of conditional samples that the judge assigns to the label they were generated for."""
    requested = np.asarray(requested, int)
    if len(requested) != len(images):
        raise ValueError(f"{len(images)} images but {len(requested)} requested labels")
    hits = judge.predict_labels(images) == requested
    per = np.array([hits[requested == c].mean() if (requested == c).any() else np.nan for c in range(num_classes)])
    return LabelAccuracy(float(hits.mean()), per)


# --------------------------------------------------------------------------- memorisation


def nearest_distances(images: np.ndarray, reference: np.ndarray, chunk: int = 256,
                      reference_chunk: int = 4096) -> np.ndarray:
    """Euclidean distance (in [0, 1] pixel units) from each image to its nearest reference image.

    Compare generated-vs-train with real-test-vs-train: generated images much closer to the
    training set than unseen real digits are would mean the generator copies its training data.

    The reference set is converted ``reference_chunk`` rows at a time, so memory stays bounded
    (~40 MB) whatever its size: 60,000 training images as one float64 array would be 376 MB.
    """
    images, reference = np.asarray(images), np.asarray(reference)
    if len(images) == 0 or len(reference) == 0:
        raise ValueError(f"need at least one image and one reference image, got {len(images)} and {len(reference)}")
    flat = to_display_range(images, _value_range(images)).reshape(len(images), -1).astype(np.float64)
    flat_sq = (flat**2).sum(1)
    reference_range = _value_range(reference)
    best = np.full(len(flat), np.inf)
    for ref_start in range(0, len(reference), reference_chunk):
        # float64: with float32, |a|^2 + |b|^2 - 2ab cancels badly for near-copies
        ref = to_display_range(reference[ref_start : ref_start + reference_chunk], reference_range)
        ref = ref.reshape(len(ref), -1).astype(np.float64)
        ref_sq = (ref**2).sum(1)
        for start in range(0, len(flat), chunk):
            block = flat[start : start + chunk]
            d2 = flat_sq[start : start + chunk, None] + ref_sq[None, :] - 2 * block @ ref.T
            np.minimum(best[start : start + chunk], d2.min(1), out=best[start : start + chunk])
    return np.sqrt(np.maximum(best, 0))


# --------------------------------------------------------------------------- shipped models, side by side


def model_kind(model: keras.Model) -> str:
    """'gan', 'conditional gan', 'vae' or 'conditional vae', read from the model's inputs and parts.

    VAEs are shipped whole (image -> reconstruction) with sub-models named 'encoder' and
    'decoder'; generators take noise, and conditional ones a one-hot label as a second input.
    """
    names = {layer.name for layer in model.layers}
    if {"encoder", "decoder"} <= names:
        return "conditional vae" if len(model.get_layer("decoder").inputs) == 2 else "vae"
    return "conditional gan" if len(model.inputs) == 2 else "gan"


def sample_images(model: keras.Model, n: int, seed: int = 0, labels: np.ndarray | None = None) -> np.ndarray:
    """``n`` images from a shipped generator or VAE decoder, latents drawn from N(0, I).

    Conditional models get ``labels`` (default: 0..9 repeated), as one-hot vectors.
    """
    kind = model_kind(model)
    generator = model.get_layer("decoder") if "vae" in kind else model
    latent_dim = generator.inputs[0].shape[-1]
    z = np.random.default_rng(seed).normal(size=(n, latent_dim)).astype(np.float32)
    inputs = [z]
    if kind.startswith("conditional"):
        labels = np.arange(n) % 10 if labels is None else np.asarray(labels)
        inputs.append(np.eye(10, dtype=np.float32)[labels])
    out = [generator(tuple(x[i : i + 500] for x in inputs) if len(inputs) > 1 else inputs[0][i : i + 500],
                     training=False) for i in range(0, n, 500)]
    return np.concatenate([np.asarray(o) for o in out])


def knn_label_accuracy(codes_train: np.ndarray, labels_train: np.ndarray, codes_query: np.ndarray,
                       labels_query: np.ndarray, k: int = 5) -> float:
    """Share of query points whose ``k`` nearest training codes vote for their true label.

    A number for "do the classes separate in this latent space?" (chance: 1 / number of classes).
    The labels are used only for this check, never for training. Ties in the vote go to the
    smallest label.

    The neighbours come from a k-d tree (``scipy.spatial.cKDTree``): memory grows with the number
    of codes, not with queries x training codes (10,000 x 60,000 distances would be 4.8 GB).
    """
    from scipy.spatial import cKDTree

    codes_train, codes_query = np.asarray(codes_train, np.float64), np.asarray(codes_query, np.float64)
    labels_train, labels_query = np.asarray(labels_train, int), np.asarray(labels_query, int)
    if len(codes_train) != len(labels_train) or len(codes_query) != len(labels_query):
        raise ValueError("each set of codes needs one label per code")
    if codes_train.ndim != 2 or codes_query.ndim != 2 or codes_train.shape[1] != codes_query.shape[1]:
        raise ValueError(f"codes must be (N, latent_dim) arrays of one width, got {codes_train.shape} "
                         f"and {codes_query.shape}")
    if not 1 <= k <= len(codes_train):
        raise ValueError(f"k must lie in 1..{len(codes_train)}, got {k}")
    _, neighbours = cKDTree(codes_train).query(codes_query, k=k)
    nearest = labels_train[np.asarray(neighbours).reshape(len(codes_query), k)]
    n_classes = int(max(labels_train.max(), labels_query.max())) + 1
    votes = np.zeros((len(nearest), n_classes), int)
    np.add.at(votes, (np.arange(len(nearest))[:, None], nearest), 1)
    return float((votes.argmax(1) == labels_query).mean())
