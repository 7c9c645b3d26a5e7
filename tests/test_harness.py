"""The notebook harness itself: a cell that raises must fail the test run (and so CI)."""

from __future__ import annotations

import os
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
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())  # kernels on IPC, as here
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


def test_scopes_keep_what_shares_state_together():
    """`make test`'s parallel scheduling (tests/conftest.py): a notebook's cells, and the tests that share one
    claims run, go to one worker; independent notebook runs are split."""
    from conftest import scope_of

    assert scope_of("notebooks/04_vae.ipynb::Cell 0") == scope_of("notebooks/04_vae.ipynb::Cell 12")
    assert scope_of("notebooks/04_vae.ipynb::Cell 0") != scope_of("notebooks/05_cvae.ipynb::Cell 0")
    runs = scope_of("tests/test_claims.py::test_notebook_runs_with_pretrained_weights[04_vae.ipynb]")
    assert runs == scope_of("tests/test_claims.py::test_claims_hold[04_vae.ipynb]")
    assert runs != scope_of("tests/test_claims.py::test_claims_hold[05_cvae.ipynb]")
    fashion = "tests/test_notebooks_fashion.py::test_notebook_runs_on_fashion_mnist"
    assert scope_of(f"{fashion}[01_gan.ipynb]") != scope_of(f"{fashion}[02_cgan.ipynb]")
    module = "tests/browser/test_widgets_in_jupyterlab.py"  # one JupyterLab server for the module
    assert scope_of(f"{module}::test_widgets_display[01_gan]") == scope_of(f"{module}::test_widgets_display[02_cgan]")


def test_two_workers_run_each_notebook_whole_in_order(tmp_path):
    """Two notebooks whose cells depend on each other, on two xdist workers with the project's conftest: every
    cell passes (cells split across workers fail with NameError), each worker has its own runs folder and
    TensorFlow on one thread."""
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    for name in ("first", "second"):
        cells = [new_code_cell("import os\nsteps = [0]")]
        cells += [new_code_cell(f"steps.append(steps[-1] + 1)\nassert steps == list(range({i + 2}))") for i in range(5)]
        cells.append(new_code_cell("assert os.environ['COURSE_RUNS_DIR'].endswith(('gw0', 'gw1'))\n"
                                   "assert os.environ['TF_NUM_INTRAOP_THREADS'] == '1'"))
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
         "-n", "2", "--dist", "loadscope", str(tmp_path / "first.ipynb"), str(tmp_path / "second.ipynb")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "COURSE_RUNS_DIR": str(tmp_path / "runs")},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "14 passed" in result.stdout, result.stdout[-3000:]


def test_test_kernels_use_unix_sockets_of_their_own():
    """Kernels started by the suite (nbclient here; nbval's the same way) use the IPC transport, each in a folder of
    its own: two workers starting kernels at once cannot pick the same TCP port (see tests/conftest.py)."""
    from conftest import kernel_socket_folder
    from nbclient import NotebookClient

    addresses = []
    for _ in range(2):
        nb = new_notebook(cells=[new_code_cell(
            "import json, ipykernel.connect as c\ninfo = json.loads(c.get_connection_info())\n"
            "print(info['transport'], info['ip'])")])
        NotebookClient(nb, timeout=60, kernel_name="python3").execute()
        transport, ip = nb.cells[0].outputs[0]["text"].split()  # what the kernel itself was told
        assert transport == "ipc"
        assert Path(ip).parent.parent == kernel_socket_folder()
        addresses.append(ip)
    assert addresses[0] != addresses[1]
