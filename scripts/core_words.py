"""How long each topic notebook's core path is to read: words of markdown, exercises and references not counted.

A topic notebook is a 90-minute practice session, so its core path (promise, theory, model, the lecture's recipe,
training, pictures, widgets) has a word budget, ``CORE_WORD_BUDGET``; measurements and extended discussions live
in its companion under ``notebooks/more/``. ``tests/test_notebook_hygiene.py`` holds every topic notebook to it.

A word is a whitespace-separated token of a markdown cell that holds a letter or a digit (so "—", "*" and "$$" are
not words), with link and image targets (``](...)``) and HTML comments removed. Not counted: the cells of the
"Try it yourself" section (the exercise texts, from its heading to the next ``## `` heading) and of the
"References" section.

    .venv/bin/python scripts/core_words.py notebooks/0[1-5]_*.ipynb
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

CORE_WORD_BUDGET = 2_000
UNCOUNTED_SECTIONS = ("try it yourself", "references")

_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_WORDLIKE = re.compile(r"\w")


def words(markdown: str) -> int:
    text = _HTML_COMMENT.sub(" ", _LINK_TARGET.sub("]", markdown))
    return sum(1 for token in text.split() if _WORDLIKE.search(token))


def core_word_count(nb) -> int:
    """Words of the notebook's markdown outside the exercise and reference sections."""
    total, counting = 0, True
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        heading = re.match(r"##\s+(?:\d+\.\s*)?(.*)", cell.source.strip())
        if heading:
            counting = not heading.group(1).strip().lower().startswith(UNCOUNTED_SECTIONS)
        if counting:
            total += words(cell.source)
    return total


def main(paths: list[str]) -> int:
    for name in paths:
        count = core_word_count(nbformat.read(name, as_version=4))
        verdict = "within" if count <= CORE_WORD_BUDGET else "OVER"
        print(f"{Path(name).name:<22} {count:>6,} core words ({verdict} the budget of {CORE_WORD_BUDGET:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
