"""The exercises as hand-outs and an autograder (``make assignments``, scripts/build_assignments.py).

The build and the student copies are checked here in seconds. The grading runs — the autograder against the
solutions (every exercise scores its point) and against the untouched student copies (none does) — train what
the exercises train, at the exercise budget, so they take minutes: they are marked ``grading``, run by
``make test-main`` beside the rest of the suite (tests/conftest.py starts them first, a topic per scope) and alone
by ``make test-assignments``. They are also the suite's only full run of the solutions notebooks on these versions
(test-main runs under nbval only those with outputs nbval compares; the Colab pass runs them all under nbval in fast
mode, which skips the long runs that grading makes).
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts import build_assignments  # noqa: E402

TOPICS = build_assignments.TOPICS
# Every topic is graded both ways, longest first (tests/conftest.py starts them in this order; seconds measured
# for solutions + untouched copy, alone on the 2-core machine: guides/instructor.md). 02's solutions
# train about 9,000 steps at the exercise budget (2 x 1,000 for exercise 3, 3,000 for exercise 4, 4,000 on
# Fashion-MNIST for exercise 5, which its checks need); its untouched copy trains nothing. (Graded with
# COURSE_FAST=1, which its solutions read as "skip the long runs", it would score 2 of 5: _grade clears it.)
GRADED = ["02_cgan", "05_cvae", "01_gan", "03_dcgan", "04_vae", "03_stabilising_gans"]
assert sorted(GRADED) == sorted(TOPICS), "a new topic: add it to GRADED"


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """``dist(topic)``: that topic's hand-out and autograder, built on first use in this process (a worker builds
    only the topics it was given: tests/conftest.py splits this module by topic)."""
    out = tmp_path_factory.mktemp("assignments")
    built = set()

    def topic_folder(topic: str) -> Path:
        if topic not in built:
            build_assignments.build(topic, out)
            built.add(topic)
        return out / topic

    return topic_folder


def _exercises(topic: str) -> list[int]:
    solutions = nbformat.read(ROOT / "notebooks" / "solutions" / f"{topic}_solutions.ipynb", as_version=4)
    return [int(m.group(1)) for c in solutions.cells if c.cell_type == "markdown"
            and (m := build_assignments.EXERCISE_HEADING.match(c.source))]


@pytest.mark.parametrize("topic", TOPICS)
def test_the_student_copy_keeps_the_checks_and_drops_the_solutions(dist, topic):
    student = nbformat.read(dist(topic) / "student" / f"{topic}.ipynb", as_version=4)
    solution = nbformat.read(dist(topic) / "autograder" / f"{topic}.ipynb", as_version=4)
    text = "\n".join(c.source for c in student.cells)
    exercises = _exercises(topic)
    assert exercises and all(f"check.ex{n}(" in text for n in exercises)
    assert "SOLUTION" not in text and "BEGIN PROMPT" not in text
    # every line of solution code and every explanation is in the autograder's copy only
    student_lines = {line.strip() for c in student.cells for line in c.source.splitlines()}
    solution_only = [line.strip() for c in solution.cells for line in c.source.splitlines()
                     if line.strip() and line.strip() not in student_lines]
    assert solution_only, "the autograder's copy holds no solution"
    first = next(i for i, c in enumerate(student.cells) if c.cell_type == "markdown" and c.source.startswith("## Ex"))
    for cell in student.cells[first:]:  # after the set-up, only the exercises' headings: no diff, no "why"
        if cell.cell_type == "markdown":
            assert cell.source.startswith("## Exercise"), f"{topic}: an explanation left in the student copy"
    # opened on Colab or Kaggle, the hand-out fetches the course first, as the topic notebooks do
    first_code = next(c for c in student.cells if c.cell_type == "code")
    assert "google.colab" in first_code.source and 'COURSE_NOTEBOOK_DIR = "notebooks/solutions"' in first_code.source
    # each student copy parses and binds what its checks read (a blank is the unmodified value or None)
    for cell in student.cells:
        if cell.cell_type == "code":
            compile(cell.source, topic, "exec")


@pytest.mark.parametrize("topic", TOPICS)
def test_the_autograder_has_one_hidden_test_per_exercise(dist, topic):
    zips = list((dist(topic) / "autograder").glob("*-autograder.zip"))
    assert len(zips) == 1
    with zipfile.ZipFile(zips[0]) as bundle:
        tests = sorted(name for name in bundle.namelist() if re.fullmatch(r"tests/ex\d+\.py", name))
        assert tests == sorted(f"tests/ex{n}.py" for n in _exercises(topic))
        for name in tests:
            source = bundle.read(name).decode()
            assert "hidden=True" in source or '"hidden": True' in source or "hidden: true" in source, name


def _grade(submission: Path, autograder: Path, monkeypatch) -> dict[str, float]:
    from otter.api import grade_submission

    monkeypatch.delenv("COURSE_FAST", raising=False)  # the exercise budget: the checks need its training runs
    results = grade_submission(str(submission), str(autograder), quiet=True)
    assert results.catastrophic_error is None, f"{submission.name}: {results.catastrophic_error}"
    return {name: results.get_score(name) for name in results.test_files}


@pytest.mark.grading
@pytest.mark.parametrize("topic", GRADED)
def test_grading_gives_full_marks_to_the_solutions_and_zero_to_the_untouched_copy(dist, topic, monkeypatch, capsys):
    autograder = next((dist(topic) / "autograder").glob("*-autograder.zip"))
    solved = _grade(dist(topic) / "autograder" / f"{topic}.ipynb", autograder, monkeypatch)
    untouched = _grade(dist(topic) / "student" / f"{topic}.ipynb", autograder, monkeypatch)
    with capsys.disabled():
        print(f"\n{topic}: solutions {json.dumps(solved)}, student copy {json.dumps(untouched)}")
    expected = {f"ex{n}" for n in _exercises(topic)}
    assert set(solved) == set(untouched) == expected
    assert all(score == 1 for score in solved.values()), solved
    assert all(score == 0 for score in untouched.values()), untouched


def test_a_check_never_reads_a_name_only_a_solution_defines():
    # 02's exercise 4 once read grid_y, defined in exercise 3's solution only: the student's check raised NameError
    call, blanks = build_assignments._blanks("check.ex4(long_g, judge, long_history, grid_y)",
                                             "check.ex4(short_g, judge, short_history, grid_y)", 4,
                                             {"long_g", "long_history", "short_g", "short_history"},
                                             frozenset({"grid_y", "long_g", "long_history"}))
    assert call == "check.ex4(long_g, judge, long_history, grid_y)"
    assert blanks == ["long_g = None", "long_history = None", "grid_y = None"]
    assert build_assignments._unbound("check.ex1(shipped, E, len(x))", {"check", "shipped"}) == ["E", "x"]
    assert build_assignments._runs_a_notebook_into_globals('run_notebook_here("../04_vae.ipynb", BUDGET="exercise")')
    assert not build_assignments._runs_a_notebook_into_globals("run_notebook_here(NOTEBOOK, namespace={})")
