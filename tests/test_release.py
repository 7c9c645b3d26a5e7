"""What a course that others adopt needs besides the notebooks: one release version everywhere (the tag the badges
open and the set-up cells clone), a licence, a citation, and a CI workflow that GitHub accepts and that runs the
README's test command on every push and pull request."""

from __future__ import annotations

import re
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
