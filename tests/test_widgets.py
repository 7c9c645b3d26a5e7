"""Latent widgets driven without a browser: setting a slider's value fires the same observers."""

from __future__ import annotations

import keras  # noqa: E402  (after helpers: TensorFlow is imported quietly)
import numpy as np
import pytest

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


def test_interpolation_explorer_with_one_generator():
    """03_stabilising_gans lets a student keep only one recipe: the explorer then shows one picture."""
    explorer = course_widgets.InterpolationExplorer({"only": _tiny_generator(seed=0)}, latent_dim=8)
    start = bytes(explorer.image.value)
    explorer.t.value = 1.0
    assert bytes(explorer.image.value) != start


def test_interpolation_explorer_needs_a_generator():
    with pytest.raises(ValueError, match="at least one generator"):
        course_widgets.InterpolationExplorer({}, latent_dim=8)


def test_measure_updates_stays_on_the_step_grid_and_restores():
    explorer = course_widgets.GanLatentExplorer(_tiny_generator(), latent_dim=8, n_directions=2)
    slider = explorer.direction_sliders[0]
    slider.value = 2.0
    seen = []
    slider.observe(lambda change: seen.append(change["new"]), names="value")
    median_ms, count = explorer.measure_updates(slider, n=25)
    grid_points = round((slider.max - slider.min) / slider.step) + 1
    assert count >= grid_points - 1 and median_ms > 0  # every grid value once (repeats fire no update)
    assert slider.value == 2.0
    assert all(abs(v / slider.step - round(v / slider.step)) < 1e-6 for v in seen), "values off the step grid"


# --------------------------------------------------------------------------- start points and visible steps

# "Visible": one arrow-key step changes some pixel by at least 0.15 of the display range (38 of 255
# grey levels). Before the steps were scaled, one step of the GAN explorer changed no pixel by more
# than ~0.04 (0.1 along a unit direction in 100-D z), and six steps by less than 60 grey levels.
VISIBLE_MAX_CHANGE = 0.15


def _one_step_change(explorer, slider) -> float:
    from helpers.plotting import to_display_range

    before = to_display_range(np.asarray(explorer.render()).reshape(-1, 784))
    up = slider.value + slider.step
    slider.value = up if up <= slider.max else slider.value - slider.step
    after = to_display_range(np.asarray(explorer.render()).reshape(-1, 784))
    return float(np.abs(after - before).max())


def _shipped(name):
    from helpers import weights

    return weights.load_model(name, "mnist", verbose=False)


def _sample_test_images():
    from helpers import data

    _, (x_test, y_test) = data.load_mnist("mnist", download=False, verbose=False)
    return data.flatten(data.scale_to_unit(x_test)), np.asarray(y_test, int)


def _explorers_as_in_the_notebooks():
    """Each notebook's explorer on the shipped weights, built with the notebook's arguments (SEED = 42)."""
    from helpers import data

    x_test, y_test = _sample_test_images()
    one_per_class = np.array([np.flatnonzero(y_test == c)[0] for c in range(10)])
    vae, cvae = _shipped("vae_2d"), _shipped("cvae_2d")
    vae_codes = course_widgets.cached_forward(vae.get_layer("encoder"), output=0)(x_test)
    cvae_codes = course_widgets.cached_forward(cvae.get_layer("encoder"), output=0)(x_test, data.one_hot(y_test))
    yield "01 GanLatentExplorer", lambda: course_widgets.GanLatentExplorer(_shipped("gan_generator"), 100,
                                                                           n_directions=4, seed=42)
    yield "02 ConditionalGanExplorer", lambda: course_widgets.ConditionalGanExplorer(
        _shipped("cgan_generator"), 100, n_directions=4, seed=42)
    yield "03 InterpolationExplorer", lambda: course_widgets.InterpolationExplorer(
        {"transpose conv": _shipped("dcgan_transpose_generator"),
         "upsample + conv": _shipped("dcgan_upsample_generator")}, 100, seed=42)
    yield "04 VaeLatentExplorer", lambda: course_widgets.VaeLatentExplorer(vae.get_layer("decoder"), vae_codes, y_test)
    yield "04 VaeInterpolationExplorer", lambda: course_widgets.VaeInterpolationExplorer(
        vae.get_layer("encoder"), vae.get_layer("decoder"), x_test, index_a=int(one_per_class[1]),
        index_b=int(one_per_class[7]))
    yield "05 CvaeStyleExplorer", lambda: course_widgets.CvaeStyleExplorer(
        cvae.get_layer("encoder"), cvae.get_layer("decoder"), x_test, y_test, index=int(one_per_class[3]))
    yield "05 CvaeLatentExplorer", lambda: course_widgets.CvaeLatentExplorer(cvae.get_layer("decoder"), label=7,
                                                                             z_points=cvae_codes)


def _first_slider(explorer):
    for control in ("direction_sliders", "sliders"):
        if hasattr(explorer, control):
            return getattr(explorer, control)[0]
    for control in ("z1", "t", "index"):
        if hasattr(explorer, control):
            return getattr(explorer, control)
    raise AssertionError(f"no slider found on {type(explorer).__name__}")


def test_one_step_of_the_first_slider_is_visible_on_the_shipped_models():
    changes = {}
    for name, build in _explorers_as_in_the_notebooks():
        explorer = build()
        changes[name] = round(_one_step_change(explorer, _first_slider(explorer)), 3)
    too_small = {name: change for name, change in changes.items() if change < VISIBLE_MAX_CHANGE}
    assert not too_small, f"one step changes no pixel by {VISIBLE_MAX_CHANGE} or more: {too_small} (all: {changes})"


def test_vae_map_starts_at_the_centre_of_the_codes_on_the_step_grid():
    codes = np.random.default_rng(0).normal(loc=(1.3, -0.8), scale=(2.0, 1.0), size=(500, 2)).astype(np.float32)
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(784, activation="sigmoid")])
    explorer = course_widgets.VaeLatentExplorer(decoder, codes, np.arange(500) % 10)
    assert explorer.step == course_widgets.spread_step(codes) == 0.45  # 0.3 of the mean std 1.5
    centre = np.median(codes, axis=0)
    for slider, c in zip((explorer.z1, explorer.z2), centre, strict=True):
        assert abs(slider.value - c) <= slider.step / 2 + 1e-9, "starts at the median of the codes"
        k = (slider.value - slider.min) / slider.step
        assert abs(k - round(k)) < 1e-6, "on the slider's own grid, so a browser does not move it"


def test_gan_sliders_move_z_by_prior_standard_deviations():
    explorer = course_widgets.GanLatentExplorer(_tiny_generator(), latent_dim=8, n_directions=2)
    slider = explorer.direction_sliders[0]
    assert slider.value == 0 and slider.step == course_widgets.GAN_STEP
    z0 = explorer.latent().copy()
    slider.value = slider.step
    assert np.linalg.norm(explorer.latent() - z0) == pytest.approx(slider.step, rel=1e-5)


def test_spread_step_needs_codes():
    with pytest.raises(ValueError, match="at least two latent codes"):
        course_widgets.spread_step(np.zeros(3))


def test_compiled_forward_in_chunks_matches_one_call(monkeypatch):
    gen = _tiny_generator()
    z = np.random.default_rng(2).normal(size=(10, 8)).astype(np.float32)
    whole = course_widgets.compiled_forward(gen)(z)
    monkeypatch.setattr(course_widgets, "FORWARD_CHUNK", 3)  # 10 rows -> chunks of 3, 3, 3, 1
    np.testing.assert_allclose(course_widgets.compiled_forward(gen)(z), whole, atol=1e-6)


def test_every_explorer_ends_with_the_restart_hint():
    """After a kernel restart the old explorer still moves but nothing answers: its last line says what to do."""
    names = []
    for name, build in _explorers_as_in_the_notebooks():
        explorer = build()
        assert explorer.children[-1] is explorer.restart_hint, name
        hint = explorer.restart_hint.value
        assert "kernel was restarted" in hint and "run the notebook" in hint, name
        assert sum(child is explorer.restart_hint for child in explorer.children) == 1, name
        names.append(name)
    assert len(names) == 7
