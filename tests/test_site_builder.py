"""The site and slides builders' rules, on small synthetic notebooks (no kernel, no browser).

The rendered result is checked in Chromium by tests/browser/test_site.py.
"""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts import build_site, slide_metadata  # noqa: E402
from scripts.executed_notebooks import (  # noqa: E402
    LIVE_NOTE,
    WIDGET_STATE,
    WIDGET_VIEW,
    StaticWidgetPictures,
    content_hash,
    course_notebooks,
    run_settings,
)


def tiny_png() -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (4, 3), 128).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_course_notebooks_picks_up_new_topics_and_solutions(tmp_path):
    for name in ["00_setup.ipynb", "07_failures.ipynb", "01_gan.ipynb", "scratch.ipynb", "solutions/01_gan.ipynb",
                 "more/01_gan_more.ipynb"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / name)
    found = [p.relative_to(tmp_path).as_posix() for p in course_notebooks(tmp_path)]
    assert found == ["00_setup.ipynb", "01_gan.ipynb", "07_failures.ipynb", "solutions/01_gan.ipynb",
                     "more/01_gan_more.ipynb"]
    assert build_site.page_name(tmp_path / "solutions" / "01_gan.ipynb") == "solutions/01_gan.html"
    assert build_site.page_name(tmp_path / "more" / "01_gan_more.ipynb") == "more/01_gan_more.html"


def test_index_links_every_course_notebook_with_its_title():
    paths = course_notebooks()
    described = [(p, *build_site.title_and_summary(nbformat.read(p, as_version=4), p.stem)) for p in paths]
    index = build_site.index_notebook(described)
    text = "\n".join(cell.source for cell in index.cells)
    for path, title, summary in described:
        assert f"[{title}]({build_site.page_name(path)})" in text
        if path.parent.name not in build_site.SUBFOLDERS:  # solutions, companions: by title only, after the arc
            assert summary and summary in text, f"{path.name}: no opening paragraph for the course arc"


def test_links_between_notebooks_point_to_pages():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "See [notebook 04](04_vae.ipynb), [its section](04_vae.ipynb#evaluation) and [a file](data.ipynb).")])
    build_site.link_pages(nb)
    assert nb.cells[0].source == ("See [notebook 04](04_vae.html), [its section](04_vae.html#evaluation) "
                                  "and [a file](data.ipynb).")


def test_pretrained_mode_only_where_the_notebook_has_a_weights_switch():
    with_switch = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('WEIGHTS = "train"  # or pretrained')])
    with_switch.cells[0].metadata["tags"] = ["parameters"]
    without = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('DATASET = "mnist"')])
    without.cells[0].metadata["tags"] = ["parameters"]
    assert run_settings(with_switch) == ({"WEIGHTS": "pretrained"}, False)
    assert run_settings(with_switch, fast=True) == ({"WEIGHTS": "pretrained"}, True)
    assert run_settings(without) == ({}, True)


def test_cache_key_ignores_outputs_and_slide_metadata_but_not_source():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    key = content_hash(nb, {}, True)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1")]
    nb.cells[0].metadata["slideshow"] = {"slide_type": "skip"}
    assert content_hash(nb, {}, True) == key
    assert content_hash(nb, {"WEIGHTS": "pretrained"}, True) != key
    nb.cells[0].source = "x = 2"
    assert content_hash(nb, {}, True) != key


def widget_notebook(png: str):
    """An executed notebook as nbclient leaves it: a VBox(slider, HBox(Image)) view and its saved state."""
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_slider", "IPY_MODEL_row"]}},
        "slider": {"model_name": "FloatSliderModel", "state": {"description": "z₁"}},
        "row": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_image"]}},
        "image": {"model_name": "ImageModel", "state": {"format": "png"},
                  "buffers": [{"path": ["value"], "data": png, "encoding": "base64"}]},
    }
    cell = nbformat.v4.new_code_cell("explorer")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        WIDGET_VIEW: {"model_id": "box", "version_major": 2, "version_minor": 0}, "text/plain": "VBox(...)"})]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    return nb


def test_widget_view_becomes_its_picture_and_a_live_note():
    png = tiny_png()
    nb, _ = StaticWidgetPictures().preprocess(widget_notebook(png), {})
    outputs = nb.cells[0].outputs
    assert [list(o.data) for o in outputs] == [["image/png"], ["text/markdown"]]
    assert outputs[0].data["image/png"] == png
    assert outputs[1].data["text/markdown"].startswith(LIVE_NOTE) and "z₁" in outputs[1].data["text/markdown"]
    assert "widgets" not in nb.metadata, "saved widget state would make the page load a widget manager"
    nbformat.validate(nb)


def section_notebook():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    figure = code("plot()")
    figure.outputs = [nbformat.v4.new_output("display_data", data={"image/png": tiny_png()})]
    printed = code("print(score)")
    printed.outputs = [nbformat.v4.new_output("stream", name="stdout", text="FID 12.3\n")]
    params = code("WEIGHTS = 'train'")
    params.metadata["tags"] = ["parameters"]
    cells = [md("# 01 · A model\n\nintro"), code("import keras"), md("## 2. Parameters"), params,
             md("## 3. Theory"), md("The objective is $\\min_G \\max_D V$."), md("**Loss curves.** read them"),
             code("def f(): pass"), figure, md("## 4. Evaluation"), printed, md("### A detail")]
    return nbformat.v4.new_notebook(cells=cells)


def test_slide_rules():
    kinds = slide_metadata.slide_types(section_notebook())
    assert kinds == ["slide", "skip", "skip", "skip", "slide", "-", "subslide", "skip", "subslide", "slide", "-",
                     "subslide"]


def test_slide_types_set_by_hand_are_kept():
    nb = section_notebook()
    nb.cells[1].metadata["slideshow"] = {"slide_type": "slide"}
    changed = slide_metadata.apply(nb)
    assert nb.cells[1].metadata.slideshow.slide_type == "slide"
    assert changed == len(nb.cells) - 1
    assert slide_metadata.apply(nb) == 0


def test_bad_notebook_name_says_what_to_give():
    with pytest.raises(SystemExit, match="no such notebook"):
        build_site.resolve(["99_nothing"])
