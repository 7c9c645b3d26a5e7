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


def _save(model, name="toy", **extra):
    return weights.save_pretrained(model, name, dataset="mnist", data_source="test", epochs=1, train_seconds=0.5,
                                   command="pytest", create_registry=True, **extra)


def test_save_then_load_round_trip(weights_dir):
    model = _model()
    _save(model)
    info = weights.registry()["toy"]
    assert info["parameters"] == 16 and info["file"] == "toy.keras"
    assert info["input_shapes"] == [[None, 3]] and info["output_shapes"] == [[None, 4]] and info["latent_dim"] is None
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
    shipped = weights.registry()
    assert {"gan_generator", "vae_2d", "vae_16d", "cvae_2d", "judge_mnist"} <= set(shipped)
    for name, info in shipped.items():
        model = weights.load_model(name, info["dataset"], verbose=False)  # checks the shapes against the entry
        assert model.count_params() == info["parameters"], name
    assert shipped["vae_2d"]["latent_dim"] == 2 and shipped["vae_16d"]["latent_dim"] == 16
    assert shipped["cvae_2d"]["input_shapes"] == [[None, 784], [None, 10]]
    assert shipped["gan_generator"]["latent_dim"] == 100 and shipped["judge_mnist"]["latent_dim"] is None
    text = (weights.WEIGHTS_DIR / "registry.json").read_text()
    assert weights.registry_json(json.loads(text)) == text, "the shipped registry is in save_pretrained's format"


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


# --------------------------------------------------------------------------- registry trusted blindly (issue 12)

RESTORE = r"git checkout -- data/weights/registry\.json"


def _edit_registry(folder, edit):
    path = folder / "registry.json"
    entries = json.loads(path.read_text())
    path.write_text(json.dumps(edit(entries)))


@pytest.mark.parametrize(
    "edit, problem",
    [
        (lambda e: None, r"the top level is null, not an object of entries"),
        (lambda e: ["toy"], r"the top level is \[\"toy\"\], not an object of entries"),
        (lambda e: {"toy": "toy.keras"}, r"entry 'toy' is str 'toy.keras', not an object of fields"),
        (lambda e: {"toy": {k: v for k, v in e["toy"].items() if k != "sha256"}},
         r"entry 'toy' lacks the field\(s\) sha256"),
        (lambda e: {"toy": {**e["toy"], "sha256": "abc"}}, r"entry 'toy' has sha256 'abc', expected 64 lowercase hex"),
        (lambda e: {"toy": {**e["toy"], "parameters": "16"}},
         r"entry 'toy' has parameters = '16', expected an integer"),
        (lambda e: {"toy": {**e["toy"], "epochs": True}}, r"entry 'toy' has epochs = True, expected an integer"),
        (lambda e: {"toy": {**e["toy"], "name": "other"}}, r"entry 'toy' has name 'other'; an entry's name must equal"),
        (lambda e: {"toy": {**e["toy"], "dataset": "cifar10"}}, r"entry 'toy' has dataset 'cifar10'"),
        (lambda e: {"toy": {**e["toy"], "input_shapes": [3]}}, r"entry 'toy' has input_shapes \[3\]: expected a list"),
        (lambda e: {"toy": {**e["toy"], "file": "../../outside/x.keras"}},
         r"entry 'toy' names '\.\./\.\./outside/x\.keras', outside data/weights/"),
        (lambda e: {"toy": {**e["toy"], "file": "/etc/x.keras"}},
         r"entry 'toy' names an absolute path '/etc/x\.keras'"),
        (lambda e: {"../x": {**e["toy"], "name": "../x"}}, r"entry '\.\./x' is not a valid name"),
    ],
    ids=["null", "list", "string-entry", "no-sha256", "bad-sha256", "string-count", "bool-count", "name-mismatch",
         "unknown-dataset", "bad-shapes", "relative-escape", "absolute-file", "unsafe-key"],
)
def test_registry_schema_is_checked_on_load(weights_dir, edit, problem):
    _save(_model())
    _edit_registry(weights_dir, edit)
    with pytest.raises(weights.WeightsError, match=rf"registry\.json: {problem}.*{RESTORE}"):
        weights.load_model("toy")


def test_missing_registry_names_the_file_and_its_restore_command(weights_dir):
    with pytest.raises(weights.WeightsError, match=rf"{weights_dir}/registry\.json is missing: restore it with "
                                                   rf"`{RESTORE}`"):
        weights.registry()
    with pytest.raises(weights.WeightsError, match="registry.json is missing"):
        weights.save_pretrained(_model(), "toy", dataset="mnist", data_source="test", epochs=1, train_seconds=0,
                                command="pytest")
    assert not (weights_dir / "toy.keras").exists(), "nothing is saved when the registry is missing"
    _save(_model())  # create_registry=True: the explicit way to start a registry
    assert set(weights.registry()) == {"toy"}


def test_file_linked_outside_the_weights_folder_is_refused(weights_dir, tmp_path_factory):
    path = _save(_model())
    outside = tmp_path_factory.mktemp("outside") / "toy.keras"
    path.rename(outside)
    path.symlink_to(outside)  # same bytes, same SHA-256: only the location is wrong
    with pytest.raises(weights.WeightsError, match=r"toy.keras \(registry entry 'toy'\) resolves to "
                                                   r".*outside0/toy\.keras, outside"):
        weights.load_model("toy")


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/escaped", "sub/dir", "Toy", "toy.keras", ""])
def test_save_pretrained_refuses_names_that_leave_the_folder(weights_dir, name):
    with pytest.raises(weights.WeightsError, match=r"is not a valid name for shipped weights: use lowercase"):
        _save(_model(), name)
    assert not (weights_dir.parent.parent / "escaped.keras").exists()
    assert not (weights_dir / "registry.json").exists()


def test_save_pretrained_refuses_a_wrong_latent_dim(weights_dir):
    with pytest.raises(weights.WeightsError, match="latent_dim given does not match the model's None"):
        _save(_model(), latent_dim=2)


@pytest.fixture
def shipped_vaes(weights_dir):
    """The shipped vae_2d and vae_16d files with their entries, in the temporary weights folder."""
    import shutil

    from helpers import data

    shipped_dir = data.REPO_DATA_DIR / "weights"
    entries = json.loads((shipped_dir / "registry.json").read_text())
    for name in ("vae_2d", "vae_16d"):
        shutil.copy(shipped_dir / f"{name}.keras", weights_dir)
    (weights_dir / "registry.json").write_text(json.dumps({n: entries[n] for n in ("vae_2d", "vae_16d")}))
    return weights_dir


def test_16d_vae_registered_as_vae_2d_is_refused(shipped_vaes):
    assert weights.load_model("vae_2d", verbose=False).count_params() == 101652  # the honest registry loads
    # the swap the issue found: vae_2d's entry names the 16-D file (with that file's correct SHA-256)
    _edit_registry(shipped_vaes, lambda e: {**e, "vae_2d": {**e["vae_2d"], "file": "vae_16d.keras",
                                                              "sha256": e["vae_16d"]["sha256"]}})
    pattern = (r"vae_16d\.keras holds a model that does not match registry entry 'vae_2d' in .*registry\.json: "
               r"parameters 104368 \(entry says 101652\); .*latent size 16 \(entry says 2\)\. "
               r"This file is the one registered as 'vae_16d'")
    with pytest.raises(weights.WeightsError, match=pattern):
        weights.load_model("vae_2d")
    from helpers import vae  # noqa: F401  (the Sampling layer)

    model = keras.saving.load_model(shipped_vaes / "vae_2d.keras", compile=False)
    with pytest.raises(weights.WeightsError, match=r"holds 104,368 parameters but registry entry 'vae_2d'"):
        weights.load_into(model, "vae_2d")


def _two_layers(extra_layer=False, missing_layer=False):
    keras.utils.set_random_seed(1)
    layers = [keras.Input((3,)), keras.layers.Dense(4)]
    if not missing_layer:
        layers.append(keras.layers.Dense(5))
    if extra_layer:
        layers.append(keras.layers.Dense(5))
    return keras.Sequential(layers)


@pytest.mark.parametrize("kind", ["missing_layer", "extra_layer"])
def test_load_into_refuses_partial_loads(weights_dir, kind):
    path = _save(_two_layers(), "two")
    target = _two_layers(**{kind: True})
    before = [w.copy() for w in target.get_weights()]
    with pytest.raises(weights.WeightsError, match=r"do not fit this model: parameters"):
        weights.load_into(target, "two")
    # the guard below the registry check: Keras alone loads a model missing a layer without a word
    with pytest.raises(weights.WeightsError, match=r"\(two.keras: 4 arrays\) do not fit this model .*loading would be "
                                                   r"partial\. Only in the file: .*only in the model:"):
        weights.load_all_weights(target, path, "two")
    assert all(np.array_equal(a, b) for a, b in zip(before, target.get_weights())), "a refused load changes nothing"


def test_load_into_refuses_weights_left_unset(weights_dir, monkeypatch):
    _save(_two_layers(), "two")
    target = _two_layers()
    original = type(target).load_weights

    def load_then_reset_one(self, path, *args, **kwargs):  # as if Keras had skipped the second layer
        original(self, path, *args, **kwargs)
        self.layers[1].kernel.assign(np.zeros((4, 5), np.float32))

    monkeypatch.setattr(type(target), "load_weights", load_then_reset_one)
    with pytest.raises(weights.WeightsError,
                       match=r"loaded only partly: the model's .*kernel were not set from two.keras"):
        weights.load_into(target, "two")


# --------------------------------------------------------------------------- installed, not only cloned (issue 17)


@pytest.fixture(scope="module")
def installed_copy(tmp_path_factory):
    """``helpers`` installed non-editably (pip install --target), as `pip install .` or from git would."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    source = tmp_path_factory.mktemp("source")  # a copy, so the build leaves no build/ folder in the clone
    shutil.copy(root / "pyproject.toml", source)
    shutil.copytree(root / "helpers", source / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True, timeout=300)
    assert (target / "helpers" / "weights.py").is_file() and not (target / "data").exists()
    return {"root": root, "site": target, "outside": tmp_path_factory.mktemp("elsewhere")}


def _run_installed(installed, code, cwd, **env):
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if k not in ("COURSE_HOME", "COURSE_DATA_DIR")}
    environment.update(PYTHONPATH=str(installed["site"]), TF_CPP_MIN_LOG_LEVEL="3", **env)
    prelude = ("import helpers, sys; assert helpers.__file__.startswith(sys.argv[1]), helpers.__file__\n"
               "from helpers import data\n")  # helpers.weights imports TensorFlow: only where needed
    result = subprocess.run([sys.executable, "-c", prelude + code, str(installed["site"])], cwd=cwd,
                            env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_installed_package_outside_a_clone_says_to_use_a_clone(installed_copy):
    out = _run_installed(installed_copy, (
        "from helpers import weights\n"
        "print('root', data.COURSE_ROOT)\n"
        "for call in (weights.registry, lambda: data.load_mnist(download=False)):\n"
        "    try:\n        call()\n    except data.DataError as err:\n        print('ERROR', err)\n"
    ), cwd=installed_copy["outside"])
    assert "root None" in out, "importing works; nothing is raised before the data are needed"
    errors = [line for line in out.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 2, out
    for line in errors:
        assert "without the course's data/ folder" in line and "meant to be used from a clone" in line
        assert "git clone" in line and "COURSE_HOME" in line


@pytest.mark.parametrize("how", ["COURSE_HOME", "working directory"])
def test_installed_package_finds_the_clone(installed_copy, how):
    root = installed_copy["root"]
    env = {"COURSE_HOME": str(root)} if how == "COURSE_HOME" else {}
    cwd = installed_copy["outside"] if how == "COURSE_HOME" else root / "notebooks"
    code = ("print('root', data.COURSE_ROOT)\n"
            "print('source', data.load_mnist(download=False, verbose=False).source.kind)\n")
    if how == "COURSE_HOME":
        code += "from helpers import weights\nprint('entries', len(weights.registry()))\n"
    out = _run_installed(installed_copy, code, cwd=cwd, **env)
    assert f"root {root}" in out and "source embedded sample" in out
    if how == "COURSE_HOME":
        assert f"entries {len(weights.registry())}" in out


def test_course_home_that_is_not_a_clone_is_named(installed_copy):
    out = _run_installed(installed_copy, (
        "try:\n    data.load_mnist(download=False)\nexcept data.DataError as err:\n    print('ERROR', err)\n"
    ), cwd=installed_copy["outside"], COURSE_HOME=str(installed_copy["outside"]))
    assert f"COURSE_HOME='{installed_copy['outside']}' is not a clone" in out


def test_portable_config_drops_newer_keras_keys_only_at_their_defaults():
    """Keras 3.15 writes input_axes/output_axes and renorm* that Keras 3.13 (Colab) rejects; at their
    defaults they are dropped (same model), otherwise kept, so an older Keras refuses rather than
    building a different model."""
    config = {"class_name": "Dense", "config": {
        "kernel_initializer": {"config": {"seed": None, "input_axes": None, "output_axes": None}},
        "layers": [{"renorm": False, "renorm_momentum": 0.99, "renorm_clipping": None, "momentum": 0.9},
                   {"renorm": True, "renorm_momentum": 0.5}]}}
    portable = weights.portable_config(config)
    assert portable["config"]["kernel_initializer"] == {"config": {"seed": None}}
    assert portable["config"]["layers"] == [{"momentum": 0.9}, {"renorm": True, "renorm_momentum": 0.5}]


@pytest.mark.parametrize("name", sorted(weights.registry()))
def test_shipped_models_load_whole_and_match_keras_own_loader(name):
    """Every shipped model loads whole with load_model (portable config + every weight), and gives what Keras's
    own loader gives where the running Keras reads the file itself (3.15); on Colab's 3.13 only load_model can."""
    info = weights.registry()[name]
    ours = weights.load_model(name, info["dataset"], verbose=False)
    rng = np.random.default_rng(0)
    x = [rng.random((2, *tensor.shape[1:]), np.float32) for tensor in ours.inputs]
    x = x[0] if len(x) == 1 else x
    try:
        theirs = keras.saving.load_model(weights.entry(name, info["dataset"])["path"], compile=False)
    except TypeError as err:  # Keras 3.13 on a 3.15 file: the reason load_model exists
        assert "input_axes" in str(err) or "renorm" in str(err), err
        return
    for a, b in zip(keras.tree.flatten(ours(x, training=False)), keras.tree.flatten(theirs(x, training=False))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
