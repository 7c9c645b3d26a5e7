"""Executed copies of the course notebooks, shared by ``build_slides.py`` and ``build_site.py``.

Executing every notebook on its shipped weights costs minutes on a small CPU, so each notebook is
executed once and the executed copy is cached in ``artifacts/executed/``, keyed on a hash of what
decides its outputs: the notebook's cells (type, source, tags — not outputs or slide metadata),
the injected parameters, the mode, and the ``helpers/`` code and weights registry it runs against.

Modes: a notebook whose ``parameters`` cell has a ``WEIGHTS`` switch runs with
``WEIGHTS = "pretrained"`` injected after that cell (as ``scripts/train_pretrained.py``'s
``inject_parameters`` does) and, by default, without ``COURSE_FAST`` (full-size evaluation of the
shipped models, the numbers the prose discusses). A notebook without the switch runs in fast mode.
``fast=True`` runs every notebook in fast mode (the browser test uses it to stay cheap).

Widgets have no kernel in static HTML. ``StaticWidgetPictures`` replaces each widget view in the
outputs with the pictures its ``ipywidgets.Image`` children held when the notebook ran (nbclient
records widget state, binary buffers included, in ``metadata.widgets``) plus a note that the
explorer is live in JupyterLab/Colab.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from scripts.train_pretrained import inject_parameters  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
CACHE = ROOT / "artifacts" / "executed"
# everything a notebook's outputs depend on besides the notebook itself
DEPENDENCIES = [*sorted((ROOT / "helpers").glob("*.py")), ROOT / "data" / "weights" / "registry.json"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
LIVE_NOTE = (
    "*Interactive explorer — live in JupyterLab or Colab (run the notebook). "
    "This is its picture at the starting setting.*"
)


def course_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """Every ``NN_*.ipynb`` of the course, then every ``solutions/NN_*.ipynb`` and ``more/NN_*.ipynb``, in order.

    Picks up new notebooks (a failure gallery, a solutions folder) without a list to maintain."""
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    return (found + sorted((folder / "solutions").glob("[0-9][0-9]_*.ipynb"))
            + sorted((folder / "more").glob("[0-9][0-9]_*.ipynb")))


def parameters_cell(nb):
    return next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)


def has_pretrained_path(nb) -> bool:
    cell = parameters_cell(nb)
    return cell is not None and any(line.split("=")[0].strip() == "WEIGHTS" for line in cell.source.splitlines())


def run_settings(nb, fast: bool = False) -> tuple[dict, bool]:
    """(parameters to inject, fast mode?) for one notebook."""
    if has_pretrained_path(nb):
        return {"WEIGHTS": "pretrained"}, fast
    return {}, True


def content_hash(nb, parameters: dict, fast: bool) -> str:
    """Hash of what decides the executed outputs; outputs and slide metadata are left out, so
    writing slide metadata into a notebook (``slide_metadata.py --write``) keeps its cache entry."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        digest.update(json.dumps([cell.cell_type, cell.source, cell.metadata.get("tags", [])]).encode())
    digest.update(json.dumps([parameters, fast]).encode())
    for path in DEPENDENCIES:
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def executed(path: Path, fast: bool = False, timeout: int = 1800, log=print) -> nbformat.NotebookNode:
    """The executed copy of ``path`` (from the cache, or executed now and cached)."""
    from nbclient import NotebookClient

    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    parameters, fast_mode = run_settings(nb, fast)
    relative = path.relative_to(NOTEBOOKS) if path.is_relative_to(NOTEBOOKS) else Path(path.name)
    key = content_hash(nb, parameters, fast_mode)
    mode = "fast" if fast_mode else "full"
    cached = CACHE / relative.parent / f"{path.stem}.{mode}.{key}.ipynb"
    if cached.exists():
        log(f"{relative}: executed copy from cache ({cached.relative_to(ROOT)})")
        return nbformat.read(cached, as_version=4)
    if parameters:
        inject_parameters(nb, parameters)
    env_before = {name: os.environ.get(name) for name in ("COURSE_FAST", "COURSE_RUNS_DIR")}
    if fast_mode:
        os.environ["COURSE_FAST"] = "1"
    else:
        os.environ.pop("COURSE_FAST", None)
    os.environ["COURSE_RUNS_DIR"] = tempfile.mkdtemp(prefix="site-runs-")
    began = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        for name, value in env_before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    settings = ", ".join([mode, *(f"{k}={v!r}" for k, v in parameters.items())])
    log(f"{relative}: executed in {time.perf_counter() - began:.0f} s ({settings})")
    cached.parent.mkdir(parents=True, exist_ok=True)
    for stale in cached.parent.glob(f"{path.stem}.{mode}.*.ipynb"):  # older versions in the same mode
        stale.unlink()
    nbformat.write(nb, cached)
    return nb


def widget_state(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _model_id(reference: str) -> str:
    return reference.removeprefix("IPY_MODEL_")


def widget_pictures(state: dict, model_id: str) -> tuple[list[str], list[str]]:
    """(base64 PNGs of the ``Image`` widgets under ``model_id``, descriptions of its controls), in
    the order they appear in the widget tree."""
    pictures, controls = [], []

    def walk(mid: str) -> None:
        model = state.get(mid)
        if model is None:
            return
        fields = model.get("state", {})
        if model.get("model_name") == "ImageModel":
            buffer = next((b for b in model.get("buffers", []) if b.get("path") == ["value"]), None)
            if buffer and buffer.get("data") and fields.get("format", "png") == "png":
                pictures.append(buffer["data"])
        elif fields.get("description") and model.get("model_name", "").endswith(
                ("SliderModel", "ButtonsModel", "DropdownModel", "ButtonModel", "TextModel")):
            controls.append(fields["description"])
        for child in fields.get("children", []):
            walk(_model_id(child))

    walk(model_id)
    return pictures, controls


class StaticWidgetPictures(Preprocessor):
    """Widget views -> the PNGs their Image widgets showed, plus a 'live in JupyterLab/Colab' note.

    Drops the saved widget state afterwards, so the HTML does not try to load a widget manager."""

    def preprocess(self, nb, resources):
        state = widget_state(nb)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            outputs = []
            for output in cell.get("outputs", []):
                view = output.get("data", {}).get(WIDGET_VIEW)
                if view is None:
                    outputs.append(output)
                    continue
                pictures, controls = widget_pictures(state, view["model_id"])
                for png in pictures:
                    outputs.append(nbformat.v4.new_output("display_data", data={"image/png": png}))
                if not pictures:
                    continue  # a widget with nothing to picture (e.g. a lone button): nothing to show
                note = LIVE_NOTE + (f" Controls: {', '.join(controls)}." if controls else "")
                outputs.append(nbformat.v4.new_output("display_data", data={"text/markdown": note}))
                cell.metadata["static_widget"] = True
            cell.outputs = outputs
        nb.metadata.pop("widgets", None)
        return nb, resources


def mathjax_folder() -> Path:
    """MathJax 2.7 shipped by the ``jupyter-server-mathjax`` package (requirements-docs.txt), so
    the pages typeset formulas offline and from GitHub Pages alike; nbconvert's templates are
    written for MathJax 2."""
    try:
        import jupyter_server_mathjax
    except ImportError as error:
        raise SystemExit("MathJax for the site comes from the package jupyter-server-mathjax: "
                         "run `.venv/bin/pip install -r requirements-docs.txt`") from error
    return Path(jupyter_server_mathjax.__file__).parent / "static"


# jupyter-server-mathjax ships only the STIX-Web fonts: tell MathJax so (it asks for TeX fonts otherwise)
MATHJAX_LOCAL_CONFIG = """MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web",
                                imageFont: null}});
MathJax.Ajax.loadComplete("[MathJax]/config/local/course.js");
"""
MATHJAX_CONFIG = "?config=TeX-AMS-MML_HTMLorMML-full,Safe,local/course"


def copy_mathjax(target: Path) -> None:
    """MathJax into ``target`` (HTML-CSS output only), with the course's font configuration."""
    shutil.copytree(mathjax_folder(), target, ignore=shutil.ignore_patterns("SVG", "tests", "__pycache__"))
    (target / "config" / "local").mkdir(parents=True, exist_ok=True)
    (target / "config" / "local" / "course.js").write_text(MATHJAX_LOCAL_CONFIG, encoding="utf-8")
