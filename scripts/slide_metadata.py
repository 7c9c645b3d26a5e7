"""Slide types for the course notebooks, from a small deterministic rule set.

    python scripts/slide_metadata.py notebooks/01_gan.ipynb            # print the slide type of each cell
    python scripts/slide_metadata.py --write notebooks/[0-9]*.ipynb    # write them into the notebooks

The rules look at an *executed* copy (a code cell is a slide because of what it shows, and the
committed notebooks carry no outputs), so ``--write`` executes each notebook first, or takes its
executed copy from ``artifacts/executed/``; only ``metadata.slideshow`` of each cell is changed.
A cell that already has a ``slideshow`` slide type keeps it: hand-made choices win over the rules.

The rules (nbconvert/RISE slide types: slide, subslide, fragment, "-" = same slide, skip):
- the title cell (first markdown, ``# ...``) and every ``## `` section heading: ``slide``;
- a section about plumbing (parameters, setup, imports, data loading): every cell ``skip``;
- ``###`` headings and markdown that opens with a bold lead-in (``**Loss curves.** ...``): ``subslide``;
- other markdown: ``-`` (continues the slide above);
- a code cell whose output is a figure or a widget: ``subslide`` (its input is hidden on the slides);
- a code cell that prints results in an evaluation or comparison section (numbers, tables): ``-``;
- every other code cell (imports, definitions, training loops, timings): ``skip``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PLUMBING_SECTION = re.compile(r"^(\d+\.\s*)?(parameters|setup|set-up|imports?|data|data and judge)\s*$", re.I)
RESULTS_SECTION = re.compile(r"evaluation|comparing|the table|results|measures", re.I)
BOLD_LEAD_IN = re.compile(r"^\s*(\*\*|__)[^*_\n]+(\*\*|__)")
FIGURE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "application/vnd.jupyter.widget-view+json")
TABLE_TYPES = ("text/html", "text/markdown", "text/latex")


def heading(cell) -> tuple[int, str] | None:
    """(level, title) when a markdown cell opens with a heading, else None."""
    if cell.cell_type != "markdown":
        return None
    match = re.match(r"^(#{1,6})\s+(.*)", cell.source.lstrip())
    return (len(match.group(1)), match.group(2).strip()) if match else None


def shows_figure(cell) -> bool:
    return any(kind in output.get("data", {}) for output in cell.get("outputs", []) for kind in FIGURE_TYPES)


def shows_results(cell) -> bool:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout" and output.get("text", "").strip():
            return True
        if any(kind in output.get("data", {}) for kind in TABLE_TYPES):
            return True
    return False


def slide_types(nb) -> list[str]:
    """One slide type per cell of an executed notebook, by the rules in the module docstring."""
    types, section, plumbing = [], "", False
    for cell in nb.cells:
        head = heading(cell)
        if head is not None and head[0] <= 2:
            section = head[1]
            plumbing = head[0] == 2 and bool(PLUMBING_SECTION.match(section))
            types.append("skip" if plumbing else "slide")
        elif "injected-parameters" in cell.metadata.get("tags", []) or plumbing:
            types.append("skip")
        elif cell.cell_type == "markdown":
            types.append("subslide" if head is not None or BOLD_LEAD_IN.match(cell.source) else "-")
        elif cell.cell_type != "code":
            types.append("skip")
        elif shows_figure(cell):
            types.append("subslide")
        elif shows_results(cell) and RESULTS_SECTION.search(section):
            types.append("-")
        else:
            types.append("skip")
    if types and nb.cells[0].cell_type == "markdown":
        types[0] = "slide"
    return types


def apply(nb, overwrite: bool = False) -> int:
    """Set ``metadata.slideshow.slide_type`` on each cell that has none (every cell when
    ``overwrite``); return how many cells changed."""
    changed = 0
    for cell, kind in zip(nb.cells, slide_types(nb), strict=True):
        if not overwrite and "slide_type" in cell.metadata.get("slideshow", {}):
            continue
        if cell.metadata.get("slideshow", {}).get("slide_type") != kind:
            cell.metadata.setdefault("slideshow", {})["slide_type"] = kind
            changed += 1
    return changed


def write_into(path: Path, overwrite: bool = False) -> int:
    """Write the rules' slide types into the committed notebook ``path``, matching its cells to the
    executed copy by cell id; nothing but ``metadata.slideshow`` changes."""
    from scripts.executed_notebooks import executed

    run = executed(path)
    decided = {cell.get("id"): kind for cell, kind in zip(run.cells, slide_types(run), strict=True)}
    nb = nbformat.read(path, as_version=4)
    changed = 0
    for cell in nb.cells:
        if cell.get("id") not in decided:
            raise SystemExit(f"{path}: cell {cell.get('id')} is not in the executed copy; re-run without a stale cache")
        if not overwrite and "slide_type" in cell.metadata.get("slideshow", {}):
            continue
        if cell.metadata.get("slideshow", {}).get("slide_type") != decided[cell.id]:
            cell.metadata.setdefault("slideshow", {})["slide_type"] = decided[cell.id]
            changed += 1
    if changed:
        nbformat.write(nb, path)
    return changed


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="write the slide types into the notebooks")
    parser.add_argument("--overwrite", action="store_true", help="replace slide types already set by hand")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if not path.exists():
            raise SystemExit(f"{path}: no such notebook")
        if args.write:
            print(f"{path}: {write_into(path, args.overwrite)} cells given a slide type")
            continue
        from scripts.executed_notebooks import executed

        run = executed(path)
        for cell, kind in zip(run.cells, slide_types(run), strict=True):
            first = cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""
            print(f"{kind:9s} {cell.cell_type:8s} {first}")


if __name__ == "__main__":
    main(sys.argv[1:])
