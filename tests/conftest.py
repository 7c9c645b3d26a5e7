"""Shared fixtures: keep every data test away from the user's real caches and the network."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from helpers import data


def make_arrays(n_train: int = 30, n_test: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in data.IDX_FILES.items():
        raw = idx_bytes(arrays[key])
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return folder


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No env data dir, an empty repo data folder and Keras cache, and a download that fails."""
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    keras_home = tmp_path / "keras_home"
    (keras_home / "datasets").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    repo_data = tmp_path / "repo_data"
    repo_data.mkdir()
    monkeypatch.setattr(data, "REPO_DATA_DIR", repo_data)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "no_debian_package")
    calls = []

    def offline(dataset):
        calls.append(dataset)
        raise OSError("URL fetch failure: network unreachable (test)")

    monkeypatch.setattr(data, "_download", offline)
    return {"tmp": tmp_path, "keras_datasets": keras_home / "datasets", "repo_data": repo_data, "downloads": calls}


def run_fresh_python(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return its stdout; fail with its stderr."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def check_label_picker(explorer, expected_label_7: np.ndarray) -> None:
    """Shared by the conditional explorers (LabelStripExplorer): picking label 7 redraws the large
    digit as ``expected_label_7`` and leaves the every-label strip alone (z did not change)."""
    image_0, strip_0 = bytes(explorer.image.value), bytes(explorer.strip.value)
    assert "label: 0" in explorer.caption.value
    explorer.label_picker.value = 7
    assert "label: 7" in explorer.caption.value
    assert bytes(explorer.image.value) != image_0
    assert bytes(explorer.strip.value) == strip_0, "same z: the strip of all labels does not change"
    np.testing.assert_allclose(explorer.render(), expected_label_7.reshape(28, 28), atol=1e-5)


# --------------------------------------------------------------------------- parallel runs (pytest-xdist)
# `make test` runs the suite on TEST_WORKERS processes (`-n 2 --dist loadscope`). Most of its time is notebooks
# executing in kernels, one core each, so two workers use both cores of a 2-core machine. A unit of work (a scope)
# runs whole on one worker: a notebook's nbval cells (one kernel runs them in order) and, by default, a test module
# (module fixtures such as the JupyterLab server or a trained model are built once). Modules whose tests are
# independent notebook runs are split, so one long module does not keep a worker busy alone at the end. Scopes
# that run whole notebooks go first (longest first balances two workers best); the quick unit tests fill the gaps.
# (xdist's own `--dist loadgroup` marks do not work with pytest 9, which no longer reads `item._nodeid`.)
# The grading runs (test_assignments.py, marked `grading`) go before everything: one topic per scope, in the order
# GRADED lists them (longest first: 02's solutions train about 9,000 steps, 513-576 s of an 817-933 s session in
# this session's fresh-clone runs, part D), while the other worker works through the rest.
SPLIT_BY_TEST = {"test_notebooks_fashion.py", "test_notebook_memory.py"}
# their tests of one parameter share a run: a notebook's pretrained run (test_claims._RUNS), a topic's hand-out build
SPLIT_BY_PARAMETER = {"test_claims.py", "test_assignments.py"}
RUNS_NOTEBOOKS = SPLIT_BY_TEST | SPLIT_BY_PARAMETER | {
    "test_widgets_in_jupyterlab.py", "test_site.py", "test_exercises_vae.py", "test_exercises_dcgan.py"}


def scope_of(nodeid: str) -> str:
    """The unit of work a test belongs to, from its node id: see the comment above."""
    path, _, rest = nodeid.partition("::")
    module = path.rsplit("/", 1)[-1]
    if module in SPLIT_BY_TEST:
        return nodeid
    if module in SPLIT_BY_PARAMETER and rest.endswith("]"):
        return f"{path}::[{rest.split('[', 1)[1]}"
    return path


def _runs_notebooks(scope: str) -> bool:
    path = scope.partition("::")[0]
    return path.endswith(".ipynb") or path.rsplit("/", 1)[-1] in RUNS_NOTEBOOKS


# --------------------------------------------------------------------------- kernels that cannot collide
# jupyter_client's default TCP transport picks a kernel's five ports by binding port 0 and closing the socket; the
# kernel binds them again about a second later. Anything else on the machine (a kernel started by the other xdist
# worker, an outgoing connection given an ephemeral port) can take a port in that window: the kernel then dies with
# "ZMQError: Address already in use" ("Kernel died before replying to kernel_info"), as a fresh-clone CI run did.
# Test kernels talk over Unix sockets instead (ZeroMQ's IPC transport), each in a folder of its own: a name no other
# process can hold, so no window to lose. It covers every kernel started in a test process (nbval's KernelManager and
# nbclient's AsyncKernelManager, a subclass); the JupyterLab server of the browser tests
# is a separate process and is configured with --KernelManager.transport=ipc (tests/browser/jupyterlab_driver.py).
# Measured in benchmarks/kernel_starts.py.
_kernel_sockets: Path | None = None  # this process's folder, made at its first kernel start, removed at its end


def kernel_socket_folder() -> Path:
    """A short folder for this process's kernel sockets (a Unix socket path must fit in 107 bytes)."""
    import tempfile

    global _kernel_sockets
    if _kernel_sockets is None or not _kernel_sockets.is_dir():
        _kernel_sockets = Path(tempfile.mkdtemp(prefix="kernels-"))
    return _kernel_sockets


def use_ipc_kernels() -> None:
    """Make every kernel manager this process creates from now on use the IPC transport, in a folder of its own
    (unless its transport or address is given explicitly)."""
    import tempfile

    from jupyter_client.manager import KernelManager  # AsyncKernelManager (nbclient) is a subclass; nbval uses it

    original = KernelManager.__init__
    if getattr(original, "course_ipc", False):
        return

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if "transport" not in kwargs and "ip" not in kwargs and self.transport == "tcp":
            # before any port is picked (LocalPortCache caches ports only for tcp); the sockets are <ip>-1, <ip>-2...
            self.transport = "ipc"
            self.ip = str(Path(tempfile.mkdtemp(prefix="k", dir=kernel_socket_folder())) / "zmq")

    __init__.course_ipc = True
    KernelManager.__init__ = __init__


def pytest_unconfigure(config):
    import shutil

    if _kernel_sockets is not None:
        shutil.rmtree(_kernel_sockets, ignore_errors=True)


def pytest_configure(config):
    """Every process: test kernels on the IPC transport (above). In an xdist worker (the kernels it starts inherit
    its environment):

    - its own runs folder: two workers on the same notebook would otherwise meet on the same run identity
      (RunInUseError), and a test's kernel must never resume another test's run;
    - TensorFlow on one thread: two workers, each with TensorFlow's default of a thread pool per core, oversubscribe
      two cores (two fast-mode notebooks at once, 01 and 03: 33.5 s with the default pools, 22.3 s with one thread
      each). A value already set in the environment is kept.
    """
    import os

    use_ipc_kernels()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    base = os.environ.get("COURSE_RUNS_DIR")
    if base:
        os.environ["COURSE_RUNS_DIR"] = str(Path(base) / worker)
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, "1")


def _start_order(item) -> int:
    """0: grading runs, 1: other notebook-running scopes, 2: the rest (see the comment above SPLIT_BY_TEST)."""
    if item.get_closest_marker("grading"):
        return 0
    return 1 if _runs_notebooks(scope_of(item.nodeid)) else 2


def pytest_collection_modifyitems(config, items):
    """In an xdist worker: grading scopes, then notebook-running scopes, then the rest (a stable sort: a scope's
    tests keep their order, and a scope's place in xdist's queue is that of its first test)."""
    import os

    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=_start_order)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, absent where it is not installed (make test-colab)
def pytest_xdist_make_scheduler(config, log):
    """The course's scopes for `--dist load`, `loadscope` or `loadfile` (a notebook split across workers fails);
    another mode (`each`, `worksteal`, ...) gets xdist's own scheduler."""
    if config.getvalue("dist") not in ("load", "loadscope", "loadfile"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class CourseScheduling(LoadScopeScheduling):
        """xdist's loadscope with the course's scopes, in the workers' (sorted) collection order."""

        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    config.option.loadscopereorder = False  # keep the order above; xdist's own puts the scopes with most tests first
    return CourseScheduling(config, log)
