"""The maths of 01 and 04 checked on toys where every quantity is exact (helpers/toy_gan.py, helpers/toy_vae.py).

The tolerances of the sampled and trained quantities carry the values measured over five seeds (0-4) beside them:
benchmarks/toy_margins.py prints them again.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from helpers import toy_gan, toy_vae  # noqa: E402

DATA = toy_gan.Gaussian(0.0, 1.0)
GENERATORS = [toy_gan.Gaussian(3.0, 1.0), toy_gan.Gaussian(1.0, 1.5), toy_gan.Gaussian(0.3, 1.0),
              toy_gan.Gaussian(-2.0, 0.5)]


@pytest.mark.parametrize("generator", GENERATORS)
def test_the_value_at_the_optimal_discriminator_is_minus_log_4_plus_twice_the_jsd(generator):
    best = toy_gan.value(lambda x: toy_gan.optimal_discriminator(DATA, generator, x), DATA, generator)
    jsd = toy_gan.jensen_shannon(DATA, generator)
    assert 0 < jsd < np.log(2)
    assert best == pytest.approx(-toy_gan.LOG_4 + 2 * jsd, abs=1e-7)


def test_the_jsd_runs_from_zero_for_equal_densities_to_log_2_for_disjoint_ones():
    assert toy_gan.jensen_shannon(DATA, DATA) == pytest.approx(0, abs=1e-9)
    assert toy_gan.jensen_shannon(DATA, toy_gan.Gaussian(60.0, 1.0)) == pytest.approx(np.log(2), abs=1e-6)
    assert toy_gan.value(lambda x: np.full_like(x, 0.5), DATA, DATA) == pytest.approx(-toy_gan.LOG_4, abs=1e-7)


@pytest.mark.parametrize("slope, offset", [(0.0, 0.0), (-1.0, 0.5), (2.0, -1.0), (-0.7, 1.2)])
def test_no_discriminator_scores_above_the_optimal_one(slope, offset):
    generator = GENERATORS[1]
    other = toy_gan.value(lambda x: 1 / (1 + np.exp(-(slope * x + offset))), DATA, generator)
    best = toy_gan.value(lambda x: toy_gan.optimal_discriminator(DATA, generator, x), DATA, generator)
    assert other < best


def test_a_discriminator_trained_on_samples_reaches_the_formulas():
    generator = GENERATORS[1]
    trained = toy_gan.as_function(toy_gan.train_discriminator(DATA, generator, steps=1_000, seed=0))
    # 15 runs (the companion's three generators x seeds 0-4): |V - (-log 4 + 2 JSD)| at most 0.0008 nats,
    # weighted mean |D - D*| at most 0.008 (part K of benchmarks/RESULTS.md)
    target = -toy_gan.LOG_4 + 2 * toy_gan.jensen_shannon(DATA, generator)
    assert abs(toy_gan.value(trained, DATA, generator) - target) < 0.003
    assert toy_gan.weighted_error(trained, DATA, generator) < 0.03
    # and it is a real check: a discriminator that has not trained misses both
    untrained = toy_gan.as_function(toy_gan.train_discriminator(DATA, generator, steps=1, seed=0))
    assert toy_gan.weighted_error(untrained, DATA, generator) > 0.1


def test_bad_toy_settings_are_named():
    with pytest.raises(ValueError, match="standard deviation must be positive"):
        toy_gan.Gaussian(0.0, 0.0)
    with pytest.raises(ValueError, match="steps=0"):
        toy_gan.train_discriminator(DATA, DATA, steps=0)
    with pytest.raises(ValueError, match="k must be at most d"):
        toy_vae.LinearGaussian.random(data_dim=2, latent_dim=3)
    model = toy_vae.LinearGaussian.random(seed=0)
    with pytest.raises(ValueError, match="at least one sample"):
        model.importance_weighted(model.sample(3, np.random.default_rng(0)), model.best_diagonal_encoder(), 0,
                                  np.random.default_rng(0))
    with pytest.raises(ValueError, match="draws 2-D codes"):
        three = toy_vae.LinearGaussian.random(latent_dim=3, seed=0)
        toy_vae.posterior_figure(three, three.best_diagonal_encoder(), np.zeros(5))


@pytest.fixture(scope="module")
def ppca():
    model = toy_vae.LinearGaussian.random(data_dim=5, latent_dim=2, noise_variance=0.25, seed=0)
    return model, model.sample(2_000, np.random.default_rng(1))


def test_the_lectures_identity_holds_exactly_for_any_encoder(ppca):
    model, x = ppca
    best = model.best_diagonal_encoder()
    worse = toy_vae.DiagonalEncoder(0.8 * best.weight, best.bias + 0.1, 2 * best.variance)
    for encoder in (best, worse):
        log_p, elbo, gap = model.log_likelihood(x), model.elbo(x, encoder), model.kl_to_posterior(x, encoder)
        np.testing.assert_allclose(log_p, elbo + gap, atol=1e-10)
        assert np.all(gap >= 0) and np.all(elbo <= log_p)
    assert model.kl_to_posterior(x, worse).mean() > model.kl_to_posterior(x, best).mean() + 0.1


def test_the_best_diagonal_encoders_gap_is_the_price_of_the_diagonal(ppca):
    model, x = ppca
    gap = model.kl_to_posterior(x, model.best_diagonal_encoder())
    M = model.W.T @ model.W + model.noise_variance * np.eye(2)
    hadamard = 0.5 * (np.sum(np.log(np.diag(M))) - np.linalg.slogdet(M)[1])  # > 0 unless M is diagonal
    np.testing.assert_allclose(gap, hadamard, rtol=1e-9)
    assert hadamard > 0.05
    best = model.best_diagonal_encoder()
    for scale in (0.9, 1.1):  # neither narrower nor wider variances do better
        rescaled = toy_vae.DiagonalEncoder(best.weight, best.bias, scale * best.variance)
        assert model.kl_to_posterior(x, rescaled).mean() > gap.mean()
    orthogonal = toy_vae.LinearGaussian.random(orthogonal=True, seed=0)
    w = orthogonal.W
    assert abs(w[:, 0] @ w[:, 1]) < 1e-12
    assert orthogonal.kl_to_posterior(x, orthogonal.best_diagonal_encoder()).max() < 1e-12


def test_sampled_estimates_agree_with_the_closed_forms(ppca):
    model, x = ppca
    rng = np.random.default_rng(2)
    encoder = model.best_diagonal_encoder()
    sampled, exact = model.elbo_monte_carlo(x, encoder, 100, rng), model.elbo(x, encoder)
    error = (sampled - exact).std(ddof=1) / np.sqrt(len(x))
    assert abs(sampled.mean() - exact.mean()) < 4 * error
    mean, log_var = np.array([0.5, -1.0]), np.array([-1.0, 0.6])
    estimate, kl_error = toy_vae.kl_monte_carlo(mean, log_var, 200_000, rng)
    assert abs(estimate - toy_vae.kl_to_standard_normal(mean, log_var)) < 4 * kl_error
    assert toy_vae.kl_to_standard_normal(np.zeros(3), np.zeros(3)) == 0


def test_the_importance_weighted_bound_tightens_with_k(ppca):
    model, x = ppca
    rng = np.random.default_rng(3)
    encoder = model.best_diagonal_encoder()
    log_p = model.log_likelihood(x)
    gaps = [float(np.mean(log_p - model.importance_weighted(x, encoder, k, rng))) for k in (1, 10, 100, 1000)]
    # model seeds 0-4 (part K of benchmarks/RESULTS.md): k = 1 within 0.03 of the exact gap; at k = 1,000 at most
    # 0.0092 nats, and at most 0.034 of the k = 1 gap; this model (seed 0) has the largest gap of the five
    assert gaps[0] == pytest.approx(model.kl_to_posterior(x, encoder).mean(), abs=0.08)
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3] > 0
    assert gaps[3] < 0.02 and gaps[3] < 0.1 * gaps[0]


def test_the_toy_figures_draw_what_they_say():
    model = toy_vae.LinearGaussian.random(seed=0)
    fig = toy_vae.posterior_figure(model, model.best_diagonal_encoder(), model.sample(1, np.random.default_rng(0))[0])
    assert len(fig.axes[0].lines) == 4  # two contours each for p(z|x) and q(z|x)
    wider = GENERATORS[1]
    fig = toy_gan.discriminator_figure(DATA, wider, lambda x: toy_gan.optimal_discriminator(DATA, wider, x))
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 2
