"""helpers.training: the loop learns, records, checkpoints, resumes and survives an interruption."""

from __future__ import annotations

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


def test_checkpoint_resume_continues_where_it_stopped(tmp_path):
    model, opt, step, arrays = _regression_problem()
    ckpt = training.Checkpointer(tmp_path / "run", {"lr": 0.05}, model=model, optimizer=opt)
    training.train(step, arrays, epochs=3, batch_size=32, checkpoint=ckpt, sample_every=1, live=False)
    weights_after_3 = [w.copy() for w in model.get_weights()]

    fresh, fresh_opt, fresh_step, _ = _regression_problem(seed=1)  # different init
    ckpt2 = training.Checkpointer(tmp_path / "run", {"lr": 0.05}, model=fresh, optimizer=fresh_opt)
    restored = ckpt2.restore()
    assert restored is not None and restored.epochs_done == 3
    for a, b in zip(weights_after_3, fresh.get_weights()):
        np.testing.assert_allclose(a, b)
    assert int(fresh_opt.iterations.numpy()) == 3 * 8, "optimizer state must be restored too"
    history = training.train(fresh_step, arrays, epochs=5, batch_size=32, checkpoint=ckpt2, sample_every=1,
                             live=False)
    assert history.epochs_done == 5 and len(history.epoch_losses["mse"]) == 5


def test_changed_settings_start_a_new_run(tmp_path, capsys):
    model, opt, step, arrays = _regression_problem()
    training.train(step, arrays, epochs=2, batch_size=32, live=False,
                   checkpoint=training.Checkpointer(tmp_path / "run", {"lr": 0.05}, model=model, optimizer=opt))
    ckpt = training.Checkpointer(tmp_path / "run", {"lr": 0.01}, model=model, optimizer=opt)
    assert ckpt.restore() is None
    assert "other settings" in capsys.readouterr().out
    assert (tmp_path / "run.previous" / "history.json").is_file()


def test_keyboard_interrupt_keeps_progress_and_saves(tmp_path, capsys):
    model, opt, step, arrays = _regression_problem()
    calls = {"n": 0}

    def flaky_step(xb, yb):
        calls["n"] += 1
        if calls["n"] == 8 * 2 + 3:  # during epoch 3
            raise KeyboardInterrupt
        return step(xb, yb)

    ckpt = training.Checkpointer(tmp_path / "run", {}, model=model, optimizer=opt)
    history = training.train(flaky_step, arrays, epochs=10, batch_size=32, checkpoint=ckpt, sample_every=5,
                             live=False, sample_fn=lambda: model(arrays[0][:2]).numpy())
    assert history.interrupted and history.epochs_done == 2
    assert history.sample_epochs == [0, 2]
    assert "Interrupted after 2 of 10 epochs" in capsys.readouterr().out
    resumed = training.Checkpointer(tmp_path / "run", {}, model=model, optimizer=opt).restore()
    assert resumed.epochs_done == 2


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
