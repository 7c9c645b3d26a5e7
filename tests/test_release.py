"""What a course that others adopt needs besides the notebooks: one release version everywhere (the tag the badges
open and the set-up cells clone), a licence, a citation, and a CI workflow that GitHub accepts and that runs the
README's test command on every push and pull request."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts import sync_setup_cells  # noqa: E402

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_release_version_is_the_same_everywhere():
    """pyproject.toml's version is the release: CITATION.cff cites it, CHANGELOG.md's newest entry describes it,
    and its tag (v + version) is what the badges open and the set-up cells clone."""
    version = sync_setup_cells.version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"pyproject.toml version {version!r}: use MAJOR.MINOR.PATCH"
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf"^version: \"?{re.escape(version)}\"?$", citation, re.M), "CITATION.cff's version"
    assert re.search(r"^cff-version: 1\.2\.0$", citation, re.M)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[?(\d+\.\d+\.\d+)\]? — (\d{4}-\d{2}-\d{2})$", changelog, re.M)
    assert releases and releases[0][0] == version, f"CHANGELOG.md's newest release is not {version}"
    licence = (ROOT / "LICENSE").read_text()
    assert "MIT License" in licence and "CC BY 4.0" in licence and "CC BY-SA 3.0" in licence


def validate_workflow(path: Path) -> subprocess.CompletedProcess:
    """GitHub's workflow schema (SchemaStore's, bundled offline in check-jsonschema, requirements-dev.txt)."""
    exe = Path(sys.executable).parent / "check-jsonschema"
    assert exe.exists(), "check-jsonschema is missing: .venv/bin/pip install -r requirements-dev.txt"
    return subprocess.run([str(exe), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_github_workflows_validate_against_githubs_schema(path):
    result = validate_workflow(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "tests.yml"
    broken.write_text((ROOT / ".github" / "workflows" / "tests.yml").read_text().replace("runs-on:", "run-on:"))
    assert validate_workflow(broken).returncode != 0


def test_tests_workflow_runs_the_readme_test_command_on_push_and_pull_request():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "tests.yml").read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads the key `on` as True
    assert {"push", "pull_request"} <= set(triggers)
    job = workflow["jobs"]["test"]
    assert job["runs-on"].startswith("ubuntu") and job["env"]["CI"] == "true"
    python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"].split() == ["3.13", "3.11"]
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert any(re.match(r"make test(\s|$)", r) for r in runs), "the README's test command, `make test`"
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^make test\s", readme, re.M)
    assert "exec make test" in (ROOT / ".ci" / "run").read_text()


def test_binders_python_runs_the_main_suite_in_the_workflow():
    """Binder builds the course on the Python that binder/runtime.txt names; that version must be one the suite
    runs (the workflow's second job), not only one the README allows."""
    binder_python = (ROOT / "binder" / "runtime.txt").read_text().strip().removeprefix("python-")
    job = yaml.safe_load((ROOT / ".github" / "workflows" / "tests.yml").read_text())["jobs"]["python312"]
    python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert str(python["with"]["python-version"]) == binder_python
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert f"make test-main PYTHON=python{binder_python}" in runs


# --------------------------------------------------------------------------- the Colab pass of `make test`

FIND_PYTHON = ROOT / "scripts" / "find_python.sh"
BARE_PATH = "/usr/bin:/bin"  # make, git and coreutils; no python3.13, no pyenv shims, no uv on this machine's


def without_python313(tmp_path: Path, **extra: str) -> dict:
    env = {"PATH": BARE_PATH, "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "no-pyenv"), **extra}
    for name in ("python3.13", "uv"):
        if shutil.which(name, path=BARE_PATH):
            pytest.skip(f"this machine has {name} in {BARE_PATH}: cannot test the no-Python-3.13 path")
    return env


def test_make_test_outside_ci_says_in_its_last_line_that_the_colab_pass_did_not_run(tmp_path):
    result = subprocess.run(["make", "-s", "colab-pass"], cwd=ROOT, env=without_python313(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert "did NOT run" in last and "COLAB_PYTHON=" in last and "uv python install 3.13" in last
    assert "No Python 3.13 found" in result.stderr


def test_make_test_in_ci_fails_without_python313(tmp_path):
    result = subprocess.run(["make", "-s", "colab-pass"], cwd=ROOT, env=without_python313(tmp_path, CI="true"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "FAILED: CI=true requires the Colab-versions pass" in result.stdout


def test_find_python_refuses_a_colab_python_of_another_version_and_finds_one_on_path(tmp_path):
    env = without_python313(tmp_path, COLAB_PYTHON=sys.executable)
    result = subprocess.run([str(FIND_PYTHON), "3.13"], env=env, capture_output=True, text=True, timeout=60)
    if sys.version_info[:2] != (3, 13):
        assert result.returncode == 1 and f"COLAB_PYTHON={sys.executable} is not a Python 3.13" in result.stderr
    # any interpreter of this version on PATH, under the name pythonX.Y, is found and resolved to itself
    want = "{}.{}".format(*sys.version_info[:2])
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / f"python{want}").symlink_to(sys.executable)
    env = without_python313(tmp_path)
    env["PATH"] = f"{tmp_path / 'bin'}:{BARE_PATH}"
    result = subprocess.run([str(FIND_PYTHON), want], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    found = result.stdout.strip()
    check = subprocess.run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True, timeout=60)
    assert check.stdout.strip() == want
