"""The two pictures each topic notebook opens with: what it will produce (drawn from the shipped weights) and a
diagram of its networks and data flow. Both are stored as attachments of the notebook's title cell, so they show
before any code has run, in JupyterLab, on GitHub, in Colab and on the static site alike.

    .venv/bin/python scripts/render_previews.py          # render and write them into the topic notebooks
    .venv/bin/python scripts/render_previews.py --check  # exit 1 if a stored picture is no longer current

``tests/test_previews.py`` renders them again and compares pixels with the stored ones: retrain a model (or change a
diagram) and the test says to run this script.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NOTEBOOKS = {"01_gan": "the MLP GAN", "02_cgan": "the conditional GAN", "03_dcgan": "the two DCGAN generators",
             "03_stabilising_gans": "the four recipes' generators",
             "04_vae": "the 2-D VAE", "05_cvae": "the conditional VAE"}
PREVIEW, NETWORKS = "preview.png", "networks.png"
DPI = 80
SEED = 0

# ---------------------------------------------------------------------------------------------- the samples


def _grid(images: np.ndarray, rows: int, cols: int, row_labels=None, title: str = "", col_labels=None) -> plt.Figure:
    """images (rows * cols, 28, 28) in [0, 1], 1 = ink, as one dark-on-white picture."""
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.62 + (0.9 if row_labels else 0.1), rows * 0.62 + 0.45),
                             dpi=DPI, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.imshow(images[k], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([]), ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    for r, label in enumerate(row_labels or []):
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    for c, label in enumerate(col_labels or []):
        axes[0, c].set_title(label, fontsize=9, pad=2)
    fig.suptitle(title, fontsize=10)
    top = 1 - 0.32 / fig.get_figheight()  # room for the title above any column labels
    fig.tight_layout(pad=0.3, w_pad=0.1, h_pad=0.1, rect=(0, 0, 1, top))
    return fig


def _symmetric_to_ink(x) -> np.ndarray:
    from helpers.plotting import to_display_range

    return to_display_range(np.asarray(x), "symmetric")


def preview(name: str) -> plt.Figure:
    from helpers import weights

    rng = np.random.default_rng(SEED)
    if name == "01_gan":
        g = weights.load_model("gan_generator", verbose=False)
        images = _symmetric_to_ink(g(rng.normal(size=(30, 100)).astype("float32"), training=False))
        return _grid(images, 3, 10, title="What you will train: digits drawn from noise by the generator")
    if name == "02_cgan":
        g = weights.load_model("cgan_generator", verbose=False)
        noise = np.repeat(rng.normal(size=(4, 1, 100)), 10, axis=1).reshape(40, 100).astype("float32")
        labels = np.eye(10, dtype="float32")[np.tile(np.arange(10), 4)]
        images = _symmetric_to_ink(g([noise, labels], training=False))
        return _grid(images, 4, 10, col_labels=[str(d) for d in range(10)],
                     title="Ask for a digit: one column per requested label, one row per noise vector")
    if name == "03_dcgan":
        noise = rng.normal(size=(10, 100)).astype("float32")
        rows = [_symmetric_to_ink(weights.load_model(f"dcgan_{kind}_generator", verbose=False)(noise, training=False))
                for kind in ("transpose", "upsample")]
        return _grid(np.concatenate(rows), 2, 10, ["transpose", "upsample"],
                     title="Two convolutional generators, the same noise")
    if name == "03_stabilising_gans":
        noise = rng.normal(size=(10, 100)).astype("float32")
        recipes = {"non-saturating": "dcgan_upsample_generator", "spectral norm": "stabilised_spectral_generator",
                   "DiffAugment": "stabilised_diffaugment_generator", "WGAN-GP": "stabilised_wgan_gp_generator"}
        rows = [_symmetric_to_ink(weights.load_model(file, verbose=False)(noise, training=False))
                for file in recipes.values()]
        return _grid(np.concatenate(rows), 4, 10, list(recipes),
                     title="One generator, four training recipes, the same CPU time and noise")
    if name == "04_vae":
        vae = weights.load_model("vae_2d", verbose=False)
        decoder = vae.get_layer("decoder")
        ticks = np.linspace(-2, 2, 8)
        codes = np.array([[x, y] for y in ticks[::-1] for x in ticks], np.float32)
        images = np.asarray(decoder(codes, training=False)).reshape(-1, 28, 28)
        return _grid(images, 8, 8, title="The 2-D latent plane, decoded")
    if name == "05_cvae":
        cvae = weights.load_model("cvae_2d", verbose=False)
        decoder = cvae.get_layer("decoder")
        codes = np.repeat(rng.normal(size=(4, 2)).astype("float32"), 10, axis=0)
        labels = np.eye(10, dtype="float32")[np.tile(np.arange(10), 4)]
        images = np.asarray(decoder([codes, labels], training=False)).reshape(-1, 28, 28)
        return _grid(images, 4, 10, col_labels=[str(d) for d in range(10)],
                     title="Choose the digit (column), keep the handwriting (one code per row)")
    raise ValueError(name)


# ---------------------------------------------------------------------------------------------- the diagrams

COLOURS = {"data": "#e8e8e8", "G": "#cfe3f7", "D": "#f7d9cf", "label": "#fff1b8", "E": "#d8efd3", "z": "#ffffff"}
LABEL_COLOUR = "#b08800"


def _box(ax, x, y, text, kind, w=1.4, h=0.6):
    """A box centred at (x, y), in inches; returns its (left, right, bottom, top) edges."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03", fc=COLOURS[kind],
                                ec="#555555", lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=8, linespacing=1.3)
    return {"left": (x - w / 2 - 0.03, y), "right": (x + w / 2 + 0.03, y), "bottom": (x, y - h / 2 - 0.03),
            "top": (x, y + h / 2 + 0.03)}


def _arrow(ax, start, end, colour="#333333", rad=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, color=colour, lw=1,
                                 connectionstyle=f"arc3,rad={rad}"))


def _canvas(title, width=10.0, height=3.0):
    fig = plt.figure(figsize=(width, height), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width), ax.set_ylim(0, height)
    ax.axis("off")
    ax.text(width / 2, height - 0.22, title, ha="center", va="center", fontsize=10)
    return fig, ax


def networks(name: str) -> plt.Figure:
    """The notebook's networks and data flow, drawn the same way every time."""
    if name in ("01_gan", "02_cgan", "03_dcgan"):
        conditional, conv = name == "02_cgan", name == "03_dcgan"
        fig, ax = _canvas({"01_gan": "A generator and a discriminator, both dense networks",
                           "02_cgan": "The same two networks, and both see the label y",
                           "03_dcgan": "Convolutional generator and discriminator"}[name])
        z = _box(ax, 0.9, 2.0, "noise z\n100 normals", "z")
        g_text = ("generator G\nDense 7x7x64 > up x2, 32 ch\n> up x2, 1 ch, tanh" if conv
                  else "generator G\nDense 256 > 512 > 1024\n> 784, tanh")
        g = _box(ax, 3.05, 2.0, g_text, "G", w=2.2, h=0.85)
        fake = _box(ax, 5.2, 2.0, "generated\nimage", "data", w=1.3)
        real = _box(ax, 5.2, 0.8, "real digit", "data", w=1.3)
        d_text = ("discriminator D\nConv 32 > Conv 64\n> Dense 1, sigmoid" if conv
                  else "discriminator D\nDense 1024 > 512 > 256\n> 1, sigmoid")
        d = _box(ax, 7.35, 1.4, d_text, "D", w=2.2, h=0.85)
        out = _box(ax, 9.3, 1.4, "P(real)", "data", w=1.0)
        _arrow(ax, z["right"], g["left"]), _arrow(ax, g["right"], fake["left"])
        _arrow(ax, fake["right"], d["left"]), _arrow(ax, real["right"], d["left"]), _arrow(ax, d["right"], out["left"])
        if conditional:
            y = _box(ax, 0.9, 0.8, "label y\none-hot 10", "label")
            _arrow(ax, y["right"], (2.4, 1.55), LABEL_COLOUR)
            _arrow(ax, y["bottom"], d["bottom"], LABEL_COLOUR, rad=0.12)
            ax.text(3.1, 0.95, "y is concatenated to both networks' inputs", fontsize=7, color="#806000",
                    ha="center")
        if conv:
            ax.text(3.05, 1.2, "up x2: Conv2DTranspose (kernel 4, stride 2),\nor UpSampling2D + Conv2D",
                    fontsize=7, ha="center", va="center")
        return fig
    if name == "03_stabilising_gans":
        return _stabilising_networks()
    conditional = name == "05_cvae"
    fig, ax = _canvas("Encoder, sampling, decoder" + ("; both networks see the label c" if conditional else ""),
                      height=3.35)
    x = _box(ax, 0.8, 1.8, "image x\n784 pixels", "data", w=1.3)
    e = _box(ax, 2.55, 1.8, "encoder\nDense 64", "E", w=1.4)
    mu = _box(ax, 4.35, 2.3, r"mean $\mu$", "z", w=1.4, h=0.45)
    lv = _box(ax, 4.35, 1.3, "log-variance $v$", "z", w=1.4, h=0.45)
    z = _box(ax, 6.35, 1.8, "$z = \\mu + e^{v/2}\\,\\varepsilon$\n"
             "$\\varepsilon \\sim \\mathcal{N}(0, I)$, 2-D", "z", w=1.9, h=0.8)
    dec = _box(ax, 8.4, 1.8, "decoder\nDense 64 > 784", "G", w=1.6)
    xr = _box(ax, 8.4, 0.6, "reconstruction", "data", w=1.6, h=0.5)
    for a, b in ((x["right"], e["left"]), (e["right"], mu["left"]), (e["right"], lv["left"]),
                 (mu["right"], z["left"]), (lv["right"], z["left"]), (z["right"], dec["left"]),
                 (dec["bottom"], xr["top"])):
        _arrow(ax, a, b)
    ax.text(4.6, 2.75, r"loss = reconstruction $-\log p(x \mid z)$ + KL$(q(z \mid x)\,\|\,\mathcal{N}(0, I))$",
            fontsize=8, ha="center")
    if conditional:
        c = _box(ax, 0.8, 0.6, "label c\none-hot 10", "label", w=1.3)
        _arrow(ax, c["right"], (2.1, 1.45), LABEL_COLOUR)
        _arrow(ax, c["right"], (7.75, 1.45), LABEL_COLOUR, rad=0.08)
        ax.text(4.6, 0.35, "c is concatenated to the encoder's input and to z", fontsize=7, color="#806000",
                ha="center")
    return fig


def _stabilising_networks() -> plt.Figure:
    """03_stabilising_gans: 03's upsample generator against three ways of building or feeding D."""
    fig, ax = _canvas("One generator; the discriminator changed three ways", height=3.6)
    z = _box(ax, 0.8, 2.2, "noise z\n100 normals", "z", w=1.3)
    g = _box(ax, 2.85, 2.2, "generator G\n(03's upsample +\nconv generator)", "G", w=2.0, h=0.85)
    fake = _box(ax, 4.75, 2.2, "generated", "data", w=1.2)
    real = _box(ax, 4.75, 1.0, "real digit", "data", w=1.2)
    aug = _box(ax, 6.35, 1.6, "DiffAugment\n(shift, cut out)", "label", w=1.5, h=0.7)
    d = _box(ax, 8.6, 2.55, "D: P(real)\n(± spectral norm)", "D", w=2.1, h=0.7)
    critic = _box(ax, 8.6, 0.8, "WGAN-GP critic:\na score, no sigmoid", "D", w=2.1, h=0.7)
    _arrow(ax, z["right"], g["left"]), _arrow(ax, g["right"], fake["left"])
    _arrow(ax, fake["right"], aug["left"]), _arrow(ax, real["right"], aug["left"])
    _arrow(ax, aug["right"], d["left"]), _arrow(ax, aug["right"], critic["left"])
    ax.text(6.35, 0.85, "DiffAugment recipe only;\nthe others pass images as they are", fontsize=7, ha="center",
            va="center")
    return fig


# ---------------------------------------------------------------------------------------------- the notebooks


def png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def rendered(name: str) -> dict[str, bytes]:
    return {PREVIEW: png(preview(name)), NETWORKS: png(networks(name))}


def pixels(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.int16)


def differs(stored: bytes, fresh: bytes) -> str | None:
    """None when the two pictures match (same size, every pixel within a few grey levels), else why not."""
    a, b = pixels(stored), pixels(fresh)
    if a.shape != b.shape:
        return f"size {a.shape[1]}x{a.shape[0]} stored, {b.shape[1]}x{b.shape[0]} now"
    diff = np.abs(a - b)
    if diff.mean() > 0.5 or diff.max() > 48:
        return f"pixels differ (mean {diff.mean():.2f}, max {diff.max()} grey levels)"
    return None


def markdown(name: str) -> str:
    return (f"![What this notebook produces: samples from {NOTEBOOKS[name]}, drawn from the shipped weights]"
            f"(attachment:{PREVIEW})\n\n![The networks and the data flow of this notebook](attachment:{NETWORKS})")


def stored(path: Path) -> dict[str, bytes]:
    cell = nbformat.read(path, as_version=4).cells[0]
    return {k: base64.b64decode(v["image/png"]) for k, v in cell.get("attachments", {}).items()}


def write(path: Path, pictures: dict[str, bytes]) -> None:
    nb = nbformat.read(path, as_version=4)
    title = nb.cells[0]
    name = path.stem
    title.attachments = {k: {"image/png": base64.b64encode(v).decode()} for k, v in pictures.items()}
    block = markdown(name)
    lines = [line for line in title.source.split("\n")
             if not line.startswith(("![What this notebook produces", "![The networks and the data flow"))]
    badge = next(i for i, line in enumerate(lines) if line.startswith("[![Open In Colab]"))
    lines[badge + 1 : badge + 1] = ["", *block.split("\n")]
    title.source = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    nbformat.write(nb, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if a picture is out of date")
    args = parser.parse_args()
    stale = []
    for name in NOTEBOOKS:
        path = ROOT / "notebooks" / f"{name}.ipynb"
        fresh, old = rendered(name), stored(path)
        reasons = {k: ("missing" if k not in old else differs(old[k], v)) for k, v in fresh.items()}
        reasons = {k: v for k, v in reasons.items() if v}
        if markdown(name) not in nbformat.read(path, as_version=4).cells[0].source:
            reasons["title cell"] = "does not show both pictures"
        if reasons:
            stale.append(f"{name}: " + "; ".join(f"{k} {v}" for k, v in reasons.items()))
            if not args.check:
                write(path, fresh)
    print("\n".join(stale) or "every preview and diagram is current")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
