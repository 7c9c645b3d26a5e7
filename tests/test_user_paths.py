"""The paths users take besides `make lab`: the Colab/Binder badges and the Colab set-up cell of every
notebook, and the git filter that keeps tracked notebooks clean while JupyterLab autosaves outputs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
COLAB_CELL_ID = "colab-setup"
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def repository_url() -> str:
    """The one place the public repository's address is written: the README's 'Repository:' line."""
    found = re.findall(r"^Repository: <(https://github\.com/[\w.-]+/[\w.-]+)>$", (ROOT / "README.md").read_text(), re.M)
    assert len(found) == 1, "README.md needs exactly one line 'Repository: <https://github.com/OWNER/NAME>'"
    return found[0]


def colab_cell_source(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    cell = nb.cells[1]
    assert cell.cell_type == "code" and cell.get("id") == COLAB_CELL_ID, f"{nb_path.name}: cell 1 is the Colab cell"
    return cell.source


def test_every_notebook_is_covered():
    assert [p.name for p in NOTEBOOKS][:1] == ["00_setup.ipynb"] and len(NOTEBOOKS) == 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_cell_badges_open_this_notebook(path):
    """A badge that opens another notebook (copy-paste slip) or another repository is caught here."""
    repo = repository_url().removeprefix("https://github.com/")
    title = nbformat.read(path, as_version=4).cells[0]
    assert title.cell_type == "markdown" and title.source.startswith("# ")
    colab = re.findall(r"\]\((https://colab\.research\.google\.com/github/[^)]*)\)", title.source)
    binder = re.findall(r"\]\((https://mybinder\.org/v2/gh/[^)]*)\)", title.source)
    assert colab == [f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{path.name}"]
    assert binder == [f"https://mybinder.org/v2/gh/{repo}/main?labpath=notebooks%2F{path.name}"]
    assert "load average" not in title.source and "benchmarks/RESULTS.md" in title.source


def test_colab_cell_is_the_same_in_every_notebook_and_clones_the_readme_repository():
    sources = {p.name: colab_cell_source(p) for p in NOTEBOOKS}
    assert len(set(sources.values())) == 1, "the Colab cell differs between notebooks"
    source = next(iter(sources.values()))
    assert f'COURSE_REPO = "{repository_url()}"' in source
    assert "os.chdir(" in source and "!cd" not in source and "%cd" not in source


def test_colab_cell_is_a_silent_no_op_outside_colab(tmp_path):
    """Run in a real kernel, as a student outside Colab would: no output, the directory does not change."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(colab_cell_source(NOTEBOOKS[1])),
        nbformat.v4.new_code_cell("import os\nprint(os.getcwd())"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert nb.cells[0].outputs == []
    assert nb.cells[1].outputs[0]["text"].strip() == str(tmp_path)


def test_colab_cell_in_a_fake_colab_clones_changes_directory_and_imports_helpers(tmp_path):
    """With `google.colab` in sys.modules, the cell clones (here: this repository through file://, offline),
    ends in the clone's notebooks/ and imports `helpers` from the clone; run twice, it does not clone again."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of the repository")
    clone = tmp_path / "content" / "genmodels-course"
    source = colab_cell_source(NOTEBOOKS[4])
    for old, new in ((repository_url(), f"file://{ROOT}"), ("/content/genmodels-course", str(clone))):
        assert source.count(f'"{old}"') == 1, old
        source = source.replace(f'"{old}"', json.dumps(new))
    driver = f"""
import json, os, sys, types
sys.modules["google.colab"] = types.ModuleType("google.colab")
os.chdir({str(tmp_path)!r})
cell = {source!r}
exec(cell, {{}})
first_head = os.path.getmtime(os.path.join({str(clone)!r}, ".git", "HEAD"))
exec(cell, {{}})  # a second run (Run All again) must not clone again or add sys.path twice
import helpers
print(json.dumps({{"cwd": os.getcwd(), "helpers": helpers.__file__, "path_entries": sys.path.count({str(clone)!r}),
                  "recloned": os.path.getmtime(os.path.join({str(clone)!r}, ".git", "HEAD")) != first_head}}))
"""
    result = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["cwd"] == str(clone / "notebooks")
    assert Path(report["helpers"]).resolve().is_relative_to(clone.resolve())
    assert report["path_entries"] == 1 and not report["recloned"]


def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "core.autocrlf=false"]
    result = subprocess.run(["git", *identity, *args], cwd=repo, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_git_filter_hides_autosaved_outputs_but_keeps_checked_outputs(tmp_path):
    """The Makefile's git filter on a real repository: outputs a JupyterLab autosave adds do not dirty
    `git status`; the nbval-checked outputs stay in what is committed; a real source edit still shows."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "notebooks").mkdir()
    for name in (".gitattributes", "scripts/git_strip_notebook.py", "scripts/clean_notebooks.py"):
        shutil.copy(ROOT / name, repo / name)
    committed = (ROOT / "notebooks" / "04_vae.ipynb").read_bytes()
    (repo / "notebooks" / "04_vae.ipynb").write_bytes(committed)
    git(repo, "init", "-q")
    # what `make git-filter` writes, with this interpreter in place of .venv/bin/python
    git(repo, "config", "filter.notebook-outputs.clean", f"{sys.executable} scripts/git_strip_notebook.py")
    git(repo, "config", "filter.notebook-outputs.smudge", "cat")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "course")
    assert git(repo, "show", "HEAD:notebooks/04_vae.ipynb").encode() == committed, "the filter changed a clean notebook"

    path = repo / "notebooks" / "04_vae.ipynb"
    nb = nbformat.read(path, as_version=4)
    checked = [c for c in nb.cells if c.cell_type == "code" and CHECK_MARK in c.source]
    assert checked and all(c.outputs for c in checked)
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code" and CHECK_MARK not in c.source), 1):
        cell.execution_count = count
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="autosaved\n")]
        cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, path)
    assert path.read_bytes() != committed
    # from a subdirectory too: git runs the relative filter command from the top of the work tree
    assert git(repo / "notebooks", "diff") == ""
    # `git status` trusts a changed file size without filtering, so it lists the notebook until `git add`,
    # which stages nothing (the filtered notebook is the committed one) and leaves the outputs on disk
    git(repo, "add", "-u")
    assert git(repo, "status", "--porcelain") == "" and git(repo, "diff", "--cached") == ""
    assert "autosaved" in path.read_text()

    nb.cells[-1].source += "\n# a real edit"
    nbformat.write(nb, path)
    assert git(repo, "status", "--porcelain").strip() == "M notebooks/04_vae.ipynb"
    diff = git(repo, "diff")
    assert "a real edit" in diff and "autosaved" not in diff


def pins(lines) -> set[str]:
    """`name==version` lines of a requirements file or of environment.yml's pip list, comments skipped."""
    return {line.strip().removeprefix("- ").strip() for line in lines if "==" in line and "#" not in line}


def test_conda_environment_and_binder_install_the_runtime_requirements():
    """environment.yml (conda users) carries the same pins as requirements.txt; Binder reads binder/ only,
    which installs requirements.txt itself, then `helpers` without dependencies."""
    runtime = pins((ROOT / "requirements.txt").read_text().splitlines())
    assert runtime and pins((ROOT / "environment.yml").read_text().splitlines()) == runtime
    assert "-r ../requirements.txt" in (ROOT / "binder" / "requirements.txt").read_text()
    assert "pip install --no-cache-dir --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()
    assert not pins((ROOT / "requirements-dev.txt").read_text().splitlines()) & runtime


def test_check_versions_accepts_colab_keras_and_names_the_package_when_too_old(monkeypatch):
    from helpers import environment

    environment.quiet_tensorflow()
    import keras

    monkeypatch.setattr(keras, "__version__", "3.13.2")  # Colab's: must pass
    environment.check_versions()
    monkeypatch.setattr(keras, "__version__", "3.12.1")
    with pytest.raises(RuntimeError, match=r"keras 3\.12\.1 is older than 3\.13.*pip install \"keras>=3\.13\""):
        environment.check_versions()
