"""Build the hand-out and the autograder of every topic's exercises with otter-grader (``make assignments``).

For each topic notebook 01-05 this writes ``assignments/dist/NN_topic/``: ``student/NN_topic.ipynb`` (the exercises
with their check calls, no solutions) and ``autograder/`` (the solutions notebook and the autograder zip that
``otter run`` grades a submission with). See guides/instructor.md, "Handing out and grading the exercises".

One source, nothing written twice: the otter master notebook (``assignments/dist/NN_topic/master.ipynb``) is
composed from ``notebooks/solutions/NN_topic_solutions.ipynb``, which is already proven both ways by the suite
(every ``assert not check.exN(...)`` on the unmodified state, every ``assert check.exN(...)`` on the solution):

- the cells before the first "## Exercise" heading set up the notebook (both versions get them);
- per exercise, the heading opens an otter question worth one point; the solution's code and the markdown after
  it (the diff, the "why") form the solution block, which the student version replaces; the student version gets
  instead the unmodified values (from ``assert not check.exN(...)``) under the names the final check reads;
- ``check.exN(...)`` (the solution's final call) is the student's feedback cell and, evaluated in the graded
  notebook's namespace, the exercise's autograder test (a hidden test: its hint is already the public feedback).

Why otter-grader, not nbgrader: otter assign needs no course directory, exchange or JupyterLab extension, its
student notebooks run on Colab unchanged, and ``otter run`` grades one submission without Docker.

    .venv/bin/python scripts/build_assignments.py            # every topic
    .venv/bin/python scripts/build_assignments.py 04_vae     # one
"""

from __future__ import annotations

import ast
import builtins
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ["01_gan", "02_cgan", "03_dcgan", "03_stabilising_gans", "04_vae", "05_cvae"]
DIST = ROOT / "assignments" / "dist"
EXERCISE_HEADING = re.compile(r"^## Exercise (\d+)\b")
CHECK_CALL = re.compile(r"^(\s*)assert (not )?(check\.ex(\d+)\(.*\))\s*(#.*)?$")


def _raw(text: str):
    return nbformat.v4.new_raw_cell(text)


def _calls(source: str, n: int) -> tuple[str | None, str | None]:
    """The solution's last ``check.exN(...)`` that must pass, and the first one that must fail (unmodified)."""
    passing, failing = None, None
    for line in source.splitlines():
        match = CHECK_CALL.match(line)
        if match and int(match.group(4)) == n:
            if match.group(2):
                failing = failing or match.group(3)
            else:
                passing = match.group(3)
    return passing, failing


def _solution_code(source: str, n: int) -> str:
    """The solution cell's code up to its first passing ``check.exN``, without the check lines: what follows it
    demonstrates more (e.g. that putting a line back changes nothing) and would run before the graded check.
    A check line that was a block's only statement becomes ``pass``."""
    lines = source.splitlines()
    cut = next((i for i, line in enumerate(lines)
                if (m := CHECK_CALL.match(line)) and not m.group(2) and int(m.group(4)) == n), len(lines))
    kept = [(m.group(1) + "pass") if (m := CHECK_CALL.match(line)) else line for line in lines[:cut + 1]]
    code = "\n".join(line for line in kept if line != "pass").strip("\n")
    ast.parse(code)  # a solution that does not parse fails the build here, not in a student's notebook
    return code


def _defined_by(code: str) -> set[str]:
    """Names the code assigns, defines or imports (at any depth)."""
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _runs_a_notebook_into_globals(code: str) -> bool:
    return any(isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_notebook_here"
               and not any(kw.arg == "namespace" for kw in node.keywords) for node in ast.walk(ast.parse(code)))


def _unbound(call: str, bound: set[str]) -> list[str]:
    """Names the check call reads that neither the set-up cells nor the student's blanks define."""
    tree = ast.parse(call)
    read = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return sorted(read - bound - set(dir(builtins)))


def _blanks(passing: str, failing: str | None, n: int, solution_names: set[str],
            earlier_names: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """(the check call the student runs, the lines that give its arguments their unmodified values).

    An argument the solution computes (a name, a name[...] or any other expression) is read from a name the student
    sets; the blank binds that name to what the failing call passes, so the untouched copy runs and scores zero —
    or to None where that value is itself computed by the solution (the student copy does not have it). An argument
    the two calls share is kept as it is, unless it reads a name that only this or an earlier exercise's solution
    defines, not the set-up (``earlier_names``): then it is a blank (None) too, or the student's check would raise a
    NameError."""
    call, old = ast.parse(passing, mode="eval").body, ast.parse(failing, mode="eval").body if failing else None
    if old is not None and any(isinstance(a, ast.Starred) for a in old.args):
        old = None  # the failing call unpacks something: no argument-by-argument correspondence
    args, blanks = [], []
    for k, arg in enumerate(call.args):
        before = old.args[k] if old is not None and k < len(old.args) else None
        same = before is not None and ast.unparse(before) == ast.unparse(arg)
        reads = {node.id for node in ast.walk(arg) if isinstance(node, ast.Name)}
        if (same and not reads & earlier_names) or isinstance(arg, ast.Constant):
            args.append(ast.unparse(arg))
            continue
        if isinstance(arg, ast.Name):
            name = arg.id
        else:
            name = f"ex{n}_answer_{k + 1}"
        args.append(name)
        uses = {node.id for node in ast.walk(before) if isinstance(node, ast.Name)} if before is not None else set()
        unmodified = "None" if before is None or uses & (solution_names | earlier_names) else ast.unparse(before)
        blanks.append(f"{name} = {unmodified}")
    keywords = [f"{kw.arg}={ast.unparse(kw.value)}" for kw in call.keywords]
    return f"{ast.unparse(call.func)}({', '.join(args + keywords)})", blanks


def master(topic: str) -> nbformat.NotebookNode:
    solutions = nbformat.read(ROOT / "notebooks" / "solutions" / f"{topic}_solutions.ipynb", as_version=4)
    cells = solutions.cells  # the Colab/Kaggle set-up cell stays: a hand-out opened there fetches the course too
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": solutions.metadata.get("kernelspec", {})})
    nb.cells.append(_raw(f"# ASSIGNMENT CONFIG\nname: {topic}\ninit_cell: false\ncheck_all_cell: false\n"
                         "export_cell: false\nrun_tests: false\ntests:\n  ok_format: false\ngenerate: true\n"))
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"# {topic} · exercises\n\nThe exercises of `{topic}.ipynb` (its section \"Try it yourself\" says what each "
        "asks). Write each answer in the cell under the exercise's heading, then run the check below it: it prints ✓ "
        "or ✗ with a hint. Submit this notebook: the grader runs it from the top, one point per passing check."))
    starts = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and EXERCISE_HEADING.match(c.source)]
    nb.cells += [c for c in cells[1:starts[0]]]
    setup = [c.source for c in cells[1:starts[0]] if c.cell_type == "code"]
    setup_names = set().union(*(_defined_by(source) for source in setup))
    # run_notebook_here without a namespace of its own runs a course notebook into the globals: names no parser sees
    dynamic_setup = any(_runs_a_notebook_into_globals(source) for source in setup)
    earlier_names: set[str] = set()
    for at, end in zip(starts, starts[1:] + [len(cells)]):
        n = int(EXERCISE_HEADING.match(cells[at].source).group(1))
        body = cells[at + 1:end]
        code = [c for c in body if c.cell_type == "code"]
        passing = failing = None
        for c in code:
            p, f = _calls(c.source, n)
            passing, failing = p or passing, failing or f
        if passing is None:
            raise SystemExit(f"{topic}, exercise {n}: no `assert check.ex{n}(...)` in its solution cells")
        solution_names = set().union(*(_defined_by(_solution_code(c.source, n)) for c in code))
        earlier_names |= solution_names
        student_call, blanks = _blanks(passing, failing, n, solution_names, frozenset(earlier_names - setup_names))
        missing = _unbound(student_call, setup_names | {b.split(" = ")[0] for b in blanks})
        if missing and not dynamic_setup:
            raise SystemExit(f"{topic}, exercise {n}: the student's check `{student_call}` reads {', '.join(missing)}, "
                             "which only a solution defines: define it in the solutions notebook's set-up cells")
        heading = nbformat.v4.new_markdown_cell(cells[at].source.splitlines()[0])
        nb.cells += [_raw(f"# BEGIN QUESTION\nname: ex{n}\npoints: 1\ncheck_cell: false"), heading,
                     _raw("# BEGIN SOLUTION")]
        last_code = code[-1]
        for c in body:
            if c.cell_type == "code":
                src = _solution_code(c.source, n)
                src = "# BEGIN SOLUTION NO PROMPT\n" + src + "\n# END SOLUTION"
                if blanks:
                    src += '\n""" # BEGIN PROMPT\n' + "\n".join(
                        [f"# Exercise {n}: make the change it asks for here (copy the cells you change from the",
                         "# notebook), then point the names below, which the check reads, at your result.",
                         *blanks]) + '\n"""; # END PROMPT'
                answer = [f"{name}{ast.unparse(arg)}" for name, arg in _answers(passing, student_call)]
                if answer and c is last_code:
                    src += "\n" + "\n".join(f"{line}  # SOLUTION NO PROMPT" for line in answer)
                nb.cells.append(nbformat.v4.new_code_cell(src))
            else:
                nb.cells.append(nbformat.v4.new_markdown_cell(c.source))
        nb.cells.append(_raw("# END SOLUTION"))
        nb.cells.append(nbformat.v4.new_code_cell(student_call))
        nb.cells += [_raw("# BEGIN TESTS"), nbformat.v4.new_code_cell(
            f'""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'
            f"def test_ex{n}(env):\n    assert eval({student_call!r}, env), 'check.ex{n} did not pass'\n\n"
            f"test_ex{n}(globals())  # IGNORE"), _raw("# END TESTS"), _raw("# END QUESTION")]
    return nb


def _answers(passing: str, student_call: str):
    """(name, expression) for each argument the student call reads from a name the solution must set."""
    solved, asked = ast.parse(passing, mode="eval").body, ast.parse(student_call, mode="eval").body
    for arg, name in zip(solved.args, asked.args):
        if isinstance(name, ast.Name) and re.fullmatch(r"ex\d+_answer_\d+", name.id):
            yield f"{name.id} = ", arg


def build(topic: str, dist: Path = DIST) -> Path:
    out = dist / topic
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    path = out / f"{topic}.ipynb"
    nbformat.write(master(topic), path)
    done = subprocess.run([str(Path(sys.executable).parent / "otter"), "assign", "--no-run-tests", path.name, "."],
                          cwd=out, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"otter assign failed for {topic}:\n{done.stdout}\n{done.stderr}")
    (out / "master.ipynb").write_text(path.read_text())
    path.unlink()
    zips = sorted((out / "autograder").glob("*.zip"))
    zips[-1].rename(out / "autograder" / f"{topic}-autograder.zip")
    print(f"{topic}: {out}/student/{topic}.ipynb, autograder/{topic}-autograder.zip")
    return out


def main(argv: list[str]) -> int:
    for topic in argv or TOPICS:
        if topic not in TOPICS:
            raise SystemExit(f"unknown topic {topic!r}: one of {', '.join(TOPICS)}")
        build(topic)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
