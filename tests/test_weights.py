"""helpers.weights: the registry, checksums and a clear error for weights that do not fit."""

from __future__ import annotations

import json

import keras  # noqa: E402
import numpy as np
import pytest

from helpers import weights


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "WEIGHTS_DIR", tmp_path)
    return tmp_path


def _model(units=4):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(units, activation="tanh")])


def _save(model, name="toy"):
    return weights.save_pretrained(model, name, dataset="mnist", data_source="test", epochs=1, train_seconds=0.5,
                                   command="pytest")


def test_save_then_load_round_trip(weights_dir):
    model = _model()
    _save(model)
    info = weights.registry()["toy"]
    assert info["parameters"] == 16 and info["file"] == "toy.keras"
    loaded = weights.load_model("toy", verbose=False)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)
    target = _model()
    target.set_weights([np.zeros_like(w) for w in target.get_weights()])
    weights.load_into(target, "toy", verbose=False)
    np.testing.assert_allclose(target(x).numpy(), model(x).numpy(), atol=1e-6)


def test_unknown_name_and_wrong_dataset(weights_dir):
    _save(_model())
    with pytest.raises(weights.WeightsError, match="No pretrained weights named 'nope'.*shipped: toy"):
        weights.load_model("nope")
    with pytest.raises(weights.WeightsError, match="trained on mnist, not fashion_mnist"):
        weights.load_model("toy", dataset="fashion_mnist")


def test_corrupted_file_fails_checksum(weights_dir):
    path = _save(_model())
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(weights.WeightsError, match="SHA-256"):
        weights.load_model("toy")


def test_architecture_mismatch_is_a_clear_error(weights_dir):
    _save(_model(units=4))
    with pytest.raises(weights.WeightsError, match="do not fit this model"):
        weights.load_into(_model(units=5), "toy")


def test_broken_registry(weights_dir):
    (weights_dir / "registry.json").write_text("{not json")
    with pytest.raises(weights.WeightsError, match="not valid JSON"):
        weights.registry()


def test_shipped_registry_entries_are_intact():
    """Every shipped file matches its checksum and loads in safe mode."""
    for name, info in weights.registry().items():
        model = weights.load_model(name, info["dataset"], verbose=False)
        assert model.count_params() == info["parameters"], name
    assert json.loads((weights.WEIGHTS_DIR / "registry.json").read_text()) if weights.registry() else True


def test_compiled_model_is_shipped_without_optimizer(weights_dir):
    model = _model(units=4096)  # 16k weights: optimizer slots would add ~128 kB
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 3)), np.ones((8, 4096)), verbose=0)
    path = _save(model, "compiled")
    plain = _model(units=4096)
    plain_path = _save(plain, "plain")
    assert path.stat().st_size < 1.3 * plain_path.stat().st_size
    x = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(weights.load_model("compiled", verbose=False)(x), model(x), atol=1e-6)


def test_parallel_saves_keep_every_registry_entry(weights_dir):
    import threading

    models = {f"m{i}": _model() for i in range(4)}
    threads = [threading.Thread(target=_save, args=(m, n)) for n, m in models.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(weights.registry()) == set(models)
