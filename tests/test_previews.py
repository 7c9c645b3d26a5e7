"""Each topic notebook opens with two pictures before any code runs: what it will produce, drawn from the shipped
weights, and a diagram of its networks (scripts/render_previews.py, stored as attachments of the title cell).
They must be current: drawn again here, they match the stored ones pixel for pixel (within a few grey levels)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import render_previews  # noqa: E402


@pytest.mark.parametrize("name", list(render_previews.NOTEBOOKS))
def test_title_cell_shows_a_current_preview_and_diagram(name):
    path = ROOT / "notebooks" / f"{name}.ipynb"
    title = nbformat.read(path, as_version=4).cells[0]
    assert render_previews.markdown(name) in title.source, "run scripts/render_previews.py"
    stored = render_previews.stored(path)
    fresh = render_previews.rendered(name)
    assert set(stored) == set(fresh), f"{name}: attachments {sorted(stored)}: run scripts/render_previews.py"
    for picture, data in fresh.items():
        why = render_previews.differs(stored[picture], data)
        assert why is None, f"{name} {picture}: {why}; the shipped weights or the diagram changed: run " \
                            "scripts/render_previews.py"


def test_a_changed_picture_is_caught():
    fresh = render_previews.rendered("04_vae")
    assert render_previews.differs(fresh["preview.png"], fresh["preview.png"]) is None
    assert "size" in render_previews.differs(fresh["preview.png"], fresh["networks.png"])
    import io

    import numpy as np
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(fresh["preview.png"])).convert("RGB")).copy()
    image[: image.shape[0] // 2] = 255 - image[: image.shape[0] // 2]  # half of it inverted
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="png")
    assert "pixels differ" in render_previews.differs(fresh["preview.png"], buffer.getvalue())
