"""scripts/clean_notebooks.py --execute trains into a temporary runs folder, never <repo>/runs."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import nbclient
import nbformat

REPO = Path(__file__).resolve().parents[1]


def test_execute_gives_kernels_a_temporary_runs_folder(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("clean_notebooks", REPO / "scripts" / "clean_notebooks.py")
    clean = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(clean)
    seen = {}

    class RecordingClient:
        def __init__(self, nb, **kwargs):
            pass

        def execute(self):
            seen["runs"] = os.environ["COURSE_RUNS_DIR"]
            seen["existed"] = Path(seen["runs"]).is_dir()

    monkeypatch.setattr(nbclient, "NotebookClient", RecordingClient)
    monkeypatch.setenv("COURSE_RUNS_DIR", str(REPO / "runs"))  # even when pointed at the repo's runs
    clean.execute(nbformat.v4.new_notebook(), tmp_path / "x.ipynb")
    assert seen["existed"] and Path(seen["runs"]).resolve() != (REPO / "runs").resolve()
    assert not Path(seen["runs"]).exists(), "the temporary runs folder is removed afterwards"
    assert os.environ["COURSE_RUNS_DIR"] == str(REPO / "runs")
