"""Latent widgets driven without a browser: setting a slider's value fires the same observers."""

from __future__ import annotations

import keras  # noqa: E402  (after helpers: TensorFlow is imported quietly)
import numpy as np

from helpers import widgets as course_widgets


def _tiny_generator(latent_dim=8, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((latent_dim,)), keras.layers.Dense(784, activation="tanh")])


def test_compiled_forward_matches_model():
    gen = _tiny_generator()
    z = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    np.testing.assert_allclose(course_widgets.compiled_forward(gen)(z), gen(z).numpy(), atol=1e-5)


def test_png_bytes_is_a_png_of_the_right_size():
    from io import BytesIO

    from PIL import Image

    raw = course_widgets.png_bytes(np.zeros(784), scale=4)
    with Image.open(BytesIO(raw)) as img:
        assert img.size == (112, 112)


def test_slerp_endpoints_and_norm():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=100), rng.normal(size=100)
    np.testing.assert_allclose(course_widgets.slerp(a, b, 0.0), a, atol=1e-9)
    np.testing.assert_allclose(course_widgets.slerp(a, b, 1.0), b, atol=1e-9)
    mid_slerp = np.linalg.norm(course_widgets.slerp(a, b, 0.5))
    mid_lerp = np.linalg.norm(0.5 * (a + b))
    assert mid_slerp > 1.2 * mid_lerp  # linear midpoints shrink towards the origin


def test_gan_explorer_sliders_change_the_image():
    explorer = course_widgets.GanLatentExplorer(_tiny_generator(), latent_dim=8, n_directions=3)
    first = bytes(explorer.image.value)
    assert first.startswith(b"\x89PNG")
    explorer.direction_sliders[0].value = 2.5
    assert bytes(explorer.image.value) != first
    z_before = explorer.latent().copy()
    explorer.mix.value = 1.0
    np.testing.assert_allclose(explorer.latent(), explorer.z_other + 2.5 * explorer.directions[0], atol=1e-5)
    assert not np.allclose(z_before, explorer.latent())
    n_updates = len(explorer.update_times_ms)
    explorer.new_button.click()
    assert len(explorer.update_times_ms) == n_updates + 1, "a new vector redraws once, not once per slider"
    assert all(s.value == 0 for s in explorer.direction_sliders) and explorer.mix.value == 0
    assert np.median(explorer.update_times_ms) < 50  # generous: a compiled call is ~1 ms here


def test_interpolation_explorer_shows_every_generator_and_moves():
    gens = {"a": _tiny_generator(seed=0), "b": _tiny_generator(seed=1)}
    explorer = course_widgets.InterpolationExplorer(gens, latent_dim=8)
    assert explorer.render().shape == (2, 28, 28)
    start = bytes(explorer.image.value)
    explorer.t.value = 1.0
    np.testing.assert_allclose(explorer.latent(), explorer.z_b, atol=1e-5)
    assert bytes(explorer.image.value) != start
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(bytes(explorer.image.value))) as strip:
        assert strip.size[0] > 2 * strip.size[1]  # two panels side by side
    n = len(explorer.update_times_ms)
    explorer.new_button.click()
    assert len(explorer.update_times_ms) == n + 1


def test_interpolation_explorer_needs_a_generator():
    import pytest

    with pytest.raises(ValueError, match="at least one generator"):
        course_widgets.InterpolationExplorer({}, latent_dim=8)


def test_measure_updates_stays_on_the_step_grid_and_restores():
    explorer = course_widgets.GanLatentExplorer(_tiny_generator(), latent_dim=8, n_directions=2)
    slider = explorer.direction_sliders[0]
    slider.value = 1.2
    seen = []
    slider.observe(lambda change: seen.append(change["new"]), names="value")
    median_ms, count = explorer.measure_updates(slider, n=25)
    assert count >= 20 and median_ms > 0
    assert slider.value == 1.2
    assert all(abs(v / slider.step - round(v / slider.step)) < 1e-6 for v in seen), "values off the step grid"
