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


# --------------------------------------------------------------------------- labels checked before any cast (issue 12)


@pytest.mark.parametrize(
    "labels, problem",
    [
        (np.array([256] + [1] * 29, np.int64), r"labels outside 0..9 \(range 1..256, e.g. 256"),
        (np.array([-253] + [1] * 29, np.int64), r"labels outside 0..9 \(range -253..1, e.g. -253"),
        (np.array([3.7] + [1.0] * 29), "float64 labels.*3.7"),
        (np.array([np.nan] + [1.0] * 29), "float64 labels.*NaN"),
        (np.arange(30) % 10 * 1.0, "float64 labels"),  # integral floats are refused too, not rounded
        (np.array([10] * 30, np.uint8), r"labels outside 0..9 \(range 10..10"),
    ],
    ids=["256", "-253", "3.7", "nan", "integral-floats", "uint8-10"],
)
def test_bad_labels_are_refused_before_any_cast(isolated, tmp_path, labels, problem):
    arrays = make_arrays()
    arrays["y_train"] = labels
    np.savez(tmp_path / "labels.npz", **arrays)
    with pytest.raises(data.DataError, match=rf"labels.npz: y_train holds {problem}"):
        data.load_mnist(path=tmp_path / "labels.npz")


def test_idx_labels_outside_range_are_refused(isolated, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", make_arrays())
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.full(10, 12, np.uint8))))
    with pytest.raises(data.DataError, match=r"idx: y_test holds labels outside 0..9"):
        data.load_mnist(path=folder)


def test_empty_arrays_are_refused(isolated, tmp_path):
    arrays = make_arrays(n_train=0, n_test=0)
    arrays["y_train"] = arrays["y_train"].astype(np.int64)
    np.savez(tmp_path / "empty.npz", **arrays)
    with pytest.raises(data.DataError, match=r"empty.npz: x_train and y_train are empty"):
        data.load_mnist(path=tmp_path / "empty.npz")
    arrays = make_arrays(n_test=0)
    np.savez(tmp_path / "no_test.npz", **arrays)
    with pytest.raises(data.DataError, match=r"no_test.npz: x_test and y_test are empty"):
        data.load_mnist(path=tmp_path / "no_test.npz")


# --------------------------------------------------------------------------- broken files in searched folders


def _break(kind: str, target, tmp_path):
    if kind == "dangling link":
        target.symlink_to(tmp_path / "nowhere.npz")
    elif kind == "link loop":
        target.symlink_to(target)
    elif kind == "folder":
        target.mkdir()


@pytest.mark.parametrize("kind, problem", [("dangling link", "a dangling symbolic link"),
                                           ("link loop", "a symbolic link that loops"), ("folder", "a folder")])
def test_broken_npz_in_env_folder_is_an_error_not_a_fallback(isolated, tmp_path, monkeypatch, kind, problem):
    env_dir = tmp_path / "env_data"
    env_dir.mkdir()
    _break(kind, env_dir / "mnist.npz", tmp_path)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(env_dir))
    with pytest.raises(data.DataError, match=rf"env_data/mnist.npz is {problem}"):
        data.load_mnist()
    assert isolated["downloads"] == [], "a broken file must not fall through to the download or the sample"


@pytest.mark.parametrize("kind", ["dangling link", "link loop", "folder"])
def test_broken_idx_file_in_repo_folder_is_an_error(isolated, tmp_path, kind):
    folder = write_idx_folder(isolated["repo_data"] / "mnist", make_arrays())
    target = folder / "train-images-idx3-ubyte.gz"
    target.unlink()
    _break(kind, target, tmp_path)
    with pytest.raises(data.DataError, match="mnist/train-images-idx3-ubyte.gz is"):
        data.load_mnist()


def test_dangling_idx_folder_link_in_keras_cache_is_an_error(isolated, tmp_path):
    (isolated["keras_datasets"] / "fashion-mnist").symlink_to(tmp_path / "gone")
    with pytest.raises(data.DataError, match="datasets/fashion-mnist is a dangling symbolic link"):
        data.load_mnist("fashion_mnist")


def test_unreadable_npz_in_searched_folder_is_an_error(isolated, tmp_path, monkeypatch):
    target = isolated["repo_data"] / "mnist.npz"
    np.savez(target, **make_arrays())
    real_access = data.os.access
    # root reads anything, so the permission check is simulated for this one file
    monkeypatch.setattr(data.os, "access", lambda p, mode: False if str(p) == str(target) else real_access(p, mode))
    with pytest.raises(data.DataError, match=r"repo_data/mnist.npz is not readable \(permission denied\)"):
        data.load_mnist()


# --------------------------------------------------------------------------- IDX headers checked before allocating


def test_idx_header_whose_product_overflows_is_refused(isolated, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", make_arrays(), gz=False)
    huge = bytes([0, 0, 0x08, 3]) + b"".join((2**32 - 1).to_bytes(4, "big") for _ in range(3))
    (folder / "train-images-idx3-ubyte").write_bytes(huge + b"\0" * 100)
    with pytest.raises(data.DataError, match=r"train-images-idx3-ubyte: its header announces shape "
                                             r"\(4294967295, 4294967295, 4294967295\).*corrupted"):
        data.load_mnist(path=folder)


def test_gzip_header_larger_than_the_file_can_hold_is_refused(isolated, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", make_arrays())
    header = bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in (60000, 28, 28))
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + b"\0" * 10))
    with pytest.raises(data.DataError, match="more than a .*-byte gzip file can hold"):
        data.load_mnist(path=folder)


def test_gzip_bomb_is_rejected_after_reading_what_the_header_announces(isolated, tmp_path):
    """A ~0.6 MB gzip that inflates to 600 MB, whose header announces 60,000 images (47 MB):
    refused after at most 47 MB + 1 byte of output, never allocating the 600 MB (or 1.2 GB)."""
    import tracemalloc
    import zlib

    folder = write_idx_folder(tmp_path / "idx", make_arrays())
    target = folder / "train-images-idx3-ubyte.gz"
    header = bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in (60000, 28, 28))
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    block = b"\0" * (1 << 20)
    with open(target, "wb") as handle:
        handle.write(compressor.compress(header))
        for _ in range(600):
            handle.write(compressor.compress(block))
        handle.write(compressor.flush())
    assert target.stat().st_size < 700_000
    tracemalloc.start()
    try:
        with pytest.raises(data.DataError, match=r"holds more data than the 47,040,000 bytes its header announces"):
            data.read_idx(target)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 120e6, f"{peak / 1e6:.0f} MB allocated: the stream was inflated beyond its announced size"


def test_available_offline_finds_the_searched_folders_without_reading(isolated):
    assert not data.available_offline("fashion_mnist")
    folder = write_idx_folder(isolated["keras_datasets"] / "fashion-mnist", make_arrays())
    assert data.available_offline("fashion_mnist")
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"broken")  # found, not read: loading names it
    assert data.available_offline("fashion_mnist")
    with pytest.raises(data.DataError, match="unknown dataset"):
        data.available_offline("cifar10")


def test_hold_out_splits_disjointly_keeps_order_and_is_a_no_op_at_zero():
    x, y = np.arange(100).reshape(50, 2), np.arange(50) % 10
    (x_keep, y_keep), (x_held, y_held) = data.hold_out(x, y, 5, seed=42)
    assert len(x_keep) == 45 and len(x_held) == 5
    assert set(x_keep[:, 0]).isdisjoint(x_held[:, 0]) and set(x_keep[:, 0]) | set(x_held[:, 0]) == set(x[:, 0])
    assert list(x_keep[:, 0]) == sorted(x_keep[:, 0]) and list(y_keep) == list(x_keep[:, 0] // 2 % 10)
    assert list(y_held) == list(x_held[:, 0] // 2 % 10)  # labels travel with their images
    again = data.hold_out(x, y, 5, seed=42)
    np.testing.assert_array_equal(again[1][0], x_held)
    (same_x, same_y), (none_x, _) = data.hold_out(x, y, 0)
    np.testing.assert_array_equal(same_x, x) and np.testing.assert_array_equal(same_y, y)
    assert len(none_x) == 0
    with pytest.raises(ValueError, match="cannot hold out 50 of 50"):
        data.hold_out(x, y, 50)
