"""helpers.training survives SIGKILL at random moments: every rerun resumes a consistent checkpoint
(weights' step == history's step) or starts fresh with a message, and never raises.

One "zygote" interpreter imports TensorFlow once and forks a trainer per trial (a fresh interpreter
per trial would spend ~6 s importing TensorFlow on this machine); each trainer restores, reports
what it found, then trains with a checkpoint every epoch until the test kills it with SIGKILL.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

ZYGOTE = textwrap.dedent('''
    import contextlib, io, json, os, sys, traceback
    sys.path.insert(0, {repo!r})
    from helpers import training  # TensorFlow and Keras are imported here, once
    import numpy as np

    ROOT = sys.argv[1]


    def trial():
        keras, tf = training.keras, training.tf
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16), keras.layers.Dense(1)])
        optimizer = keras.optimizers.Adam(0.01)
        x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
        y = x.sum(axis=1, keepdims=True)

        @tf.function
        def step(xb, yb):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((model(xb) - yb) ** 2)
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
            return {{"mse": loss}}

        ckpt = training.Checkpointer(ROOT, {{"test": "kill"}}, model=model, optimizer=optimizer)
        ckpt.bind(step, epochs=100_000, batch_size=16, arrays=(x, y), seed=0)
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            history = ckpt.restore()
        report = {{"resumed": history is not None, "steps": history.steps_done if history else 0,
                   "epochs": history.epochs_done if history else 0,
                   "losses": len(history.step_losses.get("mse", [])) if history else 0,
                   "samples": len(history.samples) if history else 0,
                   "sample_epochs": len(history.sample_epochs) if history else 0,
                   "iterations": int(optimizer.iterations.numpy()), "message": said.getvalue()}}
        print("RESULT " + json.dumps(report), flush=True)
        with contextlib.redirect_stdout(io.StringIO()):
            training.train(step, (x, y), epochs=100_000, batch_size=16, checkpoint=ckpt, sample_every=1,
                           live=False, sample_fn=lambda: model(x[:4]).numpy())


    for command in sys.stdin:
        if command.strip() != "trial":
            break
        pid = os.fork()
        if pid == 0:
            try:
                trial()
            except BaseException:
                print("ERROR " + json.dumps(traceback.format_exc()), flush=True)
                os._exit(1)
            os._exit(0)
        print(f"PID {{pid}}", flush=True)
        os.waitpid(pid, 0)  # returns once the test has killed it
''')


def _read_line(process, prefix: str, deadline: float) -> str:
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"the worker ended while waiting for {prefix!r}")
        if line.startswith("ERROR "):
            raise AssertionError("the rerun raised:\n" + json.loads(line[6:]))
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    raise AssertionError(f"no {prefix!r} line in time")


def test_sigkill_at_random_moments_never_breaks_a_rerun(tmp_path):
    script = tmp_path / "zygote.py"
    script.write_text(ZYGOTE.format(repo=str(REPO)))
    root = tmp_path / "runs" / "kill_test"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COURSE_RUNS_DIR": str(tmp_path / "runs")}
    zygote = subprocess.Popen([sys.executable, str(script), str(root)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    rng = random.Random(20240612)  # reproducible kill times
    reports = []
    began = time.monotonic()
    try:
        for trial in range(13):
            had_checkpoint = any(root.glob("*/manifest.json"))
            zygote.stdin.write("trial\n")
            zygote.stdin.flush()
            pid = int(_read_line(zygote, "PID ", time.monotonic() + 60))
            report = json.loads(_read_line(zygote, "RESULT ", time.monotonic() + 60))
            report["had_checkpoint"] = had_checkpoint
            reports.append(report)
            if trial == 0:  # let the first run write a checkpoint, so later reruns have one to resume
                deadline = time.monotonic() + 60
                while not any(root.glob("*/manifest.json")) and time.monotonic() < deadline:
                    time.sleep(0.05)
            if trial < 12:
                time.sleep(rng.uniform(0.0, 3.0))  # a restore, a first step, or a save (most of the time)
            os.kill(pid, signal.SIGKILL)
    finally:
        zygote.stdin.close()
        zygote.kill()
        zygote.wait()
    seconds = time.monotonic() - began
    for report in reports:
        if report["resumed"]:
            assert report["iterations"] == report["steps"] == report["losses"] > 0, report
            assert report["samples"] == report["sample_epochs"] == report["epochs"] + 1, report
        elif report["had_checkpoint"]:
            assert "No complete checkpoint" in report["message"], report
    resumed = [r for r in reports[1:] if r["resumed"]]
    assert len(resumed) >= 6, f"too few resumed reruns to test anything: {reports}"
    assert [p.name for p in root.iterdir() if p.is_dir()] and len([p for p in root.iterdir() if p.is_dir()]) == 1
    print(f"{len(reports)} trials in {seconds:.0f} s; resumed {len(resumed)}; "
          f"fell back {sum('incomplete' in r['message'] for r in reports)}; "
          f"fresh with a message {sum('No complete' in r['message'] for r in reports)}")
