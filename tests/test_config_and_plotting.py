"""The fast/full switch and the shared figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import config, plotting


@pytest.mark.parametrize(("value", "fast"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_fast_mode_values(monkeypatch, value, fast):
    monkeypatch.setenv(config.ENV_VAR, value)
    assert config.fast_mode() is fast
    assert config.choose(fast="f", full="F") == ("f" if fast else "F")


def test_fast_mode_unset_means_full(monkeypatch):
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    assert config.fast_mode() is False


def test_fast_mode_rejects_typos(monkeypatch):
    monkeypatch.setenv(config.ENV_VAR, "fsat")
    with pytest.raises(ValueError, match="COURSE_FAST='fsat' is not understood"):
        config.fast_mode()


def test_to_display_range_handles_every_range_and_shape():
    uint8 = np.full((2, 28, 28), 255, np.uint8)
    assert plotting.to_display_range(uint8).max() == 1.0
    tanh = -np.ones((2, 784), np.float32)
    shown = plotting.to_display_range(tanh)
    assert shown.shape == (2, 28, 28) and shown.max() == 0.0
    unit = np.full((3, 28, 28, 1), 0.5, np.float32)
    assert np.allclose(plotting.to_display_range(unit), 0.5)
    assert np.allclose(plotting.to_display_range(np.zeros((1, 784)), value_range="symmetric"), 0.5)
    with pytest.raises(ValueError, match="expected"):
        plotting.to_display_range(np.zeros((2, 10)))


def test_image_grid_returns_closed_figure_with_all_images():
    before = len(plt.get_fignums())
    fig = plotting.image_grid(np.zeros((12, 784), np.float32), ncols=5, suptitle="x")
    assert len([ax for ax in fig.axes if ax.images]) == 12
    assert len(fig.axes) == 15  # 3 rows of 5
    assert len(plt.get_fignums()) == before, "helpers must not leave figures open in pyplot"


def test_label_grid_rows_are_labelled():
    fig = plotting.label_grid(np.zeros((10, 4, 28, 28), np.uint8), [str(d) for d in range(10)])
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels == [str(d) for d in range(10)]
    with pytest.raises(ValueError, match="row labels"):
        plotting.label_grid(np.zeros((3, 2, 28, 28)), ["a"])


def test_loss_curves_one_line_per_loss_plus_smoothing():
    fig = plotting.loss_curves({"d": np.linspace(1, 0, 50), "g": np.linspace(0, 1, 50)}, smooth=5)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4  # raw + smoothed for each
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["d", "g"]
