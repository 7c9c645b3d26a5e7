"""The notebook harness itself: a cell that raises must fail the test run (and so CI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def _run_pytest_on(tmp_path: Path, source: str) -> subprocess.CompletedProcess:
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
         str(path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )


def test_failing_cell_fails_the_run(tmp_path):
    result = _run_pytest_on(tmp_path, "raise RuntimeError('broken on purpose')")
    assert result.returncode != 0, result.stdout
    assert "broken on purpose" in result.stdout


def test_passing_notebook_passes(tmp_path):
    result = _run_pytest_on(tmp_path, "assert x == 1")
    assert result.returncode == 0, result.stdout
