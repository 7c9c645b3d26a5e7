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
        clean = evaluation.frechet_report(judge, x_test, x_test, x_train, n=500)
        noisy_images = np.clip(x_test.astype(float) + rng.normal(0, 80, x_test.shape), 0, 255).astype(np.uint8)
        noisy = evaluation.frechet_report(judge, noisy_images, x_test, x_train, n=500)
        assert noisy.generated_vs_test > 3 * clean.train_vs_test
        assert clean.generated_vs_test < noisy.generated_vs_test

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
    return [n for n, info in weights.registry().items() if not n.startswith("judge") and info["dataset"] == "mnist"]


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
