"""helpers.evaluation: properties a wrong implementation would break."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import data, evaluation, weights

HAS_JUDGE = evaluation.judge_name("mnist") in weights.registry()


def _gaussian(n, d=6, shift=0.0, scale=1.0, seed=0):
    return np.random.default_rng(seed).normal(shift, scale, size=(n, d))


def test_frechet_of_a_set_with_itself_is_zero():
    a = _gaussian(500)
    assert evaluation.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_is_symmetric():
    a, b = _gaussian(400, seed=1), _gaussian(300, shift=0.5, scale=1.5, seed=2)
    assert evaluation.frechet_distance(a, b) == pytest.approx(evaluation.frechet_distance(b, a), rel=1e-6)


def test_frechet_matches_closed_form_for_a_shift():
    a = _gaussian(2000, d=4, seed=3)
    b = a + np.array([1.0, 2.0, 0.0, 0.0])  # same covariance, mean moved: distance = |shift|^2 = 5
    assert evaluation.frechet_distance(a, b) == pytest.approx(5.0, rel=1e-6)


def test_frechet_matches_closed_form_for_scaled_1d():
    a = _gaussian(4000, d=1, seed=4)
    a -= a.mean()  # centred, so scaling leaves the mean at 0
    b = 3.0 * a  # variances s and 9s: distance = s + 9s - 2*3s = 4s
    s = float(np.var(a, ddof=1))
    assert evaluation.frechet_distance(a, b) == pytest.approx(4 * s, rel=1e-6)


def test_frechet_grows_with_corruption():
    a = _gaussian(800, seed=5)
    distances = [evaluation.frechet_distance(a, a + _gaussian(800, scale=s, seed=6)) for s in (0.1, 0.5, 1.0, 2.0)]
    assert distances == sorted(distances) and distances[0] < 0.1 < distances[-1]


def test_frechet_rejects_bad_shapes():
    with pytest.raises(ValueError, match="same D"):
        evaluation.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        evaluation.frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


def test_class_coverage_collapse_and_spread():
    collapsed = evaluation.class_coverage(np.full(100, 7))
    assert collapsed.classes_present == 1 and collapsed.entropy_bits == 0.0
    even = evaluation.class_coverage(np.repeat(np.arange(10), 30))
    assert even.classes_present == 10 and even.entropy_bits == pytest.approx(np.log2(10))
    assert "10/10" in str(even)


def test_to_judge_input_ranges():
    x = np.full((2, 784), -1.0, np.float32)
    out = evaluation.to_judge_input(x)
    assert out.shape == (2, 28, 28, 1) and out.max() == 0.0


@pytest.fixture(scope="module")
def setup():
    judge = evaluation.load_judge("mnist", verbose=False)
    (x_train, y_train), (x_test, y_test) = data.load_mnist("mnist", download=False, verbose=False)
    return judge, x_train, y_train, x_test, y_test


@pytest.mark.skipif(not HAS_JUDGE, reason="no judge shipped yet: python scripts/train_judge.py")
class TestShippedJudge:

    def test_accuracy_on_the_test_split(self, setup):
        judge, _, _, x_test, y_test = setup
        accuracy = judge.accuracy(x_test, y_test)
        assert accuracy >= 0.97
        assert accuracy == pytest.approx(judge.info["test_accuracy"], abs=0.002)

    def test_label_accuracy_of_real_digits_equals_judge_accuracy(self, setup):
        judge, _, _, x_test, y_test = setup
        result = evaluation.label_accuracy(judge, x_test, y_test)
        assert result.overall == pytest.approx(judge.accuracy(x_test, y_test))
        assert np.all(result.per_label > 0.9)

    def test_judge_accepts_every_value_range(self, setup):
        judge, _, _, x_test, _ = setup
        uint8 = judge.predict_labels(x_test[:50])
        symmetric = judge.predict_labels(data.scale_to_symmetric(x_test[:50]))
        unit_flat = judge.predict_labels(data.flatten(data.scale_to_unit(x_test[:50])))
        assert np.array_equal(uint8, symmetric) and np.array_equal(uint8, unit_flat)

    def test_frechet_scale_and_corruption(self, setup):
        judge, x_train, _, x_test, _ = setup
        rng = np.random.default_rng(0)
        clean = evaluation.frechet_report(judge, x_train, x_test, n=500, repeats=1)
        noisy_images = np.clip(x_train.astype(float) + rng.normal(0, 80, x_train.shape), 0, 255).astype(np.uint8)
        noisy = evaluation.frechet_report(judge, noisy_images, x_test, n=500, repeats=1)
        assert noisy.distance > 3 * clean.floor
        assert clean.distance < noisy.distance
        assert noisy.floor == clean.floor  # same seed: the same held-out split A, B

    def test_frechet_report_uses_disjoint_heldout_sets_at_equal_n(self, setup):
        judge, x_train, _, x_test, _ = setup
        report = evaluation.frechet_report(judge, x_train, x_test, x_train, n=1000, seed=3, repeats=8)
        assert report.n == evaluation.max_frechet_n(len(x_train), len(x_test)) == len(x_test) // 2
        assert report.n_requested == 1000 and "capped from 1,000" in str(report)
        # A and B never share a digit: B vs A is a real distance, not 0 (A vs A would be 0)
        assert report.floor > 1.0 and np.isfinite(report.floor_spread) and report.floor_spread > 0
        assert report.spread > 0 and report.train_vs_heldout is not None
        text = str(report)
        for needle in ("held-out A", "held-out B vs A", "never saw", "random splits", f"n = {report.n:,}"):
            assert needle in text, needle
        assert report.generated_vs_test == report.distance  # old names still answer
        assert report.train_vs_test == report.train_vs_heldout
        with pytest.raises(ValueError, match="n must be at least 2"):
            evaluation.frechet_report(judge, x_train, x_test, n=1)

    def test_heldout_floor_does_not_separate_real_digits_from_real_digits(self, setup):
        """Real training digits used as 'generated' land within a few spreads of the held-out floor."""
        judge, x_train, _, x_test, _ = setup
        report = evaluation.frechet_report(judge, x_train, x_test, n=400, seed=1, repeats=8)
        assert abs(report.distance - report.floor) < 3 * (report.floor_spread + report.spread)

    def test_within_class_diversity_real_is_one_and_prototypes_are_zero(self, setup):
        judge, _, _, x_test, y_test = setup
        real = evaluation.within_class_diversity(judge, x_test[::2], x_test[1::2], generated_labels=y_test[::2],
                                                 real_labels=y_test[1::2])
        assert 0.9 < real.ratio < 1.1 and np.all(np.isfinite(real.per_class))
        prototypes = np.concatenate([np.repeat(x_test[y_test == c][:1], 30, axis=0) for c in range(10)])
        requested = np.repeat(np.arange(10), 30)
        collapsed = evaluation.within_class_diversity(judge, prototypes, x_test, generated_labels=requested,
                                                      real_labels=y_test)
        assert collapsed.ratio < 0.01
        # ...while class coverage and label accuracy see nothing wrong:
        assert evaluation.class_coverage(judge.predict_labels(prototypes)).classes_present == 10
        assert evaluation.label_accuracy(judge, prototypes, requested).overall >= 0.9
        assert "0.00 of real" in str(collapsed) and "requested labels" in str(collapsed)
        by_judge = evaluation.within_class_diversity(judge, prototypes, x_test)
        assert by_judge.ratio < 0.2 and "predicted labels" in by_judge.label_source

    def test_classification_accuracy_score_sees_through_prototypes(self, setup):
        judge, x_train, y_train, x_test, y_test = setup
        prototypes = np.concatenate([np.repeat(x_test[y_test == c][:1], 50, axis=0) for c in range(10)])
        requested = np.repeat(np.arange(10), 50)
        assert evaluation.label_accuracy(judge, prototypes, requested).overall >= 0.9
        score = evaluation.classification_accuracy_score(prototypes, requested, x_test, y_test, x_train, y_train,
                                                         epochs=10, seed=0)
        assert score.real_baseline > 0.8  # 500 real digits teach the MLP most of MNIST
        assert score.cas < score.real_baseline - 0.15  # 10 prototypes do not
        assert "CAS" in str(score) and "real training digits" in str(score)
        again = evaluation.classification_accuracy_score(prototypes, requested, x_test, y_test, x_train, y_train,
                                                         epochs=10, seed=0)
        assert again.cas == pytest.approx(score.cas, abs=0.01)  # seeded: (nearly) the same number

    def test_real_digits_cover_all_classes_and_one_class_does_not(self, setup):
        judge, _, _, x_test, y_test = setup
        assert evaluation.class_coverage(judge.predict_labels(x_test)).classes_present == 10
        ones = x_test[y_test == 1]
        assert evaluation.class_coverage(judge.predict_labels(ones)).classes_present <= 2

    def test_label_accuracy_length_mismatch(self, setup):
        judge, _, _, x_test, _ = setup
        with pytest.raises(ValueError, match="requested labels"):
            evaluation.label_accuracy(judge, x_test[:5], np.zeros(4, int))


def test_nearest_distances_finds_copies_and_is_range_independent():
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    copies = reference[:5]
    assert np.allclose(evaluation.nearest_distances(copies, reference), 0, atol=1e-3)
    as_symmetric = data.scale_to_symmetric(copies)
    assert np.allclose(evaluation.nearest_distances(as_symmetric, reference), 0, atol=1e-3)
    shifted = np.roll(reference[:5], 3, axis=2)
    assert (evaluation.nearest_distances(shifted, reference) > 1.0).all()


def _shipped():
    return [n for n, info in weights.registry().items()
            if not n.startswith(("judge", "failure_")) and info["dataset"] == "mnist"]  # failures: test_failures.py


@pytest.mark.parametrize("name", _shipped())
def test_every_shipped_model_samples_images(name):
    model = weights.load_model(name, verbose=False)
    kind = evaluation.model_kind(model)
    images = evaluation.sample_images(model, 20, seed=1)
    assert images.reshape(20, -1).shape == (20, 784), (name, kind)
    assert np.isfinite(images).all() and images.std() > 0.05, "samples must not be blank"
    again = evaluation.sample_images(model, 20, seed=1)
    np.testing.assert_allclose(images, again, atol=1e-5)  # same seed, same images


def test_knn_label_accuracy_separated_versus_mixed_codes():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 40)
    separated = np.eye(10)[labels] * 10 + rng.normal(0, 0.1, (400, 10))
    assert evaluation.knn_label_accuracy(separated[::2], labels[::2], separated[1::2], labels[1::2]) == 1.0
    mixed = rng.normal(size=(400, 10))
    assert evaluation.knn_label_accuracy(mixed[::2], labels[::2], mixed[1::2], labels[1::2]) < 0.3
    with pytest.raises(ValueError, match="one label per code"):
        evaluation.knn_label_accuracy(mixed, labels[:10], mixed, labels)


def test_mean_pairwise_distance_small_cases():
    assert evaluation.mean_pairwise_distance(np.zeros((5, 3))) == 0.0
    points = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])  # pairs: 5, 0, 5
    assert evaluation.mean_pairwise_distance(points) == pytest.approx(10 / 3)
    with pytest.raises(ValueError, match="N >= 2"):
        evaluation.mean_pairwise_distance(np.zeros((1, 3)))


def test_train_small_classifier_learns_separable_labels_and_checks_lengths():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    images = np.zeros((200, 28, 28), np.float32)
    images[np.arange(200), labels * 2, 5:20] = 1.0  # class c: a bright row at height 2c
    images += rng.uniform(0, 0.2, images.shape).astype(np.float32)
    model = evaluation.train_small_classifier(images, labels, epochs=10)
    predicted = np.asarray(model(images.reshape(200, -1))).argmax(1)
    assert (predicted == labels).mean() > 0.95
    with pytest.raises(ValueError, match="labels"):
        evaluation.train_small_classifier(images, labels[:5], epochs=1)


def _stride2_upsampled(smooth: np.ndarray, kind: str, kernel_size: int) -> np.ndarray:
    """A smooth (N, 14, 14) input doubled to 28×28 by one layer with a uniform kernel (Odena et al. 2016)."""
    import keras

    x = smooth[..., None].astype(np.float32)
    ones = keras.initializers.Ones()
    if kind == "transpose":
        layer = keras.layers.Conv2DTranspose(1, kernel_size, strides=2, padding="same", use_bias=False,
                                             kernel_initializer=ones)
        return np.asarray(layer(x))[..., 0]
    up = keras.layers.UpSampling2D()(x)
    conv = keras.layers.Conv2D(1, kernel_size, padding="same", use_bias=False, kernel_initializer=ones)
    return np.asarray(conv(up))[..., 0]


def test_checkerboard_score_separates_uneven_overlap_from_smooth_upsampling():
    """A uniform 3×3 transpose kernel at stride 2 overlaps unevenly (1, 2, 1, 2 ... taps): a checkerboard on
    every stroke. A 4×4 kernel overlaps evenly and upsample + conv not at all: both stay at real digits' level."""
    (_, _), (x_test, _) = data.load_mnist("mnist", download=False, verbose=False)
    digits = data.scale_to_unit(x_test[:200])
    smooth = digits.reshape(200, 14, 2, 14, 2).mean(axis=(2, 4))  # 2×2 average: a 14×14 smooth input
    real = evaluation.checkerboard_score(digits)
    uneven = evaluation.checkerboard_score(_stride2_upsampled(smooth, "transpose", 3))
    even = evaluation.checkerboard_score(_stride2_upsampled(smooth, "transpose", 4))
    upsampled = evaluation.checkerboard_score(_stride2_upsampled(smooth, "upsample", 3))
    assert real < 0.1 and even < 0.1 and upsampled < 0.1
    assert uneven > 20 * max(real, even, upsampled)


def test_nyquist_share_known_patterns():
    board = np.indices((28, 28)).sum(0) % 2  # a pure pixel checkerboard: all variation at (½, ½)
    stripes = np.tile(np.arange(28) % 2, (28, 1))  # columns alternate: all variation at (0, ½)
    smooth = np.tile(np.linspace(0, 1, 28), (28, 1))
    shares = evaluation.nyquist_share(np.stack([board, stripes, smooth, np.zeros((28, 28))]).astype(np.float32))
    np.testing.assert_allclose(shares[:2], 1.0, atol=1e-9)
    assert shares[2] < 0.01 and shares[3] == 0.0
    noise = np.random.default_rng(0).uniform(0, 1, (400, 28, 28)).astype(np.float32)
    assert evaluation.nyquist_share(noise).mean() == pytest.approx(3 / 783, rel=0.15)  # Parseval: 3 of 783


def test_copy_check_tells_copies_from_fresh_digits():
    (x_train, _), (x_test, _) = data.load_mnist("mnist")  # sorted by class: draw random, disjoint sets
    order = np.random.default_rng(0).permutation(len(x_train))
    train, others, heldout = x_train[order[:500]], x_train[order[500:600]], x_test[::2]
    copies = evaluation.copy_check(train[:100], train, heldout)  # every reference training digit is used: n = 500
    assert copies.n_reference == 500 and copies.to_train < 1e-3 and copies.ratio < 1e-3
    fresh = evaluation.copy_check(others, train, heldout)  # real digits neither set holds
    assert 0.85 < fresh.ratio < 1.15, fresh
    assert "ratio" in str(fresh)
    with pytest.raises(ValueError, match="need generated images"):
        evaluation.copy_check(train[:0], train, heldout)
