"""Figures the notebooks share. Each function returns a matplotlib Figure and never calls
``plt.show()``, so notebooks display it and tests can inspect it without a screen.

Figures are closed in pyplot before they are returned: Jupyter then shows a figure once, when
the notebook displays it (last expression or ``display(fig)``), not a second time at the end
of the cell, and a training loop that draws hundreds of figures does not keep them in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def _detached(fig: plt.Figure) -> plt.Figure:
    plt.close(fig)
    return fig


def to_display_range(images: np.ndarray, value_range: str | None = None) -> np.ndarray:
    """Bring a batch to float [0, 1] of shape (N, 28, 28), whatever its value range.

    Accepts uint8 0..255, float [0, 1] (VAE outputs) or float [-1, 1] (tanh outputs), and the
    shapes (N, 784), (N, 28, 28) and (N, 28, 28, 1). ``value_range`` ("unit" or "symmetric")
    overrides the guess, which takes any value below 0 as a sign of the [-1, 1] range.
    """
    images = np.asarray(images)
    if images.ndim == 1:
        images = images[None]
    if images.ndim == 2 and images.shape[-1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"expected (N, 784), (N, 28, 28) or (N, 28, 28, 1), got {np.shape(images)}")
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    images = images.astype(np.float32)
    if value_range not in (None, "unit", "symmetric"):
        raise ValueError(f"value_range must be 'unit', 'symmetric' or None, got {value_range!r}")
    symmetric = value_range == "symmetric" or (value_range is None and images.size and images.min() < -1e-3)
    if symmetric:
        images = (images + 1.0) / 2.0
    return np.clip(images, 0.0, 1.0)


def image_grid(
    images: np.ndarray,
    ncols: int = 10,
    *,
    titles: Sequence[str] | None = None,
    suptitle: str | None = None,
    cell_size: float = 0.9,
) -> plt.Figure:
    """A grid of images (any of the value ranges above), ``ncols`` per row."""
    images = to_display_range(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * cell_size, nrows * cell_size + (0.4 if suptitle else 0)))
    axes = np.atleast_1d(axes).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=7, pad=2)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout(pad=0.2)
    return _detached(fig)


def label_grid(
    images: np.ndarray,
    row_labels: Sequence[str],
    *,
    suptitle: str | None = None,
    cell_size: float = 0.8,
) -> plt.Figure:
    """One row per label: ``images`` has shape (rows, cols, ...) and row i is ``row_labels[i]``."""
    images = np.asarray(images)
    rows, cols = images.shape[:2]
    if len(row_labels) != rows:
        raise ValueError(f"{rows} rows of images but {len(row_labels)} row labels")
    flat = to_display_range(images.reshape(rows * cols, *images.shape[2:]))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * cell_size + 0.4, rows * cell_size + (0.4 if suptitle else 0)))
    axes = np.asarray(axes).reshape(rows, cols)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(flat[r * cols + c], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        axes[r, 0].set_ylabel(str(row_labels[r]), rotation=0, ha="right", va="center", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout(pad=0.2)
    return _detached(fig)


def loss_curves(
    history: Mapping[str, Sequence[float]],
    *,
    xlabel: str = "epoch",
    title: str | None = None,
    smooth: int = 1,
) -> plt.Figure:
    """One line per named loss; ``smooth`` > 1 adds a moving average for noisy per-step losses."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, values in history.items():
        values = np.asarray(values, dtype=float)
        if values.size == 0:
            continue
        steps = np.arange(1, len(values) + 1)
        if smooth > 1 and len(values) >= smooth:
            line = ax.plot(steps, values, alpha=0.25)[0]
            kernel = np.ones(smooth) / smooth
            ax.plot(steps[smooth - 1 :], np.convolve(values, kernel, mode="valid"), color=line.get_color(), label=name)
        else:
            ax.plot(steps, values, label=name, marker="o" if len(values) < 30 else None, markersize=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _detached(fig)


def progression(
    sample_epochs: Sequence[int],
    samples: Sequence[np.ndarray],
    n_show: int = 10,
    max_rows: int = 6,
    suptitle: str | None = "Samples from the same noise as training goes on",
) -> plt.Figure:
    """The lecture's "epoch 0, 20, ..., 100" figure: one row per snapshot, the same inputs per column.

    With more snapshots than ``max_rows``, evenly spaced ones are shown (first and last kept).
    """
    if len(samples) == 0:
        raise ValueError("no samples to show: train with sample_fn=")
    keep = np.unique(np.linspace(0, len(samples) - 1, min(max_rows, len(samples))).round().astype(int))
    rows = np.stack([to_display_range(samples[i][:n_show]) for i in keep])
    return label_grid(rows, [f"epoch {sample_epochs[i]}" for i in keep], suptitle=suptitle)
