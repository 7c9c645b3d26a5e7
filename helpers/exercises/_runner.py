"""Run a course notebook's code inside a solutions notebook, with the exercise's settings and edits."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

RUN_LINES = ("New training run", "Resumed", "Trained")  # what is worth seeing of a re-run notebook
# The course's topic notebooks, wherever the caller runs (a solutions notebook, or an assignment copy being graded)
COURSE_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def run_notebook_here(path: str | Path, *, edits: Mapping[str, str] | None = None, skip_cells: Iterable[str] = (),
                      stop_after: str | None = None, namespace: dict | None = None, **parameters) -> dict:
    """Run the code cells of the notebook at ``path`` and return the namespace they ran in.

    ``parameters`` replace their assignments in the notebook's ``parameters`` cell, so settings derived from
    them there follow (``TRAIN_STEPS = config.by_budget(BUDGET, ...)`` with ``BUDGET="exercise"``) — which
    ``%run`` (the notebook's own values win) and papermill-style injection after the cell (derived values keep
    the old budget) cannot do. ``edits`` ({old text: new text}) apply an exercise's change to the cells'
    source; each must match somewhere. ``skip_cells`` (cell ids) and ``stop_after`` (a cell id) leave out
    cells. With ``namespace=None`` the cells run in this kernel's own namespace, so the solutions notebook
    continues with the notebook's models and functions; pass a dict to keep several runs apart. Figures,
    widgets and printed output are hidden; the lines about training runs are shown.
    """
    import matplotlib.pyplot as plt
    import nbformat
    from IPython import get_ipython
    from IPython.utils.capture import capture_output

    path = Path(path)
    if not path.is_file() and (COURSE_NOTEBOOKS / path.name).is_file():
        path = COURSE_NOTEBOOKS / path.name  # run from elsewhere (an assignment being graded): the course's copy
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}, nor {path.name} in {COURSE_NOTEBOOKS}")
    if namespace is None:
        shell = get_ipython()
        if shell is None:
            raise RuntimeError("run_notebook_here(namespace=None) runs in an IPython kernel: call it from a notebook")
        namespace = shell.user_ns
    namespace.setdefault("display", lambda *args, **kwargs: None)
    todo, skip = dict(edits or {}), set(skip_cells)
    cells = nbformat.read(path, as_version=4).cells
    if parameters and not any("parameters" in c.metadata.get("tags", []) for c in cells):
        raise ValueError(f"{path.name} has no cell tagged 'parameters' to set {sorted(parameters)} in")
    for cell in cells:
        if cell.cell_type != "code" or cell.get("id") in skip or cell.get("id") == "colab-setup":
            continue
        source = cell.source
        for old, new in list(todo.items()):
            if old in source:
                source = source.replace(old, new)
                del todo[old]
        if "parameters" in cell.metadata.get("tags", []):
            for name, value in parameters.items():
                source, found = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", source, flags=re.MULTILINE)
                if found != 1:
                    raise ValueError(f"{path.name}'s parameters cell does not set {name} (on a line of its own)")
        with capture_output() as captured:
            exec(compile(source, f"{path.name}, cell {cell.get('id')}", "exec"), namespace)
            plt.close("all")  # the notebook's figures stay hidden, as its printed output does
        for line in captured.stdout.splitlines():
            if line.startswith(RUN_LINES):
                print(line)
        if stop_after is not None and cell.get("id") == stop_after:
            break
    if todo:
        raise ValueError(f"edits that matched no cell of {path.name}: {list(todo)}")
    return namespace
