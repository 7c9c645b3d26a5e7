"""Write the hosted set-up cell (Colab, Kaggle) and the title badges into every notebook, for the release in
pyproject.toml.

One template for the cell, one version for every pin: a notebook opened from a badge belongs to the release
``v<version>`` (the badge opens the tagged notebook) and its set-up cell clones that same tag, so notebook and
``helpers`` always match, and a semester can keep using one release while ``main`` moves on. Run after changing
the version (see CHANGELOG.md, "Releasing") or the template; ``tests/test_user_paths.py`` fails until you do.

    .venv/bin/python scripts/sync_setup_cells.py          # rewrite the notebooks
    .venv/bin/python scripts/sync_setup_cells.py --check  # exit 1 if a notebook is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "colab-setup"

# Everything outside Colab and Kaggle skips the whole cell: no output, no change of directory.
CELL_TEMPLATE = '''\
# Colab or Kaggle only: fetch this course release and make `helpers` importable; a silent no-op anywhere else.
import os
import sys

if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
    import importlib.util
    import subprocess

    COURSE_REPO = "{repo}"
    # The release this notebook belongs to. For the newest, unreleased course instead, run
    # os.environ["COURSE_REF"] = "main" in a cell above this one.
    COURSE_REF = os.environ.get("COURSE_REF", "{ref}")
    COURSE_NOTEBOOK_DIR = "{folder}"  # this notebook's folder in the course
    if "google.colab" in sys.modules:
        HOST, COURSE_CLONE = "Colab", "/content/genmodels-course"
    else:
        HOST, COURSE_CLONE = "Kaggle", "/kaggle/working/genmodels-course"
    fetched = not os.path.isdir(os.path.join(COURSE_CLONE, "helpers"))
    if fetched:
        clone = subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", COURSE_REF, COURSE_REPO,
                                COURSE_CLONE], capture_output=True, text=True)
        if clone.returncode != 0:
            raise RuntimeError(f"Could not fetch the course ({{COURSE_REPO}} at {{COURSE_REF}}): "
                               f"{{clone.stderr.strip()}}. On Kaggle, switch Internet on (Settings > Internet); "
                               "for another release set os.environ['COURSE_REF'] (a tag, or 'main') and run again.")
    os.chdir(os.path.join(COURSE_CLONE, COURSE_NOTEBOOK_DIR))  # where the notebook expects to run
    if COURSE_CLONE not in sys.path:
        sys.path.insert(0, COURSE_CLONE)
    # Colab and Kaggle ship TensorFlow, Keras, NumPy, matplotlib, Pillow and ipywidgets (Colab's widget front end
    # needs ipywidgets 7): install only a package that is missing, never upgrade one that is there.
    needed = {{"tensorflow": "tensorflow", "keras": "keras", "numpy": "numpy", "matplotlib": "matplotlib",
              "PIL": "pillow", "ipywidgets": "ipywidgets<8"}}
    missing = [pip_name for module, pip_name in needed.items() if importlib.util.find_spec(module) is None]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)
    print(f"{{HOST}}: course {{COURSE_REF}} {{'fetched to' if fetched else 'already in'}} {{COURSE_CLONE}}, working in "
          f"{{COURSE_NOTEBOOK_DIR}}/" + (f", installed {{', '.join(missing)}}" if missing else ""))'''


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def release_ref() -> str:
    """The git tag of this release: ``v`` + pyproject.toml's version (the tag scheme, see CHANGELOG.md)."""
    return f"v{version()}"


def repository_url() -> str:
    """The one place the public repository's address is written: the README's 'Repository:' line."""
    found = re.findall(r"^Repository: <(https://github\.com/[\w.-]+/[\w.-]+)>$", (ROOT / "README.md").read_text(), re.M)
    if len(found) != 1:
        raise SystemExit("README.md needs exactly one line 'Repository: <https://github.com/OWNER/NAME>'")
    return found[0]


def notebooks() -> list[Path]:
    """Every notebook a student opens: the topic notebooks, their solutions and their companions."""
    folder = ROOT / "notebooks"
    return (sorted(folder.glob("0*.ipynb")) + sorted((folder / "solutions").glob("*.ipynb"))
            + sorted((folder / "more").glob("*.ipynb")))


def cell_source(path: Path) -> str:
    folder = path.parent.relative_to(ROOT).as_posix()
    return CELL_TEMPLATE.format(repo=repository_url(), ref=release_ref(), folder=folder)


def badges(path: Path) -> str:
    repo = repository_url().removeprefix("https://github.com/")
    rel = path.relative_to(ROOT).as_posix()
    ref = release_ref()
    colab = f"https://colab.research.google.com/github/{repo}/blob/{ref}/{rel}"
    binder = f"https://mybinder.org/v2/gh/{repo}/{ref}?labpath={rel.replace('/', '%2F')}"
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
            f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})")


BADGE_LINE = re.compile(r"^\[!\[Open In Colab\].*$", re.M)


def synced(path: Path) -> nbformat.NotebookNode:
    """The notebook with the current cell (inserted as cell 1 if missing) and badges (the title's second paragraph)."""
    nb = nbformat.read(path, as_version=4)
    title = nb.cells[0]
    if title.cell_type != "markdown" or not title.source.startswith("# "):
        raise SystemExit(f"{path.relative_to(ROOT)}: cell 0 must be the title ('# ...')")
    if BADGE_LINE.search(title.source):
        title.source = BADGE_LINE.sub(lambda _: badges(path), title.source, count=1)
    else:
        heading, _, rest = title.source.partition("\n")
        title.source = f"{heading}\n\n{badges(path)}\n" + (f"\n{rest.lstrip(chr(10))}" if rest.strip() else "")
    if nb.cells[1].get("id") != CELL_ID:
        cell = nbformat.v4.new_code_cell(cell_source(path))
        cell["id"] = CELL_ID
        cell.metadata["slideshow"] = {"slide_type": "skip"}
        nb.cells.insert(1, cell)
    nb.cells[1].source = cell_source(path)
    return nb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    args = parser.parse_args()
    stale = []
    for path in notebooks():
        new = synced(path)
        text = nbformat.writes(new)
        if text.rstrip("\n") != path.read_text().rstrip("\n"):
            stale.append(path.relative_to(ROOT).as_posix())
            if not args.check:
                nbformat.write(new, path)
    verb = "out of date" if args.check else "rewritten"
    print(f"{len(stale)} notebook(s) {verb}" + (": " + ", ".join(stale) if stale else ""))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
