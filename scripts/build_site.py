"""The course as a static site: every notebook executed on its shipped weights, rendered by nbconvert.

    python scripts/build_site.py                 # all notebooks -> artifacts/site/
    python scripts/build_site.py --fast 04_vae   # a quick site of one notebook, everything in fast mode

Builder: nbconvert's HTML exporter (JupyterLab's own ``lab`` template, the renderer behind
"File > Save and Export Notebook As > HTML") on the executed copies of ``executed_notebooks.py``
— the same copies ``build_slides.py`` turns into decks. The index is itself a small notebook
(title, the course arc from each notebook's opening paragraph, links) rendered by the same exporter.
MathJax 2.7 is copied into the site (from ``jupyter-server-mathjax``), so formulas typeset offline.

Each page gets a navigation line (index, previous, next) as a markdown cell; links between
notebooks (``04_vae.ipynb``) are rewritten to their pages (``04_vae.html``); each widget is shown
as the pictures it held, with a note that it is live in JupyterLab/Colab.
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from scripts.executed_notebooks import (  # noqa: E402
    MATHJAX_CONFIG,
    NOTEBOOKS,
    StaticWidgetPictures,
    copy_mathjax,
    course_notebooks,
    executed,
)

SITE = ROOT / "artifacts" / "site"
COURSE_TITLE = "Generative models on MNIST: GAN, cGAN, DCGAN, VAE, CVAE"
INTRO = (
    "A course in Jupyter notebooks with TensorFlow 2 / Keras 3. Each page below is a notebook executed on "
    "the course's shipped pretrained weights (fast mode where a notebook has none), with its figures, tables "
    "and formulas. The explorers are shown as pictures; they are live when you run the notebook in JupyterLab "
    "or Colab (see the repository's README)."
)
NOTEBOOK_LINK = re.compile(r"\]\((\.{0,2}/?)((?:solutions/|more/)?\d\d_[\w-]+)\.ipynb(#[^)]*)?\)")
SUBFOLDERS = ("solutions", "more")  # pages one folder down: the solutions and the companions


def page_name(path: Path) -> str:
    """Site-relative page of a notebook: ``04_vae.html``, ``solutions/04_vae.html``, ``more/04_vae_more.html``."""
    return f"{path.parent.name}/{path.stem}.html" if path.parent.name in SUBFOLDERS else f"{path.stem}.html"


def title_and_summary(nb, fallback: str) -> tuple[str, str]:
    """The notebook's ``# title`` and the first paragraph after it (its 'you will learn')."""
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first is None:
        return fallback, ""
    lines = first.source.strip().splitlines()
    title = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("#") else fallback
    paragraphs = [p.strip() for p in "\n".join(lines[1:]).split("\n\n") if p.strip()]
    paragraphs = [p for p in paragraphs if not p.startswith(("[![", "!["))]  # badges and pictures are no summary
    return title, (paragraphs[0] if paragraphs else "")


def link_pages(nb) -> None:
    """Markdown links to sibling notebooks point to their pages instead."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = NOTEBOOK_LINK.sub(lambda m: f"]({m[1]}{m[2]}.html{m[3] or ''})", cell.source)


def navigation(pages: list[tuple[Path, str]], index: int) -> str:
    here = pages[index][0]
    up = "../" if here.parent.name in SUBFOLDERS else ""
    parts = [f"[Course index]({up}index.html)"]
    if index > 0:
        parts.append(f"← [{pages[index - 1][1]}]({up}{page_name(pages[index - 1][0])})")
    if index + 1 < len(pages):
        parts.append(f"[{pages[index + 1][1]}]({up}{page_name(pages[index + 1][0])}) →")
    return " · ".join(parts)


def exporter(depth: int):
    from nbconvert import HTMLExporter

    html = HTMLExporter(template_name="lab")
    html.mathjax_url = "../" * depth + "mathjax/MathJax.js" + MATHJAX_CONFIG
    html.register_preprocessor(StaticWidgetPictures, enabled=True)
    return html


def index_notebook(pages: list[tuple[Path, str, str]]) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_markdown_cell(f"# {COURSE_TITLE}\n\n{INTRO}")]
    topics = [p for p in pages if p[0].parent.name not in SUBFOLDERS]
    solutions = [p for p in pages if p[0].parent.name == "solutions"]
    companions = [p for p in pages if p[0].parent.name == "more"]
    arc = ["## The course, in order"]
    arc += [f"### [{title}]({page_name(path)})\n\n{summary}" for path, title, summary in topics]
    cells.append(nbformat.v4.new_markdown_cell("\n\n".join(arc)))
    if solutions:
        listing = "\n".join(f"- [{title}]({page_name(path)})" for path, title, _ in solutions)
        cells.append(nbformat.v4.new_markdown_cell(f"## Solutions\n\n{listing}"))
    if companions:
        listing = "\n".join(f"- [{title}]({page_name(path)})" for path, title, _ in companions)
        cells.append(nbformat.v4.new_markdown_cell(f"## More: measurements and longer discussions\n\n{listing}"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["title"] = COURSE_TITLE
    return nb


def build(paths: list[Path], site: Path = SITE, fast: bool = False, log=print) -> list[Path]:
    """Render ``paths`` (executed, cached) and an index into ``site``; return the pages written."""
    began = time.perf_counter()
    runs = [(path, executed(path, fast=fast, log=log)) for path in paths]
    described = [(path, *title_and_summary(nb, path.stem)) for path, nb in runs]
    if site.exists() and any(site.iterdir()) and not (site / "index.html").exists():
        raise SystemExit(f"{site} is not empty and holds no site (no index.html): choose another --out folder")
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    copy_mathjax(site / "mathjax")
    written = []
    titles = [(path, title) for path, title, _ in described]
    for index, (path, nb) in enumerate(runs):
        page = copy.deepcopy(nb)
        link_pages(page)
        page.cells.insert(0, nbformat.v4.new_markdown_cell(navigation(titles, index)))
        page.metadata["title"] = titles[index][1]
        depth = 1 if path.parent.name in SUBFOLDERS else 0
        body, _ = exporter(depth).from_notebook_node(page)
        target = site / page_name(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
        written.append(target)
    body, _ = exporter(0).from_notebook_node(index_notebook(described), resources={})
    (site / "index.html").write_text(body, encoding="utf-8")
    (site / ".nojekyll").touch()  # GitHub Pages: serve the folders as they are
    written.insert(0, site / "index.html")
    log(f"site: {len(written)} pages in {site} ({time.perf_counter() - began:.0f} s)")
    return written


def resolve(names: list[str]) -> list[Path]:
    if not names:
        return course_notebooks()
    found = []
    for name in names:
        path = Path(name) if name.endswith(".ipynb") else NOTEBOOKS / f"{name}.ipynb"
        if not path.exists():
            raise SystemExit(f"{name}: no such notebook (give a name like 04_vae or a path to an .ipynb)")
        found.append(path)
    return found


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebook names or paths (default: every course notebook)")
    parser.add_argument("--fast", action="store_true", help="run every notebook in fast mode (quick check)")
    parser.add_argument("--out", type=Path, default=SITE, help=f"output folder (default {SITE.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    build(resolve(args.notebooks), args.out, fast=args.fast)


if __name__ == "__main__":
    main(sys.argv[1:])
