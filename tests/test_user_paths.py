"""The paths users take besides `make lab`: the Colab/Binder badges and the Colab set-up cell of every
notebook, and the git filter that keeps tracked notebooks clean while JupyterLab autosaves outputs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import training_times  # noqa: E402
from scripts import sync_setup_cells  # noqa: E402

TOPIC_NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
NOTEBOOKS = sync_setup_cells.notebooks()  # the topic notebooks and their solutions
COLAB_CELL_ID = sync_setup_cells.CELL_ID
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
CLONE_PATHS = {"Colab": "/content/genmodels-course", "Kaggle": "/kaggle/working/genmodels-course"}


def repository_url() -> str:
    return sync_setup_cells.repository_url()


def colab_cell_source(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    cell = nb.cells[1]
    assert cell.cell_type == "code" and cell.get("id") == COLAB_CELL_ID, f"{nb_path.name}: cell 1 is the set-up cell"
    return cell.source


def test_every_notebook_is_covered():
    assert [p.name for p in TOPIC_NOTEBOOKS][:1] == ["00_setup.ipynb"] and len(TOPIC_NOTEBOOKS) == 9
    assert all(p.name.endswith("_solutions.ipynb") for p in NOTEBOOKS[9:15]) and len(NOTEBOOKS) >= 15
    assert all(p.parent.name == "more" and p.name.endswith("_more.ipynb") for p in NOTEBOOKS[15:])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_cell_badges_open_this_notebook_at_this_release(path):
    """A badge that opens another notebook (copy-paste slip), another repository or another release than the one
    its set-up cell clones is caught here."""
    repo = repository_url().removeprefix("https://github.com/")
    ref = sync_setup_cells.release_ref()
    rel = path.relative_to(ROOT).as_posix()
    title = nbformat.read(path, as_version=4).cells[0]
    assert title.cell_type == "markdown" and title.source.startswith("# ")
    colab = re.findall(r"\]\((https://colab\.research\.google\.com/github/[^)]*)\)", title.source)
    binder = re.findall(r"\]\((https://mybinder\.org/v2/gh/[^)]*)\)", title.source)
    assert colab == [f"https://colab.research.google.com/github/{repo}/blob/{ref}/{rel}"]
    assert binder == [f"https://mybinder.org/v2/gh/{repo}/{ref}?labpath={rel.replace('/', '%2F')}"]
    assert "load average" not in title.source
    assert "benchmarks/RESULTS.md" not in title.source, "a title cell says what a student needs, not where records are"
    if path.stem in training_times.NOTEBOOK_MODELS:  # the course run's time, as recorded (part J of RESULTS.md)
        quoted = re.findall(r"≈ (\d+) min on a laptop CPU", title.source)
        assert quoted == [str(training_times.minutes(path.stem))], (
            f"{path.name}: the title quotes {quoted} minutes; the shipped weights' records say "
            f"≈ {training_times.minutes(path.stem)} min (benchmarks/training_times.py)")


def test_training_times_in_the_results_are_current():
    assert "\n".join(training_times.section_lines()) in (ROOT / "benchmarks" / "RESULTS.md").read_text(), (
        "part J of benchmarks/RESULTS.md is out of date: run benchmarks/training_times.py")


def test_setup_cells_and_badges_are_in_sync_with_the_template_and_the_version():
    """Every notebook's cell 1 is scripts/sync_setup_cells.py's template for this release and its own folder:
    after a version bump or a template change, run that script."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "sync_setup_cells.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in NOTEBOOKS:
        source = colab_cell_source(path)
        assert f'COURSE_REPO = "{repository_url()}"' in source
        assert f'os.environ.get("COURSE_REF", "{sync_setup_cells.release_ref()}")' in source
        assert f'COURSE_NOTEBOOK_DIR = "{path.parent.relative_to(ROOT).as_posix()}"' in source
        assert "os.chdir(" in source and "!cd" not in source and "%cd" not in source


def test_colab_cell_is_a_silent_no_op_outside_colab(tmp_path):
    """Run in a real kernel, as a student outside Colab would: no output, the directory does not change."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(colab_cell_source(NOTEBOOKS[1])),
        nbformat.v4.new_code_cell("import os\nprint(os.getcwd())"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute(env=env)
    assert nb.cells[0].outputs == []
    assert nb.cells[1].outputs[0]["text"].strip() == str(tmp_path)


def released_origin(tmp_path: Path) -> str:
    """A stand-in for the public repository: a bare clone of this one with the release tag on HEAD (offline)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of the repository")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(ROOT), str(origin))
    git(origin, "tag", "--force", sync_setup_cells.release_ref(), "HEAD")
    return f"file://{origin}"


def hosted_cell(path: Path, host: str, origin: str, clone: Path) -> str:
    source = colab_cell_source(path)
    for old, new in ((repository_url(), origin), (CLONE_PATHS[host], str(clone))):
        assert source.count(f'"{old}"') == 1, old
        source = source.replace(f'"{old}"', json.dumps(new))
    return source


@pytest.mark.parametrize("path", [NOTEBOOKS[4], NOTEBOOKS[-2]], ids=lambda p: p.name)
def test_colab_cell_in_a_fake_colab_clones_the_release_changes_directory_and_imports_helpers(tmp_path, path):
    """With `google.colab` in sys.modules, the cell clones the release tag (here from a local stand-in for the
    repository), ends in the notebook's own folder of the clone (a solutions notebook in notebooks/solutions, where
    its `../` paths hold), imports `helpers` from the clone and says so in one line; run twice, it does not clone
    again."""
    clone = tmp_path / "content" / "genmodels-course"
    source = hosted_cell(path, "Colab", released_origin(tmp_path), clone)
    driver = f"""
import json, os, sys, types
sys.modules["google.colab"] = types.ModuleType("google.colab")
os.environ.pop("COURSE_REF", None)
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
    lines = result.stdout.strip().splitlines()
    ref = sync_setup_cells.release_ref()
    folder = path.parent.relative_to(ROOT).as_posix()
    assert lines[:2] == [f"Colab: course {ref} fetched to {clone}, working in {folder}/",
                         f"Colab: course {ref} already in {clone}, working in {folder}/"]
    report = json.loads(lines[-1])
    assert report["cwd"] == str(clone / folder)
    assert Path(report["helpers"]).resolve().is_relative_to(clone.resolve())
    assert report["path_entries"] == 1 and not report["recloned"]


def test_setup_cell_names_the_ref_and_the_fix_when_the_release_cannot_be_fetched(tmp_path):
    clone = tmp_path / "content" / "genmodels-course"
    source = hosted_cell(NOTEBOOKS[1], "Colab", released_origin(tmp_path), clone)
    driver = f"""
import os, sys, types
sys.modules["google.colab"] = types.ModuleType("google.colab")
os.environ["COURSE_REF"] = "v0.0.0-no-such-tag"
exec({source!r}, {{}})
"""
    result = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and not clone.exists()
    assert "Could not fetch the course" in result.stderr and "v0.0.0-no-such-tag" in result.stderr
    assert "COURSE_REF" in result.stderr.splitlines()[-1]


def test_kaggle_like_run_fetches_the_course_and_runs_01_on_the_shipped_weights(tmp_path):
    """Kaggle as a student meets it: the notebook alone in /kaggle/working (here a temporary stand-in), no
    `google.colab`, `helpers` not importable until the set-up cell has fetched the course; then 01 runs top to
    bottom in the instructor's pretrained mode."""
    from nbclient import NotebookClient

    working = tmp_path / "kaggle" / "working"
    working.mkdir(parents=True)
    clone = working / "genmodels-course"
    path = ROOT / "notebooks" / "01_gan.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = hosted_cell(path, "Kaggle", released_origin(tmp_path), clone)
    # no `helpers` installed: drop this checkout's editable-install finder, then prove the import fails
    nb.cells.insert(1, nbformat.v4.new_code_cell(
        "import importlib.util, sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')\n"
        "                    and '__editable__' not in getattr(f, '__name__', '')]\n"
        "assert importlib.util.find_spec('helpers') is None, 'helpers is importable before the set-up cell'"))
    from scripts.train_pretrained import inject_parameters

    inject_parameters(nb, {"WEIGHTS": "pretrained"})
    nb.cells.append(nbformat.v4.new_code_cell("import helpers, os\nprint(helpers.__file__)\nprint(os.getcwd())"))
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_REF", "COURSE_HOME")}
    env.update(KAGGLE_KERNEL_RUN_TYPE="Interactive", COURSE_FAST="1")
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(working)}}
                   ).execute(env=env)
    said = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert said.strip() == f"Kaggle: course {sync_setup_cells.release_ref()} fetched to {clone}, working in notebooks/"
    helpers_file, cwd = nb.cells[-1].outputs[0]["text"].split()
    assert Path(helpers_file).resolve().is_relative_to(clone.resolve()) and cwd == str(clone / "notebooks")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


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
