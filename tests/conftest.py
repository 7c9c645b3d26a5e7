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
