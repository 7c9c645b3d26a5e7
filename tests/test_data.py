"""helpers.data: every source in its order, and every kind of bad input."""

from __future__ import annotations

import gzip
import hashlib
import shutil

import numpy as np
import pytest
from conftest import idx_bytes, make_arrays, write_idx_folder

from helpers import data

# --------------------------------------------------------------------------- the sources


def test_embedded_sample_is_the_last_resort(isolated, capsys):
    (x_train, y_train), (x_test, y_test) = loaded = data.load_mnist()
    assert loaded.source.kind == "embedded sample" and loaded.source.is_sample
    assert isolated["downloads"] == ["mnist"], "the download must be tried before the sample"
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    out = capsys.readouterr().out
    assert "embedded" in out and "rougher" in out and "download skipped" in out


def test_embedded_sample_is_real_digits_not_noise(isolated):
    (x_train, y_train), _ = data.load_mnist(verbose=False)
    # MNIST digits: dark borders, bright strokes in the middle, ~19% non-zero pixels.
    border = np.concatenate([x_train[:, 0, :], x_train[:, -1, :], x_train[:, :, 0], x_train[:, :, -1]])
    assert border.mean() < 0.01 * x_train[:, 10:18, 10:18].mean()
    share_on = (x_train > 0).mean()
    assert 0.12 < share_on < 0.26
    # ones have far less ink than zeros
    assert x_train[y_train == 1].mean() < 0.6 * x_train[y_train == 0].mean()


def test_explicit_npz_path(isolated, tmp_path):
    arrays = make_arrays()
    np.savez(tmp_path / "mine.npz", **arrays)
    loaded = data.load_mnist(path=tmp_path / "mine.npz", verbose=False)
    (x_train, y_train), (x_test, y_test) = loaded
    assert loaded.source.kind == "path" and not loaded.source.is_sample
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert isolated["downloads"] == []


@pytest.mark.parametrize("gz", [True, False])
def test_explicit_idx_folder_gzipped_or_not(isolated, tmp_path, gz):
    arrays = make_arrays()
    folder = write_idx_folder(tmp_path / "idx", arrays, gz=gz)
    (x_train, y_train), (x_test, y_test) = data.load_mnist(path=folder, verbose=False)
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_train, arrays["y_train"])
    np.testing.assert_array_equal(x_test, arrays["x_test"])


def test_env_folder_comes_before_repo_folder(isolated, tmp_path, monkeypatch):
    env_dir = tmp_path / "env_data"
    write_idx_folder(env_dir / "mnist", make_arrays(seed=1))
    write_idx_folder(isolated["repo_data"] / "mnist", make_arrays(seed=2))
    monkeypatch.setenv(data.DATA_DIR_ENV, str(env_dir))
    loaded = data.load_mnist(verbose=False)
    assert loaded.source.kind == f"${data.DATA_DIR_ENV}"
    np.testing.assert_array_equal(loaded[0][0], make_arrays(seed=1)["x_train"])


def test_repo_folder_comes_before_keras_cache(isolated):
    write_idx_folder(isolated["repo_data"] / "mnist", make_arrays(seed=2))
    write_idx_folder(isolated["keras_datasets"] / "mnist", make_arrays(seed=3))
    loaded = data.load_mnist(verbose=False)
    assert loaded.source.kind == "the repository's data folder"
    np.testing.assert_array_equal(loaded[0][0], make_arrays(seed=2)["x_train"])


def test_keras_cache_npz_is_checksummed_and_used(isolated, monkeypatch):
    arrays = make_arrays()
    target = isolated["keras_datasets"] / "mnist.npz"
    np.savez(target, **arrays)
    monkeypatch.setattr(data, "KERAS_MNIST_SHA256", hashlib.sha256(target.read_bytes()).hexdigest())
    loaded = data.load_mnist(verbose=False)
    assert loaded.source.kind == "the Keras cache" and loaded.source.location == str(target)
    assert isolated["downloads"] == []


def test_keras_cache_fashion_folder(isolated):
    write_idx_folder(isolated["keras_datasets"] / "fashion-mnist", make_arrays())
    loaded = data.load_mnist("fashion_mnist", verbose=False)
    assert loaded.source.kind == "the Keras cache"
    assert loaded.source.dataset == "fashion_mnist"


def test_debian_fashion_folder(isolated, monkeypatch, tmp_path):
    debian = write_idx_folder(tmp_path / "usr_share_fashion", make_arrays())
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", debian)
    loaded = data.load_mnist("fashion_mnist", verbose=False)
    assert loaded.source.kind == "Debian's dataset-fashion-mnist"


def test_download_used_when_no_file(isolated, monkeypatch):
    arrays = make_arrays()
    monkeypatch.setattr(data, "_download", lambda name: (arrays, "fake download"))
    loaded = data.load_mnist(verbose=False)
    assert loaded.source.kind == "download"
    np.testing.assert_array_equal(loaded[1][0], arrays["x_test"])


def test_download_false_skips_network(isolated):
    loaded = data.load_mnist(download=False, verbose=False)
    assert isolated["downloads"] == []
    assert loaded.source.is_sample


def test_fashion_without_any_source_says_how_to_fix(isolated):
    with pytest.raises(data.DataError) as err:
        data.load_mnist("fashion_mnist", verbose=False)
    message = str(err.value)
    assert "Fashion-MNIST" in message and "dataset-fashion-mnist" in message and "path=" in message
    assert "download skipped" in message


@pytest.mark.skipif(not data.DEBIAN_FASHION_DIR.is_dir(), reason="Debian's dataset-fashion-mnist not installed")
def test_real_fashion_mnist_from_debian_package(monkeypatch, tmp_path):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = data.load_mnist("fashion_mnist", download=False, verbose=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_test).tolist() == [1000] * 10


# --------------------------------------------------------------------------- bad input


def test_unknown_dataset_name(isolated):
    with pytest.raises(data.DataError, match=r"Unknown dataset 'cifar10'.*fashion_mnist.*mnist"):
        data.load_mnist("cifar10")


def test_missing_explicit_path(isolated, tmp_path):
    with pytest.raises(data.DataError, match="does not exist"):
        data.load_mnist(path=tmp_path / "nope.npz")


def test_env_var_not_a_folder(isolated, tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(data.DataError, match="COURSE_DATA_DIR.*is not a folder"):
        data.load_mnist()


def test_folder_missing_one_file_names_it(isolated, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", make_arrays())
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match="lacks t10k-labels-idx1-ubyte.gz"):
        data.load_mnist(path=folder)


def test_partial_folder_in_search_path_is_an_error_not_a_fallback(isolated):
    folder = write_idx_folder(isolated["repo_data"] / "mnist", make_arrays())
    (folder / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte"):
        data.load_mnist()
    assert isolated["downloads"] == []


def test_truncated_idx_file(isolated, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", make_arrays(), gz=False)
    target = folder / "train-images-idx3-ubyte"
    target.write_bytes(target.read_bytes()[:-100])
    with pytest.raises(data.DataError, match=r"train-images-idx3-ubyte holds .* truncated"):
        data.load_mnist(path=folder)


def test_truncated_gzip_file(isolated, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", make_arrays(), gz=True)
    target = folder / "train-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:-12])
    with pytest.raises(data.DataError, match=r"train-labels-idx1-ubyte.gz cannot be read.*truncated or corrupted"):
        data.load_mnist(path=folder)


def test_corrupted_gzip_file(isolated, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", make_arrays(), gz=True)
    target = folder / "t10k-images-idx3-ubyte.gz"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(data.DataError, match="t10k-images-idx3-ubyte.gz"):
        data.load_mnist(path=folder)


def test_not_an_idx_file(isolated, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", make_arrays(), gz=False)
    (folder / "train-images-idx3-ubyte").write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(data.DataError, match="not an IDX file"):
        data.load_mnist(path=folder)


def test_idx_with_wrong_image_size(isolated, tmp_path):
    arrays = make_arrays()
    folder = write_idx_folder(tmp_path / "idx", arrays, gz=False)
    (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((30, 32, 32), np.uint8)))
    with pytest.raises(data.DataError, match=r"x_train has shape \(30, 32, 32\)"):
        data.load_mnist(path=folder)


def test_label_count_mismatch(isolated, tmp_path):
    arrays = make_arrays()
    arrays["y_train"] = arrays["y_train"][:-1]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(data.DataError, match="y_train has shape"):
        data.load_mnist(path=tmp_path / "bad.npz")


def test_npz_missing_arrays(isolated, tmp_path):
    np.savez(tmp_path / "bad.npz", images=np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(data.DataError, match="lacks the arrays"):
        data.load_mnist(path=tmp_path / "bad.npz")


def test_truncated_npz(isolated, tmp_path):
    np.savez(tmp_path / "cut.npz", **make_arrays())
    raw = (tmp_path / "cut.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.DataError, match="cut.npz cannot be read.*truncated or corrupted"):
        data.load_mnist(path=tmp_path / "cut.npz")


def test_npz_with_pickled_objects_is_refused(isolated, tmp_path):
    arrays = make_arrays()
    arrays["y_train"] = np.array([object()] * 30, dtype=object)
    np.savez(tmp_path / "pickled.npz", **arrays)
    with pytest.raises(data.DataError, match="pickled.npz"):
        data.load_mnist(path=tmp_path / "pickled.npz")


def test_keras_cache_file_with_wrong_checksum(isolated):
    target = isolated["keras_datasets"] / "mnist.npz"
    np.savez(target, **make_arrays())
    with pytest.raises(data.DataError, match=r"mnist.npz fails its SHA-256 check.*delete it"):
        data.load_mnist()
    assert isolated["downloads"] == [], "a broken cache file must not be silently replaced"


def test_corrupted_embedded_sample(isolated, tmp_path, monkeypatch):
    copy = tmp_path / "mnist_sample.npz"
    shutil.copy(data.EMBEDDED_SAMPLE, copy)
    raw = bytearray(copy.read_bytes())
    raw[5000] ^= 0x01
    copy.write_bytes(bytes(raw))
    monkeypatch.setattr(data, "EMBEDDED_SAMPLE", copy)
    with pytest.raises(data.DataError, match="SHA-256.*git checkout -- data/mnist_sample.npz"):
        data.load_mnist()


def test_missing_embedded_sample(isolated, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "EMBEDDED_SAMPLE", tmp_path / "gone.npz")
    with pytest.raises(data.DataError, match="gone.npz is missing.*git checkout"):
        data.load_mnist()


# --------------------------------------------------------------------------- preprocessing


def test_scaling_ranges():
    images = np.array([[[0] * 28] * 27 + [[255] * 28]], dtype=np.uint8)
    unit = data.scale_to_unit(images)
    sym = data.scale_to_symmetric(images)
    assert unit.dtype == np.float32 and unit.min() == 0.0 and unit.max() == 1.0
    assert sym.min() == -1.0 and sym.max() == 1.0


def test_reshapes_round_trip():
    x = make_arrays()["x_train"]
    flat = data.flatten(x)
    assert flat.shape == (30, 784)
    batch = data.as_image_batch(flat)
    assert batch.shape == (30, 28, 28, 1)
    np.testing.assert_array_equal(batch[..., 0], x)
    with pytest.raises(ValueError, match="expected images of shape"):
        data.flatten(np.zeros((4, 32, 32)))


def test_one_hot():
    encoded = data.one_hot(np.array([0, 9, 3]))
    assert encoded.shape == (3, 10) and encoded.dtype == np.float32
    assert encoded.argmax(axis=1).tolist() == [0, 9, 3] and encoded.sum() == 3
    with pytest.raises(ValueError, match="0..9"):
        data.one_hot(np.array([10]))
    with pytest.raises(ValueError, match="integer"):
        data.one_hot(np.array([0.5]))


def test_subset_is_reproducible_and_sized():
    x, y = np.arange(100), np.arange(100)
    a, b = data.subset(x, y, 10, seed=3), data.subset(x, y, 10, seed=3)
    assert len(a[0]) == 10 and np.array_equal(a[0], b[0]) and np.array_equal(a[0], a[1])
    assert data.subset(x, y, None)[0] is x


def test_gzip_helper_round_trip(tmp_path):
    """Guards the test fixtures themselves: a written IDX file reads back identically."""
    array = np.arange(28 * 28 * 2, dtype=np.uint32).astype(np.uint8).reshape(2, 28, 28)
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a.gz"), array)


def test_offline_download_stops_before_keras(monkeypatch):
    monkeypatch.setattr(data, "network_reachable", lambda *a, **k: False)
    with pytest.raises(ConnectionError, match="no network connection"):
        data._download("mnist")
