"""Reveal.js decks of the topic notebooks, executed on their shipped weights.

    python scripts/build_slides.py             # every topic notebook (NN_*.ipynb but 00) -> artifacts/slides/
    python scripts/build_slides.py 04_vae      # one deck
    python scripts/build_slides.py --reveal-prefix reveal.js   # a local reveal.js copy (offline rooms)

Each deck comes from the notebook's executed copy (``executed_notebooks.py``, shared with the site):
the slide types of ``slide_metadata.py``'s rules are applied to the cells that have none, code is
hidden (the outputs stay), widgets become the pictures they held with a 'live in JupyterLab/Colab'
note, and nbconvert's slides exporter writes ``NN_name.slides.html``. MathJax is copied beside the
decks; reveal.js is loaded from its CDN unless ``--reveal-prefix`` names a local copy.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from scripts import slide_metadata  # noqa: E402
from scripts.build_site import resolve  # noqa: E402
from scripts.executed_notebooks import (  # noqa: E402
    MATHJAX_CONFIG,
    StaticWidgetPictures,
    copy_mathjax,
    course_notebooks,
    executed,
)

SLIDES = ROOT / "artifacts" / "slides"


def topic_notebooks() -> list[Path]:
    """The notebooks that get a deck: every ``NN_*.ipynb`` except the setup check (no solutions)."""
    return [p for p in course_notebooks() if p.parent.name != "solutions" and not p.name.startswith("00_")]


def deck_notebook(nb):
    """A copy of an executed notebook ready for the slides exporter."""
    deck = copy.deepcopy(nb)
    slide_metadata.apply(deck)
    first = next((c for c in deck.cells if c.cell_type == "markdown"), None)
    if first is not None and first.source.startswith("# "):
        deck.metadata["title"] = first.source.splitlines()[0][2:].strip()  # the browser tab's title
    for cell in deck.cells:
        if cell.cell_type == "code":  # warnings and logs are not for the audience
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    return deck


def exporter(reveal_prefix: str | None):
    from nbconvert import SlidesExporter

    slides = SlidesExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    slides.reveal_scroll = True  # long theory slides scroll instead of being cut off
    slides.reveal_transition = "none"
    slides.mathjax_url = "mathjax/MathJax.js" + MATHJAX_CONFIG
    if reveal_prefix:
        slides.reveal_url_prefix = reveal_prefix
    slides.register_preprocessor(StaticWidgetPictures, enabled=True)
    return slides


def build(paths: list[Path], out: Path = SLIDES, fast: bool = False, reveal_prefix: str | None = None,
          log=print) -> list[Path]:
    began = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "mathjax").exists():
        copy_mathjax(out / "mathjax")
    written = []
    for path in paths:
        deck = deck_notebook(executed(path, fast=fast, log=log))
        kinds = [c.metadata.get("slideshow", {}).get("slide_type") for c in deck.cells]
        body, _ = exporter(reveal_prefix).from_notebook_node(deck)
        target = out / f"{path.stem}.slides.html"
        target.write_text(body, encoding="utf-8")
        written.append(target)
        log(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
            f"{kinds.count('slide')} slides, {kinds.count('subslide')} sub-slides, {kinds.count('skip')} cells skipped")
    log(f"slides: {len(written)} decks in {out} ({time.perf_counter() - began:.0f} s)")
    return written


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebook names or paths (default: every topic notebook)")
    parser.add_argument("--fast", action="store_true", help="run every notebook in fast mode (quick check)")
    parser.add_argument("--out", type=Path, default=SLIDES)
    parser.add_argument("--reveal-prefix", help="URL or relative path of a reveal.js 4 copy (default: its CDN)")
    args = parser.parse_args(argv)
    build(resolve(args.notebooks) if args.notebooks else topic_notebooks(), args.out, args.fast, args.reveal_prefix)


if __name__ == "__main__":
    main(sys.argv[1:])
