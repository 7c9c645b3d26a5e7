"""helpers.training: the loop learns, records, checkpoints, resumes and survives an interruption."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import training

tf = training.tf
import keras  # noqa: E402


def _regression_problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(0.05)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(xb) - yb) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
        return {"mse": loss}

    return model, optimizer, step, (x, y)


def test_loop_trains_and_records(tmp_path):
    model, _, step, arrays = _regression_problem()
    history = training.train(step, arrays, epochs=6, batch_size=32, sample_every=2, live=False,
                             sample_fn=lambda: model(arrays[0][:4]).numpy())
    assert history.epochs_done == 6 and history.steps_done == 6 * 8
    assert len(history.step_losses["mse"]) == 48
    assert history.epoch_losses["mse"][-1] < 0.1 * history.epoch_losses["mse"][0]
    assert history.sample_epochs == [0, 2, 4, 6]
    assert history.seconds > 0 and not history.interrupted


def _interrupt_after(step, n_calls):
    """``step`` that raises KeyboardInterrupt on call ``n_calls + 1`` (as the stop button would)."""
    calls = {"n": 0}

    def flaky_step(xb, yb):
        calls["n"] += 1
        if calls["n"] == n_calls + 1:
            raise KeyboardInterrupt
        return step(xb, yb)

    return flaky_step


def test_checkpoint_resume_continues_where_it_stopped(tmp_path):
    model, opt, step, arrays = _regression_problem()
    ckpt = training.Checkpointer(tmp_path / "run", {"lr": 0.05}, model=model, optimizer=opt)
    history = training.train(_interrupt_after(step, 3 * 8), arrays, epochs=5, batch_size=32, checkpoint=ckpt,
                             sample_every=1, live=False)
    assert history.interrupted and history.epochs_done == 3
    weights_after_3 = [w.copy() for w in model.get_weights()]

    fresh, fresh_opt, fresh_step, _ = _regression_problem(seed=1)  # different init
    ckpt2 = training.Checkpointer(tmp_path / "run", {"lr": 0.05}, model=fresh, optimizer=fresh_opt)
    ckpt2.bind(_interrupt_after(fresh_step, 3 * 8), epochs=5, batch_size=32, arrays=arrays, seed=0)
    assert ckpt2.directory == ckpt.directory
    restored = ckpt2.restore()
    assert restored is not None and restored.epochs_done == 3 and restored.steps_done == 24
    for a, b in zip(weights_after_3, fresh.get_weights()):
        np.testing.assert_allclose(a, b)
    assert int(fresh_opt.iterations.numpy()) == 3 * 8, "optimizer state must be restored too"
    # the same wrapper (its constant 24 is part of the step's identity); only 16 steps are left to run
    history = training.train(_interrupt_after(fresh_step, 3 * 8), arrays, epochs=5, batch_size=32, checkpoint=ckpt2,
                             sample_every=1, live=False)
    assert history.epochs_done == 5 and len(history.epoch_losses["mse"]) == 5 and not history.interrupted
    assert int(fresh_opt.iterations.numpy()) == history.steps_done == 5 * 8


def _run_dirs(root):
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def test_settings_a_b_a_keeps_both_runs_and_resumes_a(tmp_path, capsys):
    def run(lr, epochs=2):
        model, opt, step, arrays = _regression_problem()
        ckpt = training.Checkpointer(tmp_path / "nb", {"lr": lr}, model=model, optimizer=opt)
        history = training.train(step, arrays, epochs=epochs, batch_size=32, checkpoint=ckpt, live=False)
        return ckpt, history, capsys.readouterr().out

    ckpt_a, history_a, _ = run(0.05)
    ckpt_b, history_b, out_b = run(0.01)
    assert ckpt_b.directory != ckpt_a.directory and history_b.steps_done == 16
    assert "New training run" in out_b and ckpt_a.directory.name in out_b and "settings lr" in out_b
    assert "lr=0.01" in ckpt_b.directory.name
    ckpt_a2, history_a2, out_a2 = run(0.05)
    assert ckpt_a2.directory == ckpt_a.directory and f"Resumed from {ckpt_a.directory}" in out_a2
    assert history_a2.step_losses == history_a.step_losses
    assert _run_dirs(tmp_path / "nb") == sorted([ckpt_a.directory.name, ckpt_b.directory.name])
    for ckpt in (ckpt_a, ckpt_b):
        identity = json.loads((ckpt.directory / "identity.json").read_text())
        assert identity["hash"] == ckpt.identity_hash and identity["budget"]["epochs"] == 2
        assert (ckpt.directory / "manifest.json").is_file()
    # a larger budget is another run too (a finished 2-epoch run is kept as it is)
    ckpt_long, history_long, _ = run(0.05, epochs=3)
    assert ckpt_long.directory not in (ckpt_a.directory, ckpt_b.directory) and history_long.steps_done == 24


BETA = 1.0


def _loss_helper(prediction, target):
    return BETA * tf.reduce_mean((prediction - target) ** 2)


def _step_with_global_constant(model, optimizer):
    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = _loss_helper(model(xb), yb)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
        return {"mse": loss}

    return step


def test_changed_step_code_or_constant_starts_fresh(tmp_path, monkeypatch, capsys):
    model, opt, _, arrays = _regression_problem()

    def checkpointer_for(step):
        ckpt = training.Checkpointer(tmp_path / "nb", {"lr": 0.05}, model=model, optimizer=opt)
        ckpt.bind(step, epochs=2, batch_size=32, arrays=arrays, seed=0)
        return ckpt

    base = checkpointer_for(_step_with_global_constant(model, opt))
    assert base.identity["step"]["constants"]["_loss_helper.BETA"] == 1.0
    assert "_loss_helper" in base.identity["step"]["code"], "the loss helper's source is part of the identity"
    training.train(_step_with_global_constant(model, opt), arrays, epochs=2, batch_size=32, checkpoint=base,
                   live=False)
    assert checkpointer_for(_step_with_global_constant(model, opt)).directory == base.directory  # same code

    monkeypatch.setitem(globals(), "BETA", 50.0)  # a student edits the global constant used by the loss
    changed = checkpointer_for(_step_with_global_constant(model, opt))
    assert changed.directory != base.directory
    assert changed.restore() is None
    assert "step" in capsys.readouterr().out

    def other_loss(xb, yb):  # same signature, other code
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(model(xb) - yb))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
        return {"mae": loss}

    assert checkpointer_for(other_loss).directory not in (base.directory, changed.directory)
    assert base.directory.is_dir()


def _conv_model(kernel_size, extra_layer=False):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((8, 8, 1)), keras.layers.Conv2D(2, kernel_size, padding="same")]
    layers += [keras.layers.Conv2D(2, 3, padding="same")] if extra_layer else []
    layers += [keras.layers.Flatten(), keras.layers.Dense(1)]
    return keras.Sequential(layers)


def test_changed_architecture_starts_fresh_without_restore_error(tmp_path, capsys):
    rng = np.random.default_rng(0)
    arrays = (rng.normal(size=(64, 8, 8, 1)).astype(np.float32), rng.normal(size=(64, 1)).astype(np.float32))

    def train_model(model):
        opt = keras.optimizers.Adam(0.01)

        @tf.function
        def step(xb, yb):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((model(xb) - yb) ** 2)
            opt.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
            return {"mse": loss}

        ckpt = training.Checkpointer(tmp_path / "nb", {"lr": 0.01}, model=model, optimizer=opt)
        history = training.train(step, arrays, epochs=2, batch_size=16, checkpoint=ckpt, live=False)
        return ckpt, history

    first, _ = train_model(_conv_model(3))
    same, history = train_model(_conv_model(3))  # same architecture, built again (new auto layer names)
    assert same.directory == first.directory and "Resumed" in capsys.readouterr().out
    wider, history = train_model(_conv_model(5))
    bigger, history_bigger = train_model(_conv_model(3, extra_layer=True))
    assert len({first.directory, wider.directory, bigger.directory}) == 3
    assert history.steps_done == history_bigger.steps_done == 8
    assert "models model" in capsys.readouterr().out
    assert all(c.directory.is_dir() for c in (first, wider, bigger))


def test_keyboard_interrupt_keeps_progress_and_saves(tmp_path, capsys):
    model, opt, step, arrays = _regression_problem()
    flaky_step = _interrupt_after(step, 8 * 2 + 2)  # during epoch 3
    ckpt = training.Checkpointer(tmp_path / "run", {}, model=model, optimizer=opt)
    history = training.train(flaky_step, arrays, epochs=10, batch_size=32, checkpoint=ckpt, sample_every=5,
                             live=False, sample_fn=lambda: model(arrays[0][:2]).numpy())
    assert history.interrupted and history.epochs_done == 2
    assert history.sample_epochs == [0, 2]
    assert "Interrupted after 2 of 10 epochs" in capsys.readouterr().out
    again = training.Checkpointer(tmp_path / "run", {}, model=model, optimizer=opt)
    again.bind(flaky_step, epochs=10, batch_size=32, arrays=arrays, seed=0)
    resumed = again.restore()
    assert resumed.epochs_done == 2 and resumed.steps_done == 18 == int(opt.iterations.numpy())


def test_bad_arguments():
    _, _, step, (x, y) = _regression_problem()
    with pytest.raises(ValueError, match="same length"):
        training.train(step, (x, y[:10]), epochs=1, batch_size=8, live=False)
    with pytest.raises(ValueError, match="larger than"):
        training.train(step, (x, y), epochs=1, batch_size=1000, live=False)


def test_progression_gif(tmp_path):
    history = training.History(sample_epochs=[0, 5], samples=[np.zeros((4, 784)), np.ones((4, 784))])
    path = training.save_progression_gif(history, tmp_path / "p.gif")
    from PIL import Image

    with Image.open(path) as gif:
        assert gif.n_frames == 2


def test_seconds_per_step_leaves_out_the_tracing_call():
    import time

    calls = {"n": 0}

    def step(xb, yb):
        calls["n"] += 1
        time.sleep(0.5 if calls["n"] == 1 else 0.001)  # the first call "traces"
        return {"loss": 0.0}

    x, y = np.zeros((64, 1), np.float32), np.zeros((64, 1), np.float32)
    history = training.train(step, (x, y), epochs=2, batch_size=8, live=False)
    assert history.steady_steps == 15
    assert history.seconds_per_step < 0.02 < history.seconds / history.steps_done


# --------------------------------------------------------------------------- torn checkpoints


def _two_checkpoints(tmp_path):
    """A run with checkpoints at steps 8 and 16 (keep 2), and a checkpointer to restore it."""
    model, opt, step, arrays = _regression_problem()
    ckpt = training.Checkpointer(tmp_path / "nb", {}, model=model, optimizer=opt)
    training.train(step, arrays, epochs=2, batch_size=32, checkpoint=ckpt, sample_every=1, live=False,
                   sample_fn=lambda: model(arrays[0][:2]).numpy())
    run = ckpt.directory
    manifest = json.loads((run / "manifest.json").read_text())
    assert [e["number"] for e in manifest["checkpoints"]] == [8, 16]
    weights_at_16 = [w.copy() for w in model.get_weights()]
    fresh, fresh_opt, _, _ = _regression_problem(seed=3)
    again = training.Checkpointer(tmp_path / "nb", {}, model=fresh, optimizer=fresh_opt)
    again.bind(step, epochs=2, batch_size=32, arrays=arrays, seed=0)
    assert again.directory == run
    return run, again, fresh, fresh_opt, weights_at_16


@pytest.mark.parametrize("damage", ["empty history", "truncated samples", "missing tf index", "garbage history"])
def test_torn_newest_checkpoint_falls_back_to_the_previous(tmp_path, capsys, damage):
    run, ckpt, model, opt, _ = _two_checkpoints(tmp_path)
    if damage == "empty history":
        (run / "history-000016.json").write_text("")
    elif damage == "garbage history":
        (run / "history-000016.json").write_text('{"history": {"steps_done": 16')
    elif damage == "truncated samples":
        data = (run / "samples-000016.npz").read_bytes()
        (run / "samples-000016.npz").write_bytes(data[: len(data) // 2])
    else:
        (run / "tf" / "ckpt-000016.index").unlink()
    capsys.readouterr()
    history = ckpt.restore()
    out = capsys.readouterr().out
    assert history is not None and history.steps_done == 8 and history.epochs_done == 1
    assert int(opt.iterations.numpy()) == 8, "weights and history must agree"
    assert "resumed from the complete one at step 8" in out and "set-aside-" in out
    aside = next(run.glob("set-aside-*"))
    assert (aside / "history-000016.json").exists() or (aside / "tf" / "ckpt-000016.data-00000-of-00001").exists()
    assert [e["number"] for e in json.loads((run / "manifest.json").read_text())["checkpoints"]] == [8]


def test_manifest_pointing_to_missing_checkpoints_starts_fresh_and_sets_files_aside(tmp_path, capsys):
    run, ckpt, model, opt, _ = _two_checkpoints(tmp_path)
    before = [w.copy() for w in model.get_weights()]
    (run / "manifest.json").write_text(json.dumps({"checkpoints": [
        {"number": 99, "tf_prefix": "tf/ckpt-000099", "history": "history-000099.json",
         "samples": "samples-000099.npz"}]}))
    capsys.readouterr()
    assert ckpt.restore() is None
    out = capsys.readouterr().out
    assert "No complete checkpoint" in out and "checkpoint 99" in out and "set-aside-" in out
    aside = next(run.glob("set-aside-*"))
    assert (aside / "manifest.json").is_file() and (aside / "history-000016.json").is_file()
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # untouched: a new run starts from the fresh weights
    assert int(opt.iterations.numpy()) == 0


def test_empty_manifest_and_files_without_manifest(tmp_path, capsys):
    run, ckpt, _, _, _ = _two_checkpoints(tmp_path)
    (run / "manifest.json").write_text("")
    assert ckpt.restore() is None
    assert "manifest.json unreadable" in capsys.readouterr().out
    # the set-aside files are still there; a kill before the first manifest leaves files only
    (run / "history-000003.json").write_text("{}")
    assert ckpt.restore() is None
    assert "no manifest.json" in capsys.readouterr().out
    assert len(list(run.glob("set-aside-*"))) == 2


def test_history_and_weights_from_different_checkpoints_are_refused(tmp_path, capsys):
    run, ckpt, _, opt, _ = _two_checkpoints(tmp_path)
    # a history that claims another step than its checkpoint (e.g. copied by hand)
    (run / "history-000016.json").write_bytes((run / "history-000008.json").read_bytes())
    history = ckpt.restore()
    assert history.steps_done == 8 == int(opt.iterations.numpy())
    assert "is at step 8, the manifest says 16" in capsys.readouterr().out


# --------------------------------------------------------------------------- checks before training


@pytest.mark.parametrize(("steps", "n", "batch", "message"), [
    (0, 100, 10, "TRAIN_STEPS = 0 must be positive"),
    (-5, 100, 10, "TRAIN_STEPS = -5 must be positive"),
    (2.5, 100, 10, "TRAIN_STEPS = 2.5 must be a whole number"),
    (10, 100, 0, "BATCH_SIZE = 0 must be positive"),
    (10, 100, 128, "BATCH_SIZE = 128 is larger than the 100 training examples"),
    (10, 0, 128, "TRAIN_SIZE"),
])
def test_plan_epochs_refuses_bad_budgets(steps, n, batch, message):
    with pytest.raises(ValueError, match=message):
        training.plan_epochs(steps, n, batch)


def test_plan_epochs_rounds_to_whole_epochs():
    assert training.plan_epochs(16, 1024, 128) == (2, 8)
    assert training.plan_epochs(3, 1024, 128) == (1, 8)
    assert training.plan_epochs(10_000, 60_000, 128) == (21, 468)


def test_train_checks_budget_and_batch_before_the_first_step():
    calls = []

    def step(xb):
        calls.append(1)
        return {"loss": 0.0}

    x = np.zeros((64, 1), np.float32)
    for kwargs, message in [
        (dict(epochs=0, batch_size=8), "epochs .* must be positive"),
        (dict(epochs=-5, batch_size=8), "epochs .* must be positive"),
        (dict(epochs=1, batch_size=0), "BATCH_SIZE"),
        (dict(epochs=1, batch_size=100), "larger than the 64"),
    ]:
        with pytest.raises(ValueError, match=message):
            training.train(step, x, live=False, **kwargs)
    with pytest.raises(ValueError, match="TRAIN_SIZE"):
        training.train(step, x[:0], epochs=1, batch_size=8, live=False)
    assert not calls


def test_runs_folder_that_cannot_be_created_fails_before_training(tmp_path):
    model, opt, step, arrays = _regression_problem()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    ckpt = training.Checkpointer(blocker / "runs" / "nb", {}, model=model, optimizer=opt)
    with pytest.raises(training.RunsFolderError, match="COURSE_RUNS_DIR"):
        training.train(step, arrays, epochs=1, batch_size=32, checkpoint=ckpt, live=False)
    assert int(opt.iterations.numpy()) == 0, "no step may run before the check"


def test_read_only_or_full_runs_folder_fails_before_training(tmp_path, monkeypatch):
    model, opt, step, arrays = _regression_problem()
    ckpt = training.Checkpointer(tmp_path / "nb", {}, model=model, optimizer=opt)
    monkeypatch.setattr(training.os, "access", lambda path, mode: False)  # chmod does not stop root
    with pytest.raises(training.RunsFolderError, match="not writable.*COURSE_RUNS_DIR"):
        training.train(step, arrays, epochs=1, batch_size=32, checkpoint=ckpt, live=False)
    monkeypatch.undo()

    def failing_write(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(training, "_atomic_write", failing_write)
    with pytest.raises(training.RunsFolderError, match="Cannot write into"):
        ckpt.check_room()
    monkeypatch.undo()
    monkeypatch.setattr(training.shutil, "disk_usage", lambda path: shutil_usage(free=1000))
    with pytest.raises(training.RunsFolderError, match="MiB free; its checkpoints need"):
        training.train(step, arrays, epochs=1, batch_size=32, checkpoint=ckpt, live=False)
    assert int(opt.iterations.numpy()) == 0


def shutil_usage(free):
    import shutil

    return shutil._ntuple_diskusage(10**9, 10**9 - free, free)


# --------------------------------------------------------------------------- non-finite losses


def test_nan_loss_stops_restores_last_good_checkpoint_and_names_the_step(tmp_path, capsys):
    model, opt, step, arrays = _regression_problem()
    calls = {"n": 0}

    def step_going_nan(xb, yb):
        calls["n"] += 1
        losses = step(xb, yb)  # the weights move, as a real diverging step would
        if calls["n"] >= 21:
            model.layers[0].kernel.assign(model.layers[0].kernel * np.nan)
            return {"mse": losses["mse"], "kl": tf.constant(np.nan)}
        return losses

    ckpt = training.Checkpointer(tmp_path / "nb", {}, model=model, optimizer=opt)
    with pytest.raises(training.NonFiniteLossError, match=r"loss 'kl' became nan at step 21") as error:
        training.train(step_going_nan, arrays, epochs=5, batch_size=32, checkpoint=ckpt, sample_every=1, live=False)
    assert error.value.loss_name == "kl" and error.value.step == 21
    assert "learning rate" in str(error.value)
    assert "restored to the last good checkpoint (step 16)" in capsys.readouterr().out
    manifest = json.loads((ckpt.directory / "manifest.json").read_text())
    assert [e["number"] for e in manifest["checkpoints"]] == [8, 16], "nothing saved from the bad step"
    reference, reference_opt, _, _ = _regression_problem(seed=5)
    check = training.Checkpointer(tmp_path / "nb", {}, model=reference, optimizer=reference_opt)
    check.bind(step_going_nan, epochs=5, batch_size=32, arrays=arrays, seed=0)
    assert check.restore().steps_done == 16
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(model.get_weights()[0]).all() and int(opt.iterations.numpy()) == 16


def test_inf_loss_without_checkpoint_raises_too():
    def step(xb):
        return {"loss": tf.constant(np.inf)}

    with pytest.raises(training.NonFiniteLossError, match="'loss' became inf at step 1"):
        training.train(step, np.zeros((16, 1), np.float32), epochs=2, batch_size=8, live=False)


# --------------------------------------------------------------------------- one run, one trainer


def test_same_run_cannot_be_trained_twice_at_once(tmp_path):
    model, opt, step, arrays = _regression_problem()
    first = training.Checkpointer(tmp_path / "nb", {}, model=model, optimizer=opt)
    second = training.Checkpointer(tmp_path / "nb", {}, model=model, optimizer=opt)
    other = training.Checkpointer(tmp_path / "nb", {"lr": 1}, model=model, optimizer=opt)
    for ckpt in (first, second, other):
        ckpt.bind(step, epochs=1, batch_size=32, arrays=arrays, seed=0)
    with first.locked():
        with pytest.raises(training.RunInUseError, match="in use by this same kernel") as error:
            training.train(step, arrays, epochs=1, batch_size=32, checkpoint=second, live=False)
        assert str(first.directory) in str(error.value)
        assert training.train(step, arrays, epochs=1, batch_size=32, checkpoint=other, live=False).steps_done == 8
    assert training.train(step, arrays, epochs=1, batch_size=32, checkpoint=second, live=False).steps_done == 8


def test_lock_names_the_other_process(tmp_path):
    import subprocess
    import sys

    model, opt, step, arrays = _regression_problem()
    ckpt = training.Checkpointer(tmp_path / "nb", {}, model=model, optimizer=opt)
    ckpt.bind(step, epochs=1, batch_size=32, arrays=arrays, seed=0)
    run = ckpt.directory
    run.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(run / '.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nos.write(fd, f'{os.getpid()}\\n'.encode())\n"
         "print('locked', flush=True)\ntime.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(training.RunInUseError, match=f"in use by process {holder.pid}"):
            ckpt.restore()
    finally:
        holder.kill()
        holder.wait()
    assert ckpt.restore() is None  # the lock dies with its process


def _scripted_score(model, scores):
    """A held-out score that follows ``scores`` epoch by epoch, remembering the model's weights at each call."""
    seen = []

    def score():
        seen.append([w.copy() for w in model.get_weights()])
        return scores[len(seen) - 1]

    return score, seen


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch(capsys):
    model, _, step, arrays = _regression_problem()
    score, seen = _scripted_score(model, [5.0, 4.0, 3.0, 3.5, 3.2, 9.0, 9.0, 9.0])
    stopper = training.EarlyStopping(score, patience=2, models=[model])
    history = training.train(step, arrays, epochs=8, batch_size=32, live=False, early_stopping=stopper)
    assert history.stopped_early and history.epochs_done == 5 and history.best_epoch == 3
    assert history.validation == [5.0, 4.0, 3.0, 3.5, 3.2]
    for best, now in zip(seen[2], model.get_weights()):  # epoch 3's weights, not epoch 5's
        np.testing.assert_array_equal(best, now)
    assert not all(np.array_equal(a, b) for a, b in zip(seen[4], model.get_weights()))
    out = capsys.readouterr().out
    assert "stopped early" in out and "weights of epoch 3 of 5" in out


def test_early_stopping_survives_an_interruption_and_a_finished_run_returns_at_once(tmp_path, capsys):
    scores = [5.0, 4.0, 3.0, 3.5, 3.2, 9.0]
    model, opt, step, arrays = _regression_problem()
    score, seen = _scripted_score(model, scores)
    stopper = training.EarlyStopping(score, patience=2, models=[model])
    ckpt = training.Checkpointer(tmp_path / "run", {"lr": 0.05}, model=model, optimizer=opt, early_stopping=stopper)
    wrapped = _interrupt_after(step, 4 * 8)
    history = training.train(wrapped, arrays, epochs=8, batch_size=32, checkpoint=ckpt, sample_every=1, live=False,
                             early_stopping=stopper)
    assert history.interrupted and history.epochs_done == 4 and not history.stopped_early
    best_weights = seen[2]

    fresh, fresh_opt, fresh_step, _ = _regression_problem(seed=1)
    fresh_score, fresh_seen = _scripted_score(fresh, scores[4:])  # the resumed run scores epochs 5, 6, ...
    fresh_stopper = training.EarlyStopping(fresh_score, patience=2, models=[fresh])
    ckpt2 = training.Checkpointer(tmp_path / "run", {"lr": 0.05}, model=fresh, optimizer=fresh_opt,
                                  early_stopping=fresh_stopper)
    history = training.train(wrapped, arrays, epochs=8, batch_size=32, checkpoint=ckpt2, sample_every=1,
                             live=False, early_stopping=fresh_stopper)
    assert history.stopped_early and history.epochs_done == 5 and history.best_epoch == 3
    assert len(fresh_seen) == 1, "only epoch 5 is trained and scored after the resume"
    for best, now in zip(best_weights, fresh.get_weights()):  # the best weights came back from the checkpoint
        np.testing.assert_allclose(best, now)

    again, again_opt, again_step, _ = _regression_problem(seed=2)
    again_score, again_seen = _scripted_score(again, scores)
    again_stopper = training.EarlyStopping(again_score, patience=2, models=[again])
    ckpt3 = training.Checkpointer(tmp_path / "run", {"lr": 0.05}, model=again, optimizer=again_opt,
                                  early_stopping=again_stopper)
    capsys.readouterr()
    history = training.train(wrapped, arrays, epochs=8, batch_size=32, checkpoint=ckpt3, sample_every=1,
                             live=False, early_stopping=again_stopper)
    assert history.stopped_early and not again_seen, "a run that stopped early is not trained again"
    assert "stopped early" in capsys.readouterr().out
    for best, now in zip(best_weights, again.get_weights()):
        np.testing.assert_allclose(best, now)


def test_early_stopping_patience_is_part_of_the_run_identity_and_must_be_checkpointed(tmp_path):
    model, opt, step, arrays = _regression_problem()
    stoppers = [training.EarlyStopping(lambda: 1.0, patience=p, models=[model]) for p in (2, 3)]
    dirs = {training.Checkpointer(tmp_path, {}, model=model, early_stopping=s).directory for s in stoppers}
    assert len(dirs) == 2
    ckpt = training.Checkpointer(tmp_path, {}, model=model, optimizer=opt)
    with pytest.raises(ValueError, match="pass the EarlyStopping to the Checkpointer"):
        training.train(step, arrays, epochs=2, batch_size=32, checkpoint=ckpt, live=False, early_stopping=stoppers[0])
    with pytest.raises(ValueError, match="patience"):
        training.EarlyStopping(lambda: 1.0, patience=0, models=[model])
    nan_stopper = training.EarlyStopping(lambda: float("nan"), patience=2, models=[model])
    with pytest.raises(training.NonFiniteLossError, match="early-stopping score"):
        training.train(step, arrays, epochs=2, batch_size=32, live=False, early_stopping=nan_stopper)


def test_checkpointer_leaves_out_a_none_trackable(tmp_path):
    model, opt, _, _ = _regression_problem()
    with_none = training.Checkpointer(tmp_path, {}, model=model, optimizer=opt, early_stopping=None)
    without = training.Checkpointer(tmp_path, {}, model=model, optimizer=opt)
    assert set(with_none.trackables) == {"model", "optimizer"} and with_none.directory == without.directory


def test_a_full_budget_run_says_it_is_long_and_how_to_skip_it(capsys):
    training.announce_budget("full", 12_000)
    said = capsys.readouterr().out
    assert "12,000 training steps" in said and 'WEIGHTS = "pretrained"' in said and 'BUDGET = "exercise"' in said
    for budget in ("fast", "exercise"):
        training.announce_budget(budget, 500)
        assert capsys.readouterr().out == ""
