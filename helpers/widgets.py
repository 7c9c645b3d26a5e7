"""Latent-space widgets that answer instantly.

Why it is fast: the model runs through a compiled ``tf.function`` (about 1 ms on this CPU,
against ~60 ms for ``model.predict``), and one ``ipywidgets.Image`` is updated in place with a
PNG made by PIL (~0.3 ms), instead of redrawing a matplotlib figure (~20 ms+).

Every builder returns the widget itself (display it as the last expression of a cell) and
exposes what it calls: ``render()`` returns the current image as an array, ``update()`` pushes
it to the screen, and ``update_times_ms`` records how long each update took in the kernel.
Tests drive the sliders by setting ``.value``, which fires the same observers a browser does.

Where they start and how far one arrow key moves: every explorer starts at a typical point (a
drawn z with its offsets at 0, the centre of the codes) and one slider step changes the picture
visibly. Steps are scaled to the latent's spread: GAN sliders move z along random unit directions
in units of the prior's standard deviation (one step = 1); VAE sliders step by 0.3 of the codes'
standard deviation; interpolation sliders take 20 (GAN) or 10 (VAE) steps from end to end.
``tests/test_widgets.py`` checks the change of one step on the shipped models.

Works with ipywidgets 7.7 (Colab's front end) and 8: only classes and traits both have.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import numpy as np

from .environment import quiet_tensorflow
from .plotting import to_display_range

quiet_tensorflow()
import tensorflow as tf  # noqa: E402

_FORWARDS: dict = {}
FORWARD_CHUNK = 4096  # rows per compiled call when a forward gets a large batch (bounded memory)


def compiled_forward(model, output: int | None = None) -> Callable[..., np.ndarray]:
    """``model(x, training=False)`` compiled once per model, taking and returning numpy arrays.

    The input signature leaves the batch size open, so the function is traced exactly once
    whatever batch it gets (1 vector from a slider, 100 for a grid). Several inputs (e.g. noise
    and a label) are passed as positional arguments and given to the model as a list.

    The compiled function is cached per model (and ``output``): notebook cells and widgets share
    it. A new ``tf.function`` per call would trace again, and TensorFlow counts the traces of all
    functions made from the same code together: after five it prints a misleading "triggered
    tf.function retracing" warning. ``output``: for a functional model with several outputs (a
    VAE encoder returns ``[z_mean, z_log_var, z]``), the index of the one to return. The cache
    keeps the models alive for the kernel's lifetime, which is what a notebook wants.
    """
    key = (id(model), output)
    if key not in _FORWARDS:
        target = model
        if output is not None:
            outputs = getattr(model, "outputs", None)
            if not outputs or not -len(outputs) <= output < len(outputs):
                raise ValueError(f"output={output} needs a functional model with more outputs than that")
            import keras

            target = keras.Model(model.inputs, model.outputs[output], name=f"{model.name}_output{output}")
        _FORWARDS[key] = (model, _build_forward(target))  # the model is kept so its id is never reused
    return _FORWARDS[key][1]


cached_forward = compiled_forward  # the name notebook 04 uses; one cache for both


def _build_forward(model) -> Callable[..., np.ndarray]:
    inputs = getattr(model, "inputs", None)
    signature = [tf.TensorSpec([None, *x.shape[1:]], tf.float32) for x in inputs] if inputs else None

    @tf.function(input_signature=signature, reduce_retracing=signature is None)
    def forward(*inputs):
        return model(inputs[0] if len(inputs) == 1 else list(inputs), training=False)

    def run(*arrays):
        arrays = [np.asarray(a, np.float32) for a in arrays]
        n = len(arrays[0]) if arrays and arrays[0].ndim else 0
        if n <= FORWARD_CHUNK:
            return forward(*(tf.convert_to_tensor(a) for a in arrays)).numpy()
        # large batches (notebook 05 decodes 10,000 styles x 10 labels = 313 MB of images) in chunks,
        # written into one preallocated array: TensorFlow's output and activations stay chunk-sized
        out = None
        for start in range(0, n, FORWARD_CHUNK):
            part = forward(*(tf.convert_to_tensor(a[start : start + FORWARD_CHUNK]) for a in arrays)).numpy()
            if out is None:
                out = np.empty((n, *part.shape[1:]), part.dtype)
            out[start : start + len(part)] = part
        return out

    return run


def png_bytes(image: np.ndarray, scale: int = 5) -> bytes:
    """One 28x28 image (any value range) as PNG bytes, enlarged ``scale`` times, dark ink on white."""
    from PIL import Image

    pixels = to_display_range(np.asarray(image)[None])[0]
    pil = Image.fromarray((255 * (1.0 - pixels)).astype(np.uint8))
    buffer = io.BytesIO()
    pil.resize((28 * scale, 28 * scale), Image.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


def strip_png(images: np.ndarray, scale: int = 3, gap: int = 2) -> bytes:
    """A row of images as one PNG (for 'the same noise under all ten labels' and similar)."""
    from PIL import Image

    pixels = to_display_range(images)
    n = len(pixels)
    canvas = np.zeros((28, n * 28 + (n - 1) * gap), np.float32)
    for i, img in enumerate(pixels):
        canvas[:, i * (28 + gap) : i * (28 + gap) + 28] = img
    pil = Image.fromarray((255 * (1.0 - canvas)).astype(np.uint8))
    buffer = io.BytesIO()
    pil.resize((canvas.shape[1] * scale, 28 * scale), Image.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


GAN_STEP = 1.0  # one arrow key: one prior standard deviation along a random unit direction
GAN_REACH = 4.0  # slider range +-4: beyond where the prior puts 99.99% of its mass along any direction
SPREAD_STEP = 0.3  # VAE sliders: one step = 0.3 of the codes' standard deviation


def spread_step(codes: np.ndarray, fraction: float = SPREAD_STEP) -> float:
    """A slider step of ``fraction`` of the codes' standard deviation (mean over dimensions),
    rounded to a multiple of 0.05 (at least 0.05) so the slider shows tidy numbers."""
    codes = np.asarray(codes, np.float64)
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"need at least two latent codes (N, latent_dim) to measure their spread, got {codes.shape}")
    return max(0.05, round(round(fraction * float(codes.std(0).mean()) / 0.05) * 0.05, 10))


def on_grid(value: float, low: float, step: float, high: float) -> float:
    """``value`` moved to the slider's own grid (low + k * step) inside [low, high]: a browser
    rounds any other value and echoes it back, which would move the slider after Run All."""
    k = round((value - low) / step)
    return float(np.clip(round(low + k * step, 10), low, high))


def _direction_sliders(n: int, step: float, reach: float) -> list[widgets.FloatSlider]:
    return [widgets.FloatSlider(value=0.0, min=-reach, max=reach, step=step, description=f"direction {i + 1}",
                                continuous_update=True) for i in range(n)]


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation. Gaussian latents live near a sphere of radius sqrt(dim);
    a straight line between two of them passes through lower-norm points the generator
    rarely saw in training, which is why midpoints of linear interpolation look faded."""
    a_n, b_n = a / np.linalg.norm(a), b / np.linalg.norm(b)
    omega = np.arccos(np.clip(np.dot(a_n, b_n), -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


# Under every explorer. After a kernel restart the front end still shows the old explorer and its sliders still
# move, but no kernel answers them any more, and JupyterLab says nothing: this line does.
RESTART_HINT = ("<small style='color: #666'>The picture no longer follows the controls? The kernel was restarted "
                "since this cell ran: run the notebook down to this cell again.</small>")


class ImageExplorer(widgets.VBox):
    """Base: controls above, one image updated in place, timing of every update, the restart hint last."""

    def __init__(self, controls: Sequence[widgets.Widget], *, scale: int = 5, caption: str = ""):
        self.image = widgets.Image(format="png")  # natural size: one image, or a strip of several
        self.scale = scale
        self.caption = widgets.HTML(caption)
        self.restart_hint = widgets.HTML(RESTART_HINT)
        self.update_times_ms: list[float] = []
        self._paused = False
        self.parts: tuple[widgets.Widget, ...] = ()
        super().__init__()
        self.set_parts(*controls, widgets.HBox([self.image, self.caption]))

    def set_parts(self, *parts: widgets.Widget) -> None:
        """Lay the explorer out as ``parts``, top to bottom, with the restart hint below them."""
        self.parts = parts
        self.children = (*parts, self.restart_hint)

    def render(self) -> np.ndarray:  # pragma: no cover - subclasses define it
        raise NotImplementedError

    def update(self, *_change) -> None:
        if self._paused:
            return
        began = time.perf_counter()
        rendered = np.asarray(self.render())
        # one 28x28 image (in any shape, e.g. a batch of one) -> one picture; several images -> one strip
        self.image.value = (png_bytes(rendered.reshape(28, 28), self.scale) if rendered.size == 784
                            else strip_png(rendered, self.scale))
        self.update_times_ms.append(1000 * (time.perf_counter() - began))

    def _observe(self, *controls: widgets.Widget) -> None:
        for control in controls:
            control.observe(self.update, names="value")

    def measure_updates(self, slider: widgets.FloatSlider, n: int = 25) -> tuple[float, int]:
        """Sweep ``slider`` over ``n`` values, put it back, and return (median ms, updates).

        This is the kernel-side latency of one update (model call + PNG + widget message). The
        values lie on the slider's own step grid: a browser showing the widget rounds any other
        value and sends it back, which would leave the slider away from where it is restored.
        """
        start, step = slider.value, slider.step
        grid = np.linspace(slider.min, slider.max, n)
        values = np.clip(np.round(np.round(grid / step) * step, 10), slider.min, slider.max)
        first = len(self.update_times_ms)
        for value in values:
            slider.value = float(value)
        slider.value = start
        times = self.update_times_ms[first:]
        return float(np.median(times)), len(times)


class InterpolationExplorer(ImageExplorer):
    """One slider from latent vector z_a to z_b, decoded by several generators side by side
    (the same inputs, so differences come from the generators alone)."""

    def __init__(self, generators: dict, latent_dim: int, seed: int = 0, scale: int = 4, spherical: bool = True):
        if not generators:
            raise ValueError("give at least one generator, e.g. {'transpose conv': g1, 'upsample + conv': g2}")
        self.names = list(generators)
        self.forwards = [compiled_forward(g) for g in generators.values()]
        self.latent_dim = latent_dim
        self.spherical = spherical
        self.rng = np.random.default_rng(seed)
        self.z_a, self.z_b = self.rng.normal(size=(2, latent_dim)).astype(np.float32)
        self.t = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="z_a → z_b")
        self.new_button = widgets.Button(description="new endpoints", icon="refresh")
        self.new_button.on_click(self.new_endpoints)
        caption = "<small>" + " | ".join(self.names) + "</small>"
        super().__init__([self.t, self.new_button], scale=scale, caption=caption)
        self._observe(self.t)
        self.update()

    def latent(self) -> np.ndarray:
        t = self.t.value
        z = slerp(self.z_a, self.z_b, t) if self.spherical else (1 - t) * self.z_a + t * self.z_b
        return z.astype(np.float32)

    def render(self) -> np.ndarray:
        z = self.latent()[None]
        return np.concatenate([forward(z).reshape(1, 28, 28) for forward in self.forwards])

    def new_endpoints(self, _button=None) -> None:
        self.z_a, self.z_b = self.rng.normal(size=(2, self.latent_dim)).astype(np.float32)
        self.update()


class GanLatentExplorer(ImageExplorer):
    """Move a latent vector z along a few random directions, swap in a new z, or slide from
    z towards a second vector z' (spherical interpolation).

    It starts at a drawn z (a typical sample; z = 0 itself is atypical in many dimensions, where
    samples lie near the sphere of radius sqrt(latent_dim)) with every offset at 0. A slider's value
    is the offset along its unit direction in prior standard deviations: one step (``step``, 1)
    changes the shipped generator's picture visibly (0.25 or 0.5 often did not); +-``reach`` (4)
    spans the prior along it.
    """

    def __init__(self, generator, latent_dim: int, n_directions: int = 4, seed: int = 0, scale: int = 5,
                 step: float = GAN_STEP, reach: float = GAN_REACH):
        self.generate = compiled_forward(generator)
        self.latent_dim = latent_dim
        self.rng = np.random.default_rng(seed)
        # orthonormal directions, so each slider moves z independently of the others
        q, _ = np.linalg.qr(self.rng.normal(size=(latent_dim, n_directions)))
        self.directions = q.T.astype(np.float32)
        self.z = self.rng.normal(size=latent_dim).astype(np.float32)
        self.z_other = self.rng.normal(size=latent_dim).astype(np.float32)
        self.direction_sliders = _direction_sliders(n_directions, step, reach)
        self.mix = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="z → z'")
        self.new_button = widgets.Button(description="new random z", icon="refresh")
        self.new_button.on_click(self.new_vector)
        super().__init__([*self.direction_sliders, self.mix, self.new_button], scale=scale,
                         caption="<small>directions: offsets of z along random unit directions, in prior standard "
                                 "deviations</small>")
        self._observe(*self.direction_sliders, self.mix)
        self.update()

    def latent(self) -> np.ndarray:
        z = slerp(self.z, self.z_other, self.mix.value)
        offsets = np.array([s.value for s in self.direction_sliders], np.float32)
        return (z + offsets @ self.directions).astype(np.float32)

    def render(self) -> np.ndarray:
        return self.generate(self.latent()[None])[0]

    def new_vector(self, _button=None) -> None:
        """New z and z', sliders back to zero, one redraw (not one per slider)."""
        self.z = self.rng.normal(size=self.latent_dim).astype(np.float32)
        self.z_other = self.rng.normal(size=self.latent_dim).astype(np.float32)
        self._paused = True
        try:
            for slider in self.direction_sliders:
                slider.value = 0.0
            self.mix.value = 0.0
        finally:
            self._paused = False
        self.update()


class LabelStripExplorer(ImageExplorer):
    """Base of the conditional explorers: a label picker and controls for z above; the picked
    label's digit large, and a strip with the same z under every label (one compiled call for
    all of them), so one sees what z controls (style) and what the label controls (the class).

    Subclasses set ``self.forward(z_batch, one_hot_labels) -> images`` and define ``latent()``
    (one latent vector, any shape that reshapes to ``(1, latent_dim)``).
    """

    def _init_label_strip(self, class_names: Sequence[str], label: int, controls: Sequence[widgets.Widget],
                          scale: int, strip_scale: int) -> None:
        self.class_names = list(class_names)
        self.n_classes = len(self.class_names)
        self.strip_scale = strip_scale
        self.label_picker = widgets.ToggleButtons(
            options=[(name, i) for i, name in enumerate(self.class_names)], value=label, description="label",
            style={"button_width": "auto"},
        )
        self.strip = widgets.Image(format="png")
        ImageExplorer.__init__(self, [self.label_picker, *controls], scale=scale)
        strip_caption = widgets.HTML("<small>the same z under every label: " + " · ".join(self.class_names)
                                     + "</small>")
        self.set_parts(*self.parts, strip_caption, self.strip)

    def render_all(self) -> np.ndarray:
        """The current z under every label, shape (n_classes, 28, 28), in one compiled call."""
        z = np.repeat(self.latent().reshape(1, -1), self.n_classes, axis=0)
        return self.forward(z, np.eye(self.n_classes, dtype=np.float32)).reshape(self.n_classes, 28, 28)

    def render(self) -> np.ndarray:
        """The current z under the picked label, shape (28, 28)."""
        label = np.eye(self.n_classes, dtype=np.float32)[[self.label_picker.value]]
        return self.forward(self.latent().reshape(1, -1), label).reshape(28, 28)

    def caption_html(self, picked: int) -> str:
        return f"<b>label: {self.class_names[picked]}</b>"

    def update(self, *_change) -> None:
        if self._paused:
            return
        began = time.perf_counter()
        every_label = self.render_all()
        picked = self.label_picker.value
        self.image.value = png_bytes(every_label[picked], self.scale)
        self.strip.value = strip_png(every_label, self.strip_scale)
        self.caption.value = self.caption_html(picked)
        self.update_times_ms.append(1000 * (time.perf_counter() - began))


class ConditionalGanExplorer(LabelStripExplorer):
    """A conditional generator G(z, y): pick the label y, move the noise z along a few random
    directions. Beside the chosen digit, a strip shows the same z under every label, so one can
    see what z controls (style: thickness, slant, width) and what y controls (the class).

    ``generator`` takes ``[noise (N, latent_dim), one-hot labels (N, n_classes)]``. One compiled
    call renders all labels at once; the picked one is shown large, all of them in the strip.
    Start point and slider units as in :class:`GanLatentExplorer`.
    """

    def __init__(self, generator, latent_dim: int, class_names: Sequence[str] | None = None,
                 n_directions: int = 3, seed: int = 0, scale: int = 5, strip_scale: int = 3,
                 step: float = GAN_STEP, reach: float = GAN_REACH):
        names = [str(i) for i in range(10)] if class_names is None else [str(n) for n in class_names]
        if len(names) < 2:
            raise ValueError(f"a conditional generator needs at least two classes, got class_names={names}")
        inputs = getattr(generator, "inputs", None)
        if inputs is not None and len(inputs) != 2:
            raise ValueError(
                f"the generator must take two inputs [noise, one-hot label], this one takes {len(inputs)}; "
                "for an unconditional generator use GanLatentExplorer"
            )
        if inputs is not None and (inputs[0].shape[-1] != latent_dim or inputs[1].shape[-1] != len(names)):
            raise ValueError(
                f"the generator's inputs have widths {inputs[0].shape[-1]} (noise) and {inputs[1].shape[-1]} "
                f"(label), but latent_dim={latent_dim} and {len(names)} class names were given"
            )
        self.generate = self.forward = compiled_forward(generator)
        self.latent_dim = latent_dim
        self.rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(self.rng.normal(size=(latent_dim, n_directions)))
        self.directions = q.T.astype(np.float32)
        self.z = self.rng.normal(size=latent_dim).astype(np.float32)
        self.direction_sliders = _direction_sliders(n_directions, step, reach)  # as in GanLatentExplorer
        self.new_button = widgets.Button(description="new random z", icon="refresh")
        self.new_button.on_click(self.new_vector)
        self._init_label_strip(names, 0, [*self.direction_sliders, self.new_button], scale, strip_scale)
        self._observe(self.label_picker, *self.direction_sliders)
        self.update()

    def latent(self) -> np.ndarray:
        offsets = np.array([s.value for s in self.direction_sliders], np.float32)
        return (self.z + offsets @ self.directions).astype(np.float32)

    def new_vector(self, _button=None) -> None:
        """New z, sliders back to zero, one redraw (not one per slider)."""
        self.z = self.rng.normal(size=self.latent_dim).astype(np.float32)
        self._paused = True
        try:
            for slider in self.direction_sliders:
                slider.value = 0.0
        finally:
            self._paused = False
        self.update()


# --------------------------------------------------------------------------- VAE (notebook 04)


def _png_fast(pil_image) -> bytes:
    buffer = io.BytesIO()
    pil_image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class VaeLatentExplorer(ImageExplorer):
    """Two sliders choose a point (z_1, z_2) of a 2-D latent plane; the decoded digit is shown
    beside the latent scatter of the test set, with the point marked. The point starts at the
    median of ``z_points`` (the cloud's centre); one step is 0.3 of their standard deviation.

    The scatter is drawn by matplotlib once, converted to a 64-colour palette image, and each
    update only copies it, draws the marker with PIL and encodes the PNG (~1 ms), so the
    sliders stay instant. ``render()`` returns the decoded digit, ``render_map()`` the marked
    scatter (a PIL image); ``update()`` pushes both.
    """

    def __init__(self, decoder, z_points: np.ndarray, labels: np.ndarray, *, limits=None,
                 class_names=None, scale: int = 5, map_size: float = 4.0, step: float | None = None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from PIL import Image

        from . import vae

        z_points = np.asarray(z_points, np.float32)
        if z_points.ndim != 2 or z_points.shape[1] != 2:
            raise ValueError(f"VaeLatentExplorer needs 2-D latent points (N, 2), got {z_points.shape}")
        decoder_dim = decoder.inputs[0].shape[-1] if getattr(decoder, "inputs", None) else None
        if decoder_dim not in (None, 2):
            raise ValueError(f"the decoder takes {decoder_dim}-D latents; the two sliders need LATENT_DIM = 2")
        self.decode = cached_forward(decoder)
        if limits is None:  # the scatter's range, at least [-3, 3] (where the prior puts 99.7% of its mass)
            lo = np.minimum(np.floor(np.percentile(z_points, 0.5, axis=0)), -3.0)
            hi = np.maximum(np.ceil(np.percentile(z_points, 99.5, axis=0)), 3.0)
            limits = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
        self.limits = tuple(float(v) for v in limits)
        # one step: a fraction of the codes' spread; the start: the centre (median) of the codes
        self.step = spread_step(z_points) if step is None else float(step)
        centre = np.median(z_points, axis=0)
        self.z1, self.z2 = (
            widgets.FloatSlider(value=on_grid(centre[i], low, self.step, high), min=low, max=high, step=self.step,
                                description=name)
            for i, (name, low, high) in enumerate([("z₁", *self.limits[:2]), ("z₂", *self.limits[2:])])
        )

        fig = vae.latent_scatter(z_points, labels, class_names=class_names, limits=self.limits, size=map_size,
                                 title="test set (posterior means); ✚ = the sliders' point")
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        rgb = np.asarray(canvas.buffer_rgba())[..., :3]
        self._map = Image.fromarray(rgb).quantize(colors=64)
        # data -> pixel mapping of the axes, read once from the drawn figure (display y grows upwards)
        ax = fig.axes[0]
        corners = [(self.limits[0], self.limits[2]), (self.limits[1], self.limits[3])]
        (x0, y0), (x1, y1) = ax.transData.transform(corners)
        height = rgb.shape[0]
        self._px = (x0, (x1 - x0) / (self.limits[1] - self.limits[0]))
        self._py = (height - y0, -(y1 - y0) / (self.limits[3] - self.limits[2]))
        self.map_image = widgets.Image(format="png")
        super().__init__([self.z1, self.z2], scale=scale, caption="<small>decoded digit at (z₁, z₂)</small>")
        self.set_parts(self.z1, self.z2, widgets.HBox([self.map_image, widgets.VBox([self.image, self.caption])]))
        self._observe(self.z1, self.z2)
        self.update()

    def latent(self) -> np.ndarray:
        return np.array([[self.z1.value, self.z2.value]], np.float32)

    def render(self) -> np.ndarray:
        return self.decode(self.latent())[0]

    def marker_pixel(self) -> tuple[float, float]:
        """Where the sliders' point lies on the scatter image, in pixels (column, row)."""
        return (self._px[0] + self._px[1] * (self.z1.value - self.limits[0]),
                self._py[0] + self._py[1] * (self.z2.value - self.limits[2]))

    def render_map(self):
        from PIL import ImageDraw

        image = self._map.copy()
        draw = ImageDraw.Draw(image)
        x, y = self.marker_pixel()
        for width, colour in ((5, (255, 255, 255)), (2, (0, 0, 0))):  # black cross on a white halo
            draw.line((x - 9, y, x + 9, y), fill=colour, width=width)
            draw.line((x, y - 9, x, y + 9), fill=colour, width=width)
        return image

    def update(self, *_change) -> None:
        if self._paused:
            return
        began = time.perf_counter()
        self.image.value = png_bytes(self.render(), self.scale)
        self.map_image.value = _png_fast(self.render_map())
        self.update_times_ms.append(1000 * (time.perf_counter() - began))


class VaeInterpolationExplorer(ImageExplorer):
    """Encode two real test digits A and B, slide along the straight line between their codes
    (posterior means), decode. Shows A, the decoded point, and B side by side.

    Linear, not spherical: VAE codes are posterior means, spread over the latent space rather
    than concentrated on a sphere as high-dimensional Gaussian noise is.
    """

    def __init__(self, encoder, decoder, images: np.ndarray, *, index_a: int = 0, index_b: int = 1,
                 scale: int = 4):
        images = np.asarray(images, np.float32)
        if images.ndim != 2 or images.shape[1] != 784:
            raise ValueError(f"expected flattened images (N, 784) in [0, 1], got {images.shape}")
        n = len(images)
        if not (0 <= index_a < n and 0 <= index_b < n):
            raise ValueError(f"index_a and index_b must lie in 0..{n - 1}")
        self.images = images
        self.encode = cached_forward(encoder, output=0)  # the posterior mean z_mean
        self.decode = cached_forward(decoder)
        self.index_a = widgets.BoundedIntText(value=index_a, min=0, max=n - 1, description="digit A")
        self.index_b = widgets.BoundedIntText(value=index_b, min=0, max=n - 1, description="digit B")
        self.t = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.1, description="A → B")
        super().__init__([widgets.HBox([self.index_a, self.index_b]), self.t], scale=scale,
                         caption="<small>input A | decoded mix | input B</small>")
        self._observe(self.index_a, self.index_b, self.t)
        self.update()

    def latent(self) -> np.ndarray:
        z_a, z_b = self.encode(self.images[[self.index_a.value, self.index_b.value]])
        t = self.t.value
        return ((1 - t) * z_a + t * z_b)[None].astype(np.float32)

    def render(self) -> np.ndarray:
        decoded = self.decode(self.latent()).reshape(1, 28, 28)
        a, b = self.images[[self.index_a.value, self.index_b.value]].reshape(2, 28, 28)
        return np.stack([a, decoded[0], b])


# --------------------------------------------------------------------------- conditional VAE (notebook 05)


def _conditional_parts(model, what: str) -> tuple[int, int]:
    """(first input width, label width) of a two-input CVAE network, with a clear error otherwise."""
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 2:
        n = len(inputs) if inputs else "unknown"
        raise ValueError(f"the CVAE {what} must take two inputs [{'x' if what == 'encoder' else 'z'}, one-hot label], "
                         f"this one takes {n}; for a plain VAE use VaeLatentExplorer")
    return int(inputs[0].shape[-1]), int(inputs[1].shape[-1])


def _class_names(class_names, n_classes: int) -> list[str]:
    names = [str(i) for i in range(n_classes)] if class_names is None else [str(n) for n in class_names]
    if len(names) != n_classes:
        raise ValueError(f"the model's label input has {n_classes} classes, but {len(names)} class names were given")
    return names


class CvaeStyleExplorer(ImageExplorer):
    """Style transfer with a conditional VAE: a slider picks a real test digit; its style
    z = mean of q(z | x, c) (encoded with its true label c) is decoded under every label.

    Shown: the real digit (large) and a strip with one panel per label. ``render()`` returns the
    strip's images, shape (n_classes, 28, 28), in one compiled decoder call; ``style()`` the code.
    """

    def __init__(self, encoder, decoder, images: np.ndarray, labels: np.ndarray, *, class_names=None,
                 index: int = 0, scale: int = 4, strip_scale: int = 3):
        images = np.asarray(images, np.float32)
        labels = np.asarray(labels)
        if images.ndim != 2 or images.shape[1] != 784:
            raise ValueError(f"expected flattened images (N, 784) in [0, 1], got {images.shape}")
        if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"expected one integer label per image, got {labels.dtype} {labels.shape}")
        x_width, n_classes = _conditional_parts(encoder, "encoder")
        latent_dim, decoder_classes = _conditional_parts(decoder, "decoder")
        if x_width != 784 or decoder_classes != n_classes:
            raise ValueError(f"encoder inputs ({x_width}, {n_classes}) and decoder label width {decoder_classes} "
                             "do not fit (784, n_classes) and n_classes")
        if labels.min() < 0 or labels.max() >= n_classes:
            raise ValueError(f"labels must lie in 0..{n_classes - 1}")
        if not 0 <= index < len(images):
            raise ValueError(f"index must lie in 0..{len(images) - 1}, got {index}")
        self.images, self.labels = images, labels.astype(int)
        self.n_classes, self.latent_dim = n_classes, latent_dim
        self.class_names = _class_names(class_names, n_classes)
        self.encode = cached_forward(encoder, output=0)  # [x, c] -> posterior mean
        self.decode = cached_forward(decoder)  # [z, c] -> Bernoulli means
        self.strip_scale = strip_scale
        self.index = widgets.IntSlider(value=index, min=0, max=len(images) - 1, step=1, description="test digit",
                                       continuous_update=True)
        self.strip = widgets.Image(format="png")
        super().__init__([self.index], scale=scale)
        strip_caption = widgets.HTML("<small>its style decoded under every label: "
                                     + " · ".join(self.class_names) + "</small>")
        self.set_parts(*self.parts, strip_caption, self.strip)
        self._observe(self.index)
        self.update()

    def style(self) -> np.ndarray:
        """The chosen digit's code: the encoder's mean given the image and its true label, shape (1, latent_dim)."""
        i = self.index.value
        c = np.eye(self.n_classes, dtype=np.float32)[self.labels[[i]]]
        return self.encode(self.images[[i]], c)

    def render(self) -> np.ndarray:
        z = np.repeat(self.style(), self.n_classes, axis=0)
        return self.decode(z, np.eye(self.n_classes, dtype=np.float32)).reshape(self.n_classes, 28, 28)

    def update(self, *_change) -> None:
        if self._paused:
            return
        began = time.perf_counter()
        i = self.index.value
        self.strip.value = strip_png(self.render(), self.strip_scale)
        self.image.value = png_bytes(self.images[i], self.scale)
        z_text = ", ".join(f"{v:+.2f}" for v in self.style()[0]) if self.latent_dim <= 4 else f"{self.latent_dim}-D"
        self.caption.value = (f"<b>test digit #{i}</b>, label {self.class_names[self.labels[i]]}<br>"
                              f"<small>style z = ({z_text})</small>")
        self.update_times_ms.append(1000 * (time.perf_counter() - began))


class CvaeLatentExplorer(LabelStripExplorer):
    """A conditional VAE decoder p(x | z, c): a label picker and one slider per latent dimension.

    The picked label's digit is shown large; a strip shows the same z under every label, so the
    sliders visibly move the style (the same way for every digit) and the picker the class.
    ``render()`` returns the picked digit (28, 28); ``render_all()`` all labels (n_classes, 28, 28).
    Given ``z_points`` (e.g. the test codes), the sliders start at their median and step by 0.3 of
    their standard deviation; otherwise at z = 0, stepping by 0.3.
    """

    MAX_SLIDERS = 8

    def __init__(self, decoder, *, class_names=None, limits: tuple[float, float] = (-3.0, 3.0),
                 step: float | None = None, label: int = 0, scale: int = 5, strip_scale: int = 3,
                 z_points: np.ndarray | None = None):
        latent_dim, n_classes = _conditional_parts(decoder, "decoder")
        if latent_dim > self.MAX_SLIDERS:
            raise ValueError(f"{latent_dim} latent dimensions would need {latent_dim} sliders; "
                             f"this explorer shows at most {self.MAX_SLIDERS} (use LATENT_DIM = 2)")
        if not limits[0] < 0 < limits[1]:
            raise ValueError(f"limits must contain 0 (the prior's centre), got {limits}")
        self.class_names = _class_names(class_names, n_classes)
        if not 0 <= label < n_classes:
            raise ValueError(f"label must lie in 0..{n_classes - 1}, got {label}")
        self.decode = self.forward = cached_forward(decoder)
        self.latent_dim = latent_dim
        # start at the codes' centre (median) when given, else at the prior's centre z = 0; one step:
        # 0.3 of the codes' standard deviation (of the prior's, 1, without codes)
        if z_points is not None:
            z_points = np.asarray(z_points, np.float32)
            if z_points.ndim != 2 or z_points.shape[1] != latent_dim:
                raise ValueError(f"z_points must be codes of shape (N, {latent_dim}), got {z_points.shape}")
        if step is None:
            step = spread_step(z_points) if z_points is not None else SPREAD_STEP
        self.step = float(step)
        centre = np.median(z_points, axis=0) if z_points is not None else np.zeros(latent_dim)
        self.sliders = [
            widgets.FloatSlider(value=on_grid(centre[i], limits[0], self.step, limits[1]), min=limits[0],
                                max=limits[1], step=self.step, description=f"z{i + 1}", continuous_update=True)
            for i in range(latent_dim)
        ]
        self._init_label_strip(self.class_names, label, self.sliders, scale, strip_scale)
        self._observe(self.label_picker, *self.sliders)
        self.update()

    def latent(self) -> np.ndarray:
        return np.array([[s.value for s in self.sliders]], np.float32)

    def set_latent(self, z) -> None:
        """Move the sliders to ``z`` (e.g. a real digit's style), clipped to their range; one redraw."""
        z = np.asarray(z, np.float32).reshape(-1)
        if z.shape != (self.latent_dim,):
            raise ValueError(f"expected {self.latent_dim} latent values, got {z.shape}")
        self._paused = True
        try:
            for slider, value in zip(self.sliders, z, strict=True):
                slider.value = float(np.clip(value, slider.min, slider.max))
        finally:
            self._paused = False
        self.update()

    def caption_html(self, picked: int) -> str:
        z_text = ", ".join(f"{v:+.2f}" for v in self.latent()[0])
        return f"{super().caption_html(picked)}<br><small>z = ({z_text})</small>"
