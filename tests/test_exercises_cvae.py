"""Notebook 05's exercise checks, proven both ways on small stand-ins (no training: the solutions notebook
retrains the real models; these pin each check's verdict and that it never raises on the unchanged notebook)."""

from types import SimpleNamespace

import keras
import numpy as np

from helpers.exercises import cvae as check


def test_exercise1_check_wants_exactly_the_misclassified_digits(capsys):
    per_label = np.array([[1.0, 30.0], [25.0, 3.0], [2.0, 14.0], [40.0, 1.0]])  # rows 2 and 3: best label is wrong
    y_test = np.array([0, 1, 1, 0])
    assert not check.ex1(None, per_label, y_test)
    assert not check.ex1([2], per_label, y_test)
    assert not check.ex1(None, None, y_test)  # pretrained, EVALUATE off: a hint, no exception
    result = check.ex1(np.array([3, 2]), per_label, y_test)
    assert result and result.measured["mean margin nats"] == (12 + 39) / 2
    assert "1->0 (1)" in capsys.readouterr().out


def test_exercise2_check_needs_chance_accuracy_and_a_label_that_moves_nothing():
    assert not check.ex2(SimpleNamespace(overall=0.93), 0.093)  # the unchanged notebook, exercise budget
    assert not check.ex2(0.11, 0.05)  # accuracy low but the label still changes pixels
    assert check.ex2(SimpleNamespace(overall=0.11), 0.0)  # measured without the label: 9-11 %, 0.0000


def test_exercise3_check_reads_final_kl_and_z_against_c():
    history = lambda kl: SimpleNamespace(epoch_losses={"kl": [5.0, kl]})  # noqa: E731
    assert not check.ex3(None, 0.07, 0.09)  # pretrained: no run to look at
    assert not check.ex3(history(4.2), 0.068, 0.093)  # unchanged: KL 4.0-4.3, ratio 0.68-0.74
    assert not check.ex3(history(0.006), 0.018, 0.022)  # KL gone but the decoder has not learned c yet
    assert check.ex3(history(0.0), 0.004, 0.098)  # measured with 50 KL in the exercise budget


def test_exercise4_check_refuses_a_2d_code_without_scoring_it():
    image, label = keras.Input((784,)), keras.Input((10,))
    mean = keras.layers.Dense(2)(keras.layers.Concatenate()([image, label]))
    encoder = keras.Model([image, label], [mean, mean, mean])
    result = check.ex4(encoder, None, None, None, "mnist")  # returns before any decoder call
    assert not result and result.measured == {"latent size": 2}


def test_exercise4_check_scores_a_16d_model_against_the_shipped_2d_one():
    from helpers import data, weights

    (_, _), (x_raw, y) = data.load_mnist("mnist", verbose=False)
    x, c = data.flatten(data.scale_to_unit(x_raw[:200])), data.one_hot(y[:200], 10)
    shipped = weights.load_model("cvae_2d", "mnist", verbose=False)
    # a 16-D "model" that is the shipped 2-D one padded with unused numbers: as good, not better -> ✗
    image, label = keras.Input((784,)), keras.Input((10,))
    mean2, log_var2, _ = shipped.get_layer("encoder")([image, label])
    pad = keras.layers.Dense(14, kernel_initializer="zeros", bias_initializer="zeros", trainable=False)
    mean = keras.layers.Concatenate()([mean2, pad(mean2)])
    log_var = keras.layers.Concatenate()([log_var2, pad(mean2)])
    encoder = keras.Model([image, label], [mean, log_var, mean])
    z, lab = keras.Input((16,)), keras.Input((10,))
    first2 = keras.layers.Dense(2, use_bias=False, trainable=False)
    decoder = keras.Model([z, lab], shipped.get_layer("decoder")([first2(z), lab]))
    first2.set_weights([np.eye(16, 2, dtype="float32")])
    result = check.ex4(encoder, decoder, x, c, "mnist")
    assert not result and result.measured["latent size"] == 16
    assert abs(result.measured["test -ELBO nats"] - result.measured["shipped 2-D -ELBO nats"]) < 1.0
    assert not check.ex4(encoder, decoder, x, c, "fashion_mnist")  # no shipped 2-D reference there


def test_exercise5_check_names_the_dataset_and_says_when_fashion_mnist_is_missing(monkeypatch):
    mnist = SimpleNamespace(source=SimpleNamespace(dataset="mnist"))
    fashion = SimpleNamespace(source=SimpleNamespace(dataset="fashion_mnist"))
    monkeypatch.setattr(check, "fashion_mnist_available", lambda: False)
    missing = check.ex5(mnist, 0.96)
    assert not missing and "not on this machine" in missing.message
    monkeypatch.setattr(check, "fashion_mnist_available", lambda: True)
    assert "set DATASET" in check.ex5(mnist, 0.96).message
    assert not check.ex5(fashion, 0.15)
    assert check.ex5(fashion, 0.60, 0.37)  # measured in the exercise budget: 60-61 %
