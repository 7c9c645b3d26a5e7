"""The 2-D ring of 8 Gaussians: a toy where a GAN's mode coverage can be counted exactly.

The data are 8 tight Gaussians on a circle (Metz et al., 2017, *Unrolled GANs*; the standard toy for mode
collapse). Every generated point is assigned to its nearest mode; it is **high quality** if it lies within 3
standard deviations of that mode (true of 98.9 % of the data's own points: 1 - exp(-9/2) in 2-D), and a mode is
**covered** when it holds at least ``min_share`` of the high-quality points that a perfect generator would put
there (1/8 each). Counting needs no judge and no features: a collapsed generator shows as 1-3 modes, a spread-out
one as a low high-quality share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .environment import quiet_tensorflow

quiet_tensorflow()
import keras  # noqa: E402

MODES, RADIUS, STD = 8, 2.0, 0.02


def mode_centres(modes: int = MODES, radius: float = RADIUS) -> np.ndarray:
    angles = 2 * np.pi * np.arange(modes) / modes
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype("float32")


def sample_ring(n: int, rng: np.random.Generator, modes: int = MODES, radius: float = RADIUS,
                std: float = STD) -> np.ndarray:
    """``n`` points, each from one of the ring's Gaussians chosen uniformly."""
    centres = mode_centres(modes, radius)
    return (centres[rng.integers(0, modes, n)] + std * rng.standard_normal((n, 2))).astype("float32")


@dataclass(frozen=True)
class ModeReport:
    modes_covered: int  # of MODES
    high_quality: float  # share of points within 3 std of their nearest mode
    counts: tuple[int, ...]  # high-quality points per mode

    def __str__(self) -> str:
        return (f"{self.modes_covered} of {len(self.counts)} modes covered, "
                f"{self.high_quality:.0%} of points high quality")


def mode_report(points: np.ndarray, modes: int = MODES, radius: float = RADIUS, std: float = STD,
                min_share: float = 0.25) -> ModeReport:
    """Count covered modes and the high-quality share (see the module's docstring)."""
    points = np.asarray(points, dtype="float64")
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"mode_report needs (N, 2) points, got shape {points.shape}")
    distances = np.linalg.norm(points[:, None, :] - mode_centres(modes, radius)[None], axis=-1)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(points)), nearest] <= 3 * std
    counts = np.bincount(nearest[good], minlength=modes)
    covered = int(np.sum(counts >= min_share * len(points) / modes))
    return ModeReport(covered, float(good.mean()), tuple(int(c) for c in counts))


def build_generator(latent_dim: int = 2, hidden: int = 128) -> keras.Model:
    """A small MLP: noise -> a point in the plane (no output activation: the ring has radius 2)."""
    return keras.Sequential([keras.Input(shape=(latent_dim,)), keras.layers.Dense(hidden, activation="relu"),
                             keras.layers.Dense(hidden, activation="relu"), keras.layers.Dense(2)],
                            name="ring_generator")


def build_discriminator(hidden: int = 128, *, probability: bool = True, spectral: bool = False) -> keras.Model:
    """A small MLP on points: a probability (the GAN's D) or a raw score (WGAN's critic, ``probability=False``);
    ``spectral`` wraps each weight layer in ``keras.layers.SpectralNormalization``."""
    wrap = keras.layers.SpectralNormalization if spectral else (lambda layer: layer)
    layers = [keras.Input(shape=(2,)), wrap(keras.layers.Dense(hidden)), keras.layers.LeakyReLU(0.2),
              wrap(keras.layers.Dense(hidden)), keras.layers.LeakyReLU(0.2), wrap(keras.layers.Dense(1))]
    if probability:
        layers.append(keras.layers.Activation("sigmoid"))
    return keras.Sequential(layers, name="ring_critic" if not probability else "ring_discriminator")
