"""Committed notebooks: no outputs except nbval-checked cells, a parameters cell, the project kernel."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
COMPANIONS = sorted((ROOT / "notebooks" / "more").glob("*.ipynb"))
ALL_NOTEBOOKS = NOTEBOOKS + sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb")) + COMPANIONS
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "00_setup.ipynb"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata, "saved widget state: run scripts/clean_notebooks.py"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if CHECK_MARK in cell.source:
            assert cell.execution_count is not None and cell.outputs, f"cell {i}: checked cell without reference output"
        else:
            assert not cell.outputs and cell.execution_count is None, (
                f"{path.name} cell {i} has outputs: run `make clean-notebooks`"
            )


def _whole_floats(value, where: str) -> list[str]:
    if isinstance(value, float) and value.is_integer():
        return [where]
    if isinstance(value, dict):
        return [w for k, v in value.items() for w in _whole_floats(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [w for i, v in enumerate(value) for w in _whole_floats(v, f"{where}[{i}]")]
    return []


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_metadata_holds_whole_numbers_as_integers(path):
    """JupyterLab saves 3.0 as 3: a committed 3.0 would make a notebook that was only run and saved differ from
    git's copy (scripts/clean_notebooks.py and the git filter write integers)."""
    nb = nbformat.read(path, as_version=4)
    found = _whole_floats(dict(nb.metadata), "metadata")
    found += [w for i, c in enumerate(nb.cells) for w in _whole_floats(dict(c.metadata), f"cell {i}")]
    assert not found, f"{path.name}: whole numbers stored as floats (run scripts/clean_notebooks.py): {found[:5]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_one_parameters_cell_with_dataset(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged `parameters` (papermill convention)"
    assert 'DATASET = "mnist"' in tagged[0].source


# What a student reads is teaching: no remarks about the machine the course was built or tested on. The markdown
# and the comments of code cells, in every notebook and solutions notebook. (Measurements with their machine live
# in benchmarks/; "your machine" is the student's own and is fine.)
MACHINE_TALK = re.compile(
    r"\b\d+-core\b|\b\d+ cores\b|\bCPU cores?\b|\bCI\b|continuous integration|load average|\bload of \d"
    r"|(?:quiet|quieter|busy|busier|shared) machine|\bon this (?:CPU|machine)\b|other jobs?\b", re.I)


def student_text(cell) -> str:
    if cell.cell_type == "markdown":
        return cell.source
    return "\n".join(line.split("#", 1)[1] for line in cell.source.splitlines() if "#" in line)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_no_machine_or_ci_talk_in_what_a_student_reads(path):
    nb = nbformat.read(path, as_version=4)
    found = [f"cell {i}: {m.group(0)!r} in …{student_text(c)[max(0, m.start() - 40):m.end() + 40]!r}…"
             for i, c in enumerate(nb.cells) for m in MACHINE_TALK.finditer(student_text(c))]
    assert not found, f"{path.name}: machine or CI talk (move it to benchmarks/):\n" + "\n".join(found)


def test_the_machine_talk_pattern_catches_what_it_should():
    for text in ("84 s under a load of 12 on a shared 2-core CPU", "`fast`: CI", "a busy machine takes longer",
                 "on a quieter machine", "on 2 cores", "On this CPU the step", "with no other job running"):
        assert MACHINE_TALK.search(text), text
    for text in ("the data source on your machine", "the encoder's core idea is", "a score of 12"):
        assert not MACHINE_TALK.search(text), text


# --------------------------------------------------------------------------- the core path's length
# A topic notebook is a 90-minute practice session: its core path stays within scripts/core_words.py's budget
# (exercise texts and references not counted); measurements and longer discussions go to its companion in
# notebooks/more/, linked from the title cell.
TOPIC_NOTEBOOKS = [p for p in NOTEBOOKS if re.match(r"0[1-5]_", p.name)]


@pytest.mark.parametrize("path", TOPIC_NOTEBOOKS, ids=lambda p: p.name)
def test_core_path_fits_a_practice_session(path):
    from scripts.core_words import CORE_WORD_BUDGET, core_word_count

    count = core_word_count(nbformat.read(path, as_version=4))
    assert count <= CORE_WORD_BUDGET, (
        f"{path.name}: {count:,} words on the core path, over the budget of {CORE_WORD_BUDGET:,}: move measurements "
        f"and longer discussions to its companion in notebooks/more/")


@pytest.mark.parametrize("path", TOPIC_NOTEBOOKS, ids=lambda p: p.name)
def test_a_topic_notebook_links_its_companion(path):
    companion = ROOT / "notebooks" / "more" / f"{path.stem}_more.ipynb"
    assert companion.is_file(), f"{path.name}: no companion {companion.relative_to(ROOT)}"
    title = nbformat.read(path, as_version=4).cells[0].source
    assert f"(more/{companion.name})" in title, f"{path.name}: the title cell does not link {companion.name}"


def test_every_companion_belongs_to_a_topic_notebook():
    topics = {p.stem for p in TOPIC_NOTEBOOKS}
    assert COMPANIONS and {p.stem.removesuffix("_more") for p in COMPANIONS} == topics


def test_the_word_count_skips_exercises_and_references():
    from scripts.core_words import core_word_count

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s) for s in (
        "# Title\n\nthree words — [here](x.ipynb) $$",  # '#', '—' and '$$' are no words, nor the link's target
        "## 11. Try it yourself\n\nnot counted at all", "**1. An exercise** not counted",
        "## 12. Summary\n\ncounted again", "## References\n\n* not counted")]
    assert core_word_count(nb) == 4 + 4  # "Title three words [here]" + "12. Summary counted again"
