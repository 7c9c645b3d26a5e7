"""The ELBO checked where log p(x) is exact: a linear-Gaussian VAE, i.e. probabilistic PCA (04's companion).

Decoder ``p(x | z) = N(W z + mu, sigma^2 I)`` with prior ``p(z) = N(0, I)``. Then ``p(x) = N(mu, W W^T + sigma^2 I)``
and the true posterior ``p(z | x) = N(M^-1 W^T (x - mu), sigma^2 M^-1)`` with ``M = W^T W + sigma^2 I`` (Tipping &
Bishop 1999), so the lecture's identity ``log p(x) - KL(q || p(z|x)) = E_q[log p(x|z)] - KL(q || p(z))`` can be
checked term by term, in closed form and by Monte Carlo. A VAE's encoder is a diagonal Gaussian; the best
diagonal one (:meth:`LinearGaussian.best_diagonal_encoder`) keeps a gap that is zero only when W's columns are
orthogonal: the price of the diagonal, not of training. Everything is float64 numpy: the checks are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from .plotting import _detached as detached  # closed in pyplot: shown once, where the notebook displays it

LOG_2PI = float(np.log(2 * np.pi))


def _log_normal(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(x; mean, cov) per row of x (full covariance)."""
    chol = np.linalg.cholesky(cov)
    solved = np.linalg.solve(chol, (x - mean).T)  # (d, n)
    return -0.5 * (np.sum(solved**2, axis=0) + 2 * np.sum(np.log(np.diag(chol))) + len(cov) * LOG_2PI)


def _log_diagonal_normal(x: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """log N(x; mean, diag(variance)), summed over the last axis."""
    return -0.5 * np.sum((x - mean) ** 2 / variance + np.log(variance) + LOG_2PI, axis=-1)


def kl_to_standard_normal(mean: np.ndarray, log_variance: np.ndarray) -> np.ndarray:
    """The lecture's closed form, KL(N(mean, diag(exp(v))) || N(0, I)) = 1/2 sum(exp(v) + mean^2 - 1 - v)."""
    return 0.5 * np.sum(np.exp(log_variance) + mean**2 - 1 - log_variance, axis=-1)


def kl_monte_carlo(mean: np.ndarray, log_variance: np.ndarray, n_samples: int, rng: np.random.Generator):
    """The same KL as an average of ``log q(z) - log p(z)`` over ``z ~ q``: (estimate, its standard error)."""
    std = np.exp(0.5 * log_variance)
    z = mean + std * rng.standard_normal((n_samples, *np.shape(mean)))
    terms = _log_diagonal_normal(z, mean, np.exp(log_variance)) - _log_diagonal_normal(z, 0.0, 1.0)
    return float(terms.mean()), float(terms.std(ddof=1) / np.sqrt(n_samples))


@dataclass(frozen=True)
class DiagonalEncoder:
    """``q(z | x) = N(A (x - mu) + b, diag(variance))``: a linear VAE encoder with a fixed diagonal variance."""

    weight: np.ndarray  # A, (latent, data)
    bias: np.ndarray  # b, (latent,)
    variance: np.ndarray  # (latent,)


@dataclass(frozen=True)
class LinearGaussian:
    """Probabilistic PCA: ``z ~ N(0, I_k)``, ``x = W z + mu + noise``, ``noise ~ N(0, noise_variance I_d)``."""

    W: np.ndarray  # (d, k)
    mu: np.ndarray  # (d,)
    noise_variance: float

    @staticmethod
    def random(data_dim: int = 5, latent_dim: int = 2, noise_variance: float = 0.25, *,
               orthogonal: bool = False, seed: int = 0) -> LinearGaussian:
        """A random model; ``orthogonal=True`` gives W orthogonal columns (then the diagonal encoder is exact)."""
        if latent_dim > data_dim:
            raise ValueError(f"latent_dim={latent_dim} > data_dim={data_dim}: PPCA compresses, k must be at most d")
        rng = np.random.default_rng(seed)
        W = rng.standard_normal((data_dim, latent_dim))
        if orthogonal:
            q, _ = np.linalg.qr(W)
            W = q * np.linalg.norm(W, axis=0)  # orthogonal columns, the random lengths kept
        return LinearGaussian(W, rng.standard_normal(data_dim), noise_variance)

    @property
    def latent_dim(self) -> int:
        return self.W.shape[1]

    def _M(self) -> np.ndarray:
        return self.W.T @ self.W + self.noise_variance * np.eye(self.latent_dim)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((n, self.latent_dim))
        return z @ self.W.T + self.mu + np.sqrt(self.noise_variance) * rng.standard_normal((n, len(self.mu)))

    def log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """Exact log p(x) = log N(x; mu, W W^T + sigma^2 I), per row."""
        cov = self.W @ self.W.T + self.noise_variance * np.eye(len(self.mu))
        return _log_normal(x, self.mu, cov)

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The true p(z | x): means (n, k) and the covariance (k, k), which is the same for every x."""
        M_inv = np.linalg.inv(self._M())
        return (x - self.mu) @ (M_inv @ self.W.T).T, self.noise_variance * M_inv

    def best_diagonal_encoder(self) -> DiagonalEncoder:
        """The diagonal q closest to the posterior in KL(q || p): its mean, and variances 1 / diag(precision)."""
        M = self._M()
        return DiagonalEncoder(np.linalg.solve(M, self.W.T), np.zeros(self.latent_dim),
                               self.noise_variance / np.diag(M))

    def encoder_mean(self, x: np.ndarray, encoder: DiagonalEncoder) -> np.ndarray:
        """The mean of q(z | x), ``A (x - mu) + b``, per row."""
        return (x - self.mu) @ encoder.weight.T + encoder.bias

    def elbo(self, x: np.ndarray, encoder: DiagonalEncoder) -> np.ndarray:
        """Closed-form ELBO = E_q[log p(x|z)] - KL(q || p(z)), per row."""
        mean = self.encoder_mean(x, encoder)
        residual = x - self.mu - mean @ self.W.T
        d = len(self.mu)
        expected_log_lik = -0.5 * (d * (LOG_2PI + np.log(self.noise_variance))
                                   + (np.sum(residual**2, axis=1)
                                      + np.sum(np.sum(self.W**2, axis=0) * encoder.variance)) / self.noise_variance)
        return expected_log_lik - kl_to_standard_normal(mean, np.log(encoder.variance))

    def kl_to_posterior(self, x: np.ndarray, encoder: DiagonalEncoder) -> np.ndarray:
        """KL(q(z|x) || p(z|x)) between two Gaussians, per row: the ELBO's gap to log p(x)."""
        q_mean = self.encoder_mean(x, encoder)
        p_mean, p_cov = self.posterior(x)
        p_precision = np.linalg.inv(p_cov)
        diff = p_mean - q_mean
        return 0.5 * (np.trace(p_precision * encoder.variance) + np.einsum("ni,ij,nj->n", diff, p_precision, diff)
                      - self.latent_dim + np.linalg.slogdet(p_cov)[1] - np.sum(np.log(encoder.variance)))

    def _log_weights(self, x: np.ndarray, encoder: DiagonalEncoder, k: int, rng: np.random.Generator):
        """log p(x, z_i) - log q(z_i | x) for k draws z_i ~ q(z | x) per row: shape (n, k)."""
        mean = self.encoder_mean(x, encoder)
        z = mean[:, None, :] + np.sqrt(encoder.variance) * rng.standard_normal((len(x), k, self.latent_dim))
        log_joint = (_log_diagonal_normal(x[:, None, :], z @ self.W.T + self.mu, self.noise_variance)
                     + _log_diagonal_normal(z, 0.0, 1.0))
        return log_joint - _log_diagonal_normal(z, mean[:, None, :], encoder.variance)

    def elbo_monte_carlo(self, x, encoder: DiagonalEncoder, n_samples: int, rng: np.random.Generator):
        """The ELBO as a VAE estimates it, by sampling z ~ q: per-row averages over ``n_samples`` draws."""
        return self._log_weights(x, encoder, n_samples, rng).mean(axis=1)

    def importance_weighted(self, x, encoder: DiagonalEncoder, k: int, rng: np.random.Generator) -> np.ndarray:
        """Burda et al.: log (1/k sum_i p(x, z_i) / q(z_i | x)) per row: the ELBO at k = 1, log p(x) as k grows."""
        if k < 1:
            raise ValueError(f"k={k}: the importance-weighted bound needs at least one sample")
        log_w = self._log_weights(x, encoder, k, rng)
        top = log_w.max(axis=1, keepdims=True)
        return (top + np.log(np.mean(np.exp(log_w - top), axis=1, keepdims=True))).ravel()


def _ellipse(mean: np.ndarray, cov: np.ndarray, radius: float) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, 200)
    return mean + radius * np.stack([np.cos(angles), np.sin(angles)], 1) @ np.linalg.cholesky(cov).T


def posterior_figure(model: LinearGaussian, encoder: DiagonalEncoder, x: np.ndarray) -> plt.Figure:
    """For one x (2-D codes only): the true posterior's 1- and 2-sigma contours beside the encoder's."""
    if model.latent_dim != 2:
        raise ValueError(f"posterior_figure draws 2-D codes; this model has {model.latent_dim}")
    x = np.asarray(x, dtype="float64").reshape(1, -1)
    p_mean, p_cov = model.posterior(x)
    q_mean = model.encoder_mean(x, encoder)
    fig, ax = plt.subplots(figsize=(4, 4))
    for radius, style in ((1, "-"), (2, ":")):
        ax.plot(*_ellipse(p_mean[0], p_cov, radius).T, color="black", linestyle=style,
                label="true posterior p(z|x)" if radius == 1 else None)
        ax.plot(*_ellipse(q_mean[0], np.diag(encoder.variance), radius).T, color="tab:blue", linestyle=style,
                label="best diagonal q(z|x)" if radius == 1 else None)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return detached(fig)
