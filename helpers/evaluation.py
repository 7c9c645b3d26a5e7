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
        import tensorflow as tf

        self.model = model
        self.info = info or {}
        self._features = keras.Model(model.inputs[0], [model.get_layer(FEATURE_LAYER).output, model.outputs[0]])
        # One compiled forward pass for every batch size: eager calls on batches of 500 raised a kernel's peak memory
        # by 580 MiB on 10,000 images, this one on batches of 100 by 110 MiB, in about the same time (12 s, 1 thread)
        self._forward = tf.function(lambda x: self._features(x, training=False), reduce_retracing=True,
                                    input_signature=[tf.TensorSpec((None, 28, 28, 1), tf.float32)])

    def _run(self, images: np.ndarray, batch_size: int = 100):
        # converted batch by batch: 100,000 images as float32 would be a 313 MB copy of the input
        images = np.asarray(images)
        value_range = _value_range(images)
        feats, probs = [], []
        for start in range(0, len(images), batch_size):
            x = to_display_range(images[start : start + batch_size], value_range)[..., None].astype(np.float32)
            f, p = self._forward(x)
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
    """Generated vs real held-out digits, beside the floor a perfect generator would score, each ± a spread.

    ``distance``: Fréchet distance between ``n`` generated images and real held-out set A;
    ``floor``: the same distance between real held-out set B and set A (A, B disjoint, n each,
    digits the judge never saw): what a generator that draws fresh real digits would score at this n.
    Each is the mean over ``repeats`` random splits; ``spread`` and ``floor_spread`` are their standard
    deviations, so a difference smaller than about twice the spread is noise.
    ``train_vs_heldout``: optional, real *training* digits vs set A, the old scale. The judge was
    trained on those digits, so it may know them better than fresh ones; measured on the embedded
    sample at n = 500 it is no lower than the held-out floor (the old scale was low mainly because
    it used n = 1,000: Fréchet distances fall as n grows).
    """

    distance: float
    spread: float
    floor: float
    floor_spread: float
    n: int
    repeats: int
    n_generated_given: int
    n_heldout_given: int
    n_requested: int | None = None
    train_vs_heldout: float | None = None

    @property
    def generated_vs_test(self) -> float:
        """Old name of ``distance`` (notebooks written before the held-out floor)."""
        return self.distance

    @property
    def train_vs_test(self) -> float:
        """Old name of the scale: real train vs real held-out when ``real_train`` was given, else the floor."""
        return self.floor if self.train_vs_heldout is None else self.train_vs_heldout

    @property
    def ratio_to_floor(self) -> float:
        return self.distance / self.floor if self.floor > 0 else float("inf")

    def __str__(self) -> str:
        capped = ""
        if self.n_requested is not None and self.n_requested > self.n:
            capped = (f" (capped from {self.n_requested:,}: two disjoint sets from "
                      f"{self.n_heldout_given:,} held-out digits)")
        lines = [
            f"Fréchet distance (judge features, n = {self.n:,} per set{capped}):",
            f"  generated vs real held-out A  {self.distance:8.1f} ± {self.spread:.1f}   "
            f"({self.ratio_to_floor:.1f}× the floor)",
            f"  floor: real held-out B vs A   {self.floor:8.1f} ± {self.floor_spread:.1f}",
        ]
        if self.train_vs_heldout is not None:
            lines.append(f"  real train vs A (digits the judge trained on) {self.train_vs_heldout:.1f}")
        lines.append(f"  [generated: {self.n:,} of the {self.n_generated_given:,} given; A, B: two disjoint "
                     f"random sets of {self.n:,} from the {self.n_heldout_given:,} real held-out digits, which the "
                     "judge never saw; generated redrawn each split; "
                     f"mean ± std over {self.repeats} random splits; not comparable with Inception FID]")
        return "\n".join(lines)


def max_frechet_n(n_generated: int, n_heldout: int) -> int:
    """The largest n a :func:`frechet_report` allows: all generated images, half the held-out digits.

    The embedded sample's 1,000 test digits allow n = 500; full MNIST's 10,000 allow 5,000.
    """
    return min(int(n_generated), int(n_heldout) // 2)


def frechet_report(judge: Judge, generated: np.ndarray, real_heldout: np.ndarray, real_train: np.ndarray | None = None,
                   *, n: int | None = None, seed: int = 0, repeats: int = 10) -> FrechetReport:
    """Fréchet distance of ``generated`` to real held-out digits, beside a held-out floor, each ± a spread.

    ``real_heldout``: real digits the judge never saw (the test split). Each of ``repeats`` rounds
    splits them at random into two disjoint sets A and B of ``n`` digits and draws ``n`` of the
    generated images; it measures generated vs A and B vs A (the floor: what fresh real digits
    score). Both numbers share the reference set and the sample size, which matters because a
    Fréchet distance grows as n shrinks. The report gives the mean over rounds ± the standard
    deviation: the spread of the held-out split and, when more than ``n`` generated images are given,
    of the generated draw (pass 2n or more to include it). ``n`` defaults to, and is capped at,
    :func:`max_frechet_n` (500 with the embedded sample's 1,000 test digits). ``real_train``
    (optional) adds real-train-vs-A, the old scale (digits the judge trained on).
    Features are computed once; each round costs two distances (128 × 128 eigen-decompositions).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    largest = max_frechet_n(len(generated), len(real_heldout))
    if largest < 2:
        raise ValueError(f"need at least 2 generated images and 4 held-out digits, got {len(generated)} and "
                         f"{len(real_heldout)}")
    if n is not None and n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    size = largest if n is None else min(n, largest)
    rng = np.random.default_rng(seed)
    f_gen, f_held = judge.features(generated), judge.features(real_heldout)
    f_train = None
    if real_train is not None:
        f_train = judge.features(real_train[rng.choice(len(real_train), min(size, len(real_train)), replace=False)])
    distances, floors, train_distances = [], [], []
    for _ in range(repeats):
        order = rng.permutation(len(f_held))
        f_a, f_b = f_held[order[:size]], f_held[order[size : 2 * size]]
        distances.append(frechet_distance(f_gen[rng.choice(len(f_gen), size, replace=False)], f_a))
        floors.append(frechet_distance(f_b, f_a))
        if f_train is not None:
            train_distances.append(frechet_distance(f_train, f_a))
    spread = (lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else float("nan"))  # noqa: E731
    return FrechetReport(float(np.mean(distances)), spread(distances), float(np.mean(floors)), spread(floors), size,
                         repeats, len(generated), len(real_heldout), n,
                         float(np.mean(train_distances)) if train_distances else None)


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
    if len(requested) != len(images):
        raise ValueError(f"{len(images)} images but {len(requested)} requested labels")
    return label_accuracy_of(judge.predict_labels(images), requested, num_classes)


def label_accuracy_of(predicted: np.ndarray, requested: np.ndarray, num_classes: int = 10) -> LabelAccuracy:
    """:func:`label_accuracy` from the judge's labels, e.g. gathered chunk by chunk when the images would not
    fit in memory at once."""
    predicted, requested = np.asarray(predicted, int), np.asarray(requested, int)
    if len(predicted) != len(requested):
        raise ValueError(f"{len(predicted)} predicted but {len(requested)} requested labels")
    hits = predicted == requested
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


@dataclass
class CopyCheck:
    """Median distance of generated images to their nearest training digit and to their nearest held-out digit.

    Both reference sets have ``n_reference`` digits, so the two medians are comparable: a generator that
    copies its training digits is much nearer to the training set (``ratio`` well below 1); one whose images
    are merely smooth or clean is nearer to *every* real digit, training or not (``ratio`` near 1). The plain
    generated-vs-real-test comparison of :func:`nearest_distances` cannot tell those two apart.
    """

    to_train: float
    to_heldout: float
    n_reference: int

    @property
    def ratio(self) -> float:
        return self.to_train / self.to_heldout if self.to_heldout > 0 else float("inf")

    def __str__(self) -> str:
        return (f"nearest real digit (median, 0-1 pixels): {self.to_train:.2f} among {self.n_reference:,} training "
                f"digits, {self.to_heldout:.2f} among {self.n_reference:,} held-out digits; ratio {self.ratio:.2f} "
                "(near 1: no preference for the training digits; well below 1: copying)")


def copy_check(images: np.ndarray, real_train: np.ndarray, real_heldout: np.ndarray, *, seed: int = 0) -> CopyCheck:
    """Compare ``images``' nearest training digit with their nearest held-out digit, from equal-size sets."""
    n = min(len(real_train), len(real_heldout))
    if n == 0 or len(images) == 0:
        raise ValueError("need generated images and at least one training and one held-out digit")
    rng = np.random.default_rng(seed)
    train_ref = real_train[np.sort(rng.choice(len(real_train), n, replace=False))]
    held_ref = real_heldout[np.sort(rng.choice(len(real_heldout), n, replace=False))]
    return CopyCheck(float(np.median(nearest_distances(images, train_ref))),
                     float(np.median(nearest_distances(images, held_ref))), n)


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


# --------------------------------------------------------------------------- within-class diversity


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs of distinct rows (0 when every row is the same)."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need an (N, D) array with N >= 2, got shape {f.shape}")
    sq = (f**2).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * f @ f.T, 0.0)
    upper = np.triu_indices(len(f), k=1)
    return float(np.sqrt(d2[upper]).mean())


@dataclass
class Diversity:
    """Within-class spread of generated digits relative to real held-out digits of the same class.

    ``per_class[c]`` = mean pairwise judge-feature distance among generated digits of class c divided
    by the same among real held-out digits of class c (nan where fewer than 2 generated digits);
    ``ratio`` = the mean over the classes that have one. 1.0: as varied as real digits; near 0: each
    class is (almost) one image repeated, which class coverage cannot see.
    """

    ratio: float
    per_class: np.ndarray
    generated_spread: np.ndarray
    real_spread: np.ndarray
    label_source: str
    counts: np.ndarray

    def __str__(self) -> str:
        per = " ".join(f"{c}:{r:.2f}" if np.isfinite(r) else f"{c}:–" for c, r in enumerate(self.per_class))
        missing = int((~np.isfinite(self.per_class)).sum())
        note = f"; {missing} class(es) with < 2 samples left out" if missing else ""
        return (f"within-class diversity: {self.ratio:.2f} of real held-out digits' (1.00 = as varied as real) "
                f"[{per}]  [classes by {self.label_source}; mean pairwise judge-feature distance{note}]")


def within_class_diversity(judge: Judge, generated: np.ndarray, real_heldout: np.ndarray, *,
                           generated_labels: np.ndarray | None = None, real_labels: np.ndarray | None = None,
                           max_per_class: int = 200, num_classes: int = 10, seed: int = 0) -> Diversity:
    """How varied the generated digits of each class are, as a share of real held-out digits' variety.

    Classes come from ``generated_labels`` (the requested labels of a conditional model) or, when
    not given, from the judge's predictions; the same for ``real_labels``. At most ``max_per_class``
    images per class are compared (mean pairwise distance is unbiased at any size, so the two sides
    need not match in n). The mean pairwise distance is an average over pairs, so it does not
    depend on the sample size the way a Fréchet distance does.
    """
    if len(generated) < 2 or len(real_heldout) < 2:
        raise ValueError("need at least 2 generated and 2 real held-out images")
    if max_per_class < 2:
        raise ValueError(f"max_per_class must be at least 2, got {max_per_class}")
    rng = np.random.default_rng(seed)
    f_gen, p_gen = judge._run(generated)
    f_real, p_real = judge._run(real_heldout)
    source = "requested labels" if generated_labels is not None else "the judge's predicted labels"
    y_gen = p_gen.argmax(1) if generated_labels is None else np.asarray(generated_labels, int)
    y_real = p_real.argmax(1) if real_labels is None else np.asarray(real_labels, int)
    if len(y_gen) != len(generated) or len(y_real) != len(real_heldout):
        raise ValueError(f"labels must have one entry per image: {len(y_gen)} labels for {len(generated)} "
                         f"generated, {len(y_real)} for {len(real_heldout)} real images")

    def spread(features, labels, c):
        rows = np.flatnonzero(labels == c)
        if len(rows) < 2:
            return np.nan
        if len(rows) > max_per_class:
            rows = rng.choice(rows, max_per_class, replace=False)
        return mean_pairwise_distance(features[rows])

    gen_spread = np.array([spread(f_gen, y_gen, c) for c in range(num_classes)])
    real_spread = np.array([spread(f_real, y_real, c) for c in range(num_classes)])
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = gen_spread / real_spread
    finite = np.isfinite(per_class)
    if not finite.any():
        raise ValueError("no class has at least 2 generated and 2 real images")
    counts = np.bincount(y_gen, minlength=num_classes)[:num_classes]
    return Diversity(float(per_class[finite].mean()), per_class, gen_spread, real_spread, source, counts)


# --------------------------------------------------------------------------- classification accuracy score


def build_small_classifier(seed: int = 0) -> keras.Model:
    """The CAS classifier: an MLP 784 -> 256 -> 10 with seeded initialisers (no global seed is touched)."""
    init = keras.initializers.GlorotUniform
    return keras.Sequential([
        keras.Input((784,)),
        layers.Dense(256, activation="relu", kernel_initializer=init(seed)),
        layers.Dense(10, activation="softmax", kernel_initializer=init(seed + 1)),
    ], name="cas_classifier")


def train_small_classifier(images: np.ndarray, labels: np.ndarray, *, epochs: int = 20, batch_size: int = 64,
                           seed: int = 0) -> keras.Model:
    """Fit :func:`build_small_classifier` on ``images`` (any course range) and integer ``labels``.

    Shuffling comes from a seeded numpy generator, so the same data and seed give the same model.
    """
    x = to_judge_input(images).reshape(len(images), -1)
    y = np.asarray(labels, int)
    if len(y) != len(x):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    model = build_small_classifier(seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        model.fit(x[order], y[order], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return model


def _classifier_accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    x = to_judge_input(images).reshape(len(images), -1)
    predicted = np.asarray(model(x, training=False)).argmax(1)
    return float((predicted == np.asarray(labels, int)).mean())


@dataclass
class ClassificationAccuracyScore:
    """Ravuri & Vinyals (2019): a classifier trained on generated digits, tested on real held-out ones."""

    cas: float  # accuracy on real held-out digits of the classifier trained on generated ones
    real_baseline: float  # the same classifier trained on as many real training digits
    n_train: int
    n_test: int
    epochs: int

    def __str__(self) -> str:
        return (f"classification accuracy score (CAS): {100 * self.cas:.1f}% on {self.n_test:,} real held-out digits "
                f"for a classifier trained on {self.n_train:,} generated digits   [same classifier trained on "
                f"{self.n_train:,} real training digits: {100 * self.real_baseline:.1f}%; MLP, {self.epochs} epochs]")


def classification_accuracy_score(generated: np.ndarray, generated_labels: np.ndarray, real_heldout: np.ndarray,
                                  heldout_labels: np.ndarray, real_train: np.ndarray, train_labels: np.ndarray, *,
                                  epochs: int = 20, seed: int = 0) -> ClassificationAccuracyScore:
    """CAS of labelled generated digits, beside the real-data baseline at the same training size.

    Label accuracy asks "does the judge agree with the label?"; a generator that draws one perfect
    prototype per class scores ≈100 % there. CAS asks "do the samples carry what a classifier needs
    to recognise *real* digits?", which prototypes do not. The baseline trains the same small
    classifier on ``len(generated)`` real training digits (drawn at random with ``seed``).
    A few seconds for 1,000 images on a 2-core CPU.
    """
    n = len(generated)
    if n > len(real_train):
        raise ValueError(f"{n} generated images but only {len(real_train)} real training digits for the baseline: "
                         "pass fewer generated images")
    generated_model = train_small_classifier(generated, generated_labels, epochs=epochs, seed=seed)
    rows = np.random.default_rng(seed).choice(len(real_train), n, replace=False)
    real_model = train_small_classifier(real_train[rows], np.asarray(train_labels)[rows], epochs=epochs, seed=seed)
    return ClassificationAccuracyScore(_classifier_accuracy(generated_model, real_heldout, heldout_labels),
                                       _classifier_accuracy(real_model, real_heldout, heldout_labels),
                                       n, len(real_heldout), epochs)


# --------------------------------------------------------------------------- checkerboard artefacts


def nyquist_share(images: np.ndarray) -> np.ndarray:
    """Per image: the share of its variation that flips sign from one pixel to the next (a checkerboard).

    A transpose convolution of stride 2 gives even and odd output pixels different sums of kernel
    taps, so its output carries a pattern of period 2: energy at the three Nyquist frequencies of
    the 2-D spectrum, (½, 0), (0, ½) and (½, ½) cycles per pixel. With x the image minus its mean
    (in [0, 1] units), the share is (c_col² + c_row² + c_both²) / mean(x²), where
    c_col = mean(x · (−1)^column), c_row = mean(x · (−1)^row), c_both = mean(x · (−1)^(row+column)):
    by Parseval, the fraction of the image's energy in those three of its 783 non-constant Fourier
    components (white noise: 3/783 ≈ 0.004; smooth strokes: far less). Blank images give 0.
    """
    x = to_display_range(images).astype(np.float64)
    x = x.reshape(len(x), 28, 28) if x.ndim == 2 else x.reshape(len(x), x.shape[-2], x.shape[-1])
    rows, cols = x.shape[1:]
    if rows % 2 or cols % 2:
        raise ValueError(f"nyquist_share needs even image sides, got {rows}×{cols}")
    x = x - x.mean(axis=(1, 2), keepdims=True)
    sign_c, sign_r = (-1.0) ** np.arange(cols), (-1.0) ** np.arange(rows)
    c_col = (x * sign_c[None, None, :]).mean(axis=(1, 2))
    c_row = (x * sign_r[None, :, None]).mean(axis=(1, 2))
    c_both = (x * np.outer(sign_r, sign_c)[None]).mean(axis=(1, 2))
    energy = (x**2).mean(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (c_col**2 + c_row**2 + c_both**2) / energy
    return np.where(energy > 1e-12, share, 0.0)


def checkerboard_score(images: np.ndarray) -> float:
    """Mean :func:`nyquist_share` of a set of images, in per cent (real MNIST digits: ≈ 0.02 %)."""
    return 100.0 * float(nyquist_share(images).mean())
