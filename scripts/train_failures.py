"""Train the failure gallery's models (notebook 07) and ship them with their provenance.

    python scripts/train_failures.py                      # every failure
    python scripts/train_failures.py mode_collapse dwins  # some of them
    python scripts/train_failures.py --list

Each recipe is seeded (``keras.utils.set_random_seed``) and trains on the embedded 4,000-digit sample
on the CPU in seconds to a minute, then saves its models with ``helpers.weights.save_pretrained``
(registry entry: data, steps, seconds, this command). The recipes are deliberately broken in one way
each; the builders live in ``helpers/failures.py`` and the detectors that catch them beside them.

- ``mode_collapse``: the small MLP GAN, trained normally for a while; then G takes ten steps with a
  large learning rate per step of a D that hardly moves: G chases whatever D currently rates most real.
- ``label_blind``: a conditional G whose discriminator never sees the label, so nothing rewards G for
  drawing the digit it was asked for.
- ``posterior_collapse``: notebook 04's VAE (16-d latent) with the KL term weighted by beta = 50.
- ``checkerboard``: a DCGAN generator with kernel-3, stride-2 transpose convolutions, briefly trained.
- ``dwins``: the small MLP GAN trained normally (G and the balanced D are saved), then D alone for
  more steps against the frozen G, until it rejects every sample (the winning D is saved).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import data, environment, failures, vae, weights  # noqa: E402

environment.quiet_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

SEED = 0
BATCH_SIZE = 64
DATA_SOURCE = "embedded sample"


def sample_arrays():
    """The embedded sample, always (the healthy shipped models were trained on it too)."""
    arrays = data.load_embedded_sample()
    return arrays["x_train"], arrays["y_train"].astype(int)


def symmetric_flat(images: np.ndarray) -> np.ndarray:
    return data.flatten(data.scale_to_symmetric(images)).astype(np.float32)


def batches(n_examples: int, steps: int, batch_size: int, seed: int):
    """``steps`` index batches from seeded shuffles of the training set (epoch after epoch)."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < steps:
        order = rng.permutation(n_examples)
        for start in range(0, n_examples - batch_size + 1, batch_size):
            if done == steps:
                return
            yield order[start : start + batch_size]
            done += 1


def make_gan_steps(generator, discriminator, g_lr: float, d_lr: float, *, d_sees_label: bool = False,
                   seed: int = SEED):
    """Separate compiled D and G steps (a recipe may call them in any ratio). D returns logits;
    G uses the non-saturating loss, softplus(-l) = -log D. Conditional G: labels are one-hot rows."""
    g_opt, d_opt = keras.optimizers.Adam(g_lr, beta_1=0.5), keras.optimizers.Adam(d_lr, beta_1=0.5)
    noise_seeds = keras.random.SeedGenerator(seed)
    latent_dim = generator.inputs[0].shape[-1]
    conditional = len(generator.inputs) == 2

    def generate(n, labels):
        z = keras.random.normal((n, latent_dim), seed=noise_seeds)
        return generator([z, labels] if conditional else z, training=True)

    def judge(images, labels):
        return discriminator([images, labels] if d_sees_label else images, training=True)

    @tf.function
    def d_step(real, labels):
        with tf.GradientTape() as tape:
            fake = generate(tf.shape(real)[0], labels)
            loss = 0.5 * (tf.reduce_mean(tf.nn.softplus(-judge(real, labels)))
                          + tf.reduce_mean(tf.nn.softplus(judge(fake, labels))))
        d_opt.apply_gradients(zip(tape.gradient(loss, discriminator.trainable_weights),
                                  discriminator.trainable_weights))
        return loss

    @tf.function
    def g_step(labels):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.softplus(-judge(generate(tf.shape(labels)[0], labels), labels)))
        g_opt.apply_gradients(zip(tape.gradient(loss, generator.trainable_weights), generator.trainable_weights))
        return loss

    return d_step, g_step


def train_gan(generator, discriminator, x, y, *, steps: int, g_lr: float, d_lr: float, g_steps_per_d: int = 1,
              d_sees_label: bool = False, seed: int = SEED) -> float:
    """``steps`` D steps, each followed by ``g_steps_per_d`` G steps; returns the seconds taken."""
    d_step, g_step = make_gan_steps(generator, discriminator, g_lr, d_lr, d_sees_label=d_sees_label, seed=seed)
    labels_all = data.one_hot(y).astype(np.float32)
    began = time.perf_counter()
    for rows in batches(len(x), steps, BATCH_SIZE, seed):
        labels = tf.constant(labels_all[rows])
        d_step(tf.constant(x[rows]), labels)
        for _ in range(g_steps_per_d):
            g_step(labels)
    return time.perf_counter() - began


def epochs_of(steps: int, n_examples: int) -> int:
    return max(1, round(steps * BATCH_SIZE / n_examples))


def save(model, name: str, *, steps: int, seconds: float, recipe: str, command: str, **extra) -> None:
    weights.save_pretrained(model, name, dataset="mnist", data_source=DATA_SOURCE, epochs=epochs_of(steps, 4000),
                            train_seconds=seconds, command=command, train_size=4000, batch_size=BATCH_SIZE,
                            steps=steps, recipe=recipe, **extra)


# --------------------------------------------------------------------------- the recipes

MODE_COLLAPSE = dict(warmup_steps=1500, steps=50, g_lr=1e-3, d_lr=1e-6, g_steps_per_d=10)
LABEL_BLIND_STEPS = 3000
POSTERIOR = dict(latent_dim=16, beta=50.0, epochs=30, batch_size=100, lr=1e-3)
CHECKERBOARD_STEPS = 600
DWINS = dict(joint_steps=1000, d_only_steps=300)


def mode_collapse(x, y, command: str, save_models: bool = True, seed: int = SEED):
    keras.utils.set_random_seed(seed)
    generator, discriminator = failures.build_small_generator(), failures.build_small_discriminator()
    s, flat = MODE_COLLAPSE, symmetric_flat(x)
    # a normal start (G learns to draw digits), then the bug: D almost stops learning while G races ahead
    seconds = train_gan(generator, discriminator, flat, y, steps=s["warmup_steps"], g_lr=2e-4, d_lr=2e-4, seed=seed)
    seconds += train_gan(generator, discriminator, flat, y, steps=s["steps"], g_lr=s["g_lr"], d_lr=s["d_lr"],
                         g_steps_per_d=s["g_steps_per_d"], seed=seed + 1)
    if save_models:
        g_steps = s["warmup_steps"] + s["steps"] * s["g_steps_per_d"]
        save(generator, "failure_mode_collapse_generator", steps=g_steps, seconds=seconds, command=command,
             recipe=f"small MLP GAN: {s['warmup_steps']} normal steps (Adam 2e-4), then {s['steps']} D steps with "
                    f"Adam {s['d_lr']} (D almost frozen), each followed by {s['g_steps_per_d']} G steps with Adam "
                    f"{s['g_lr']}; seed {seed}")
    return generator, seconds


def label_blind(x, y, command: str, save_models: bool = True, seed: int = SEED):
    keras.utils.set_random_seed(seed)
    generator = failures.build_small_generator(conditional=True)
    discriminator = failures.build_small_discriminator(conditional=False)  # the bug: D never sees the label
    seconds = train_gan(generator, discriminator, symmetric_flat(x), y, steps=LABEL_BLIND_STEPS, g_lr=2e-4,
                        d_lr=2e-4, seed=seed)
    if save_models:
        save(generator, "failure_label_blind_generator", steps=LABEL_BLIND_STEPS, seconds=seconds, command=command,
             recipe=f"small conditional MLP GAN whose discriminator does not see the label; Adam 2e-4; seed {seed}")
    return generator, seconds


def posterior_collapse(x, y, command: str, save_models: bool = True, seed: int = SEED):
    keras.utils.set_random_seed(seed)
    s = POSTERIOR
    encoder, decoder, model = failures.build_vae(s["latent_dim"], seed=seed)
    optimizer = keras.optimizers.Adam(s["lr"])
    beta = tf.constant(s["beta"])

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = encoder(batch, training=True)
            loss = tf.reduce_mean(vae.bernoulli_nll(batch, decoder(z, training=True))
                                  + beta * vae.kl_divergence(z_mean, z_log_var))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
        return loss

    images = data.flatten(data.scale_to_unit(x)).astype(np.float32)
    steps = s["epochs"] * (len(images) // s["batch_size"])
    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    for _ in range(s["epochs"]):
        order = rng.permutation(len(images))
        for start in range(0, len(images), s["batch_size"]):
            step(tf.constant(images[order[start : start + s["batch_size"]]]))
    seconds = time.perf_counter() - began
    if save_models:
        weights.save_pretrained(model, "failure_posterior_collapse_vae", dataset="mnist", data_source=DATA_SOURCE,
                                epochs=s["epochs"], train_seconds=seconds, command=command, train_size=len(images),
                                batch_size=s["batch_size"], steps=steps,
                                recipe=f"notebook 04's VAE with a {s['latent_dim']}-d latent, loss = reconstruction + "
                                       f"{s['beta']:g} x KL; Adam {s['lr']}; seed {seed}")
    return model, seconds


def checkerboard(x, y, command: str, save_models: bool = True, seed: int = SEED, steps: int = CHECKERBOARD_STEPS):
    keras.utils.set_random_seed(seed)
    generator, discriminator = failures.build_kernel3_transpose_generator(), failures.build_conv_discriminator()
    images = data.as_image_batch(data.scale_to_symmetric(x)).astype(np.float32)
    seconds = train_gan(generator, discriminator, images, y, steps=steps, g_lr=2e-4, d_lr=2e-4, seed=seed)
    if save_models:
        save(generator, "failure_checkerboard_generator", steps=steps, seconds=seconds, command=command,
             recipe=f"DCGAN generator with kernel-3 stride-2 Conv2DTranspose layers, {steps} steps of "
                    f"notebook 03's recipe (Adam 2e-4); seed {seed}")
    return generator, seconds


def dwins(x, y, command: str, save_models: bool = True, seed: int = SEED):
    keras.utils.set_random_seed(seed)
    generator, discriminator = failures.build_small_generator(), failures.build_small_discriminator()
    flat = symmetric_flat(x)
    joint_seconds = train_gan(generator, discriminator, flat, y, steps=DWINS["joint_steps"], g_lr=2e-4, d_lr=2e-4,
                              seed=seed)
    balanced = keras.models.clone_model(discriminator)
    balanced.set_weights(discriminator.get_weights())
    d_step, _ = make_gan_steps(generator, discriminator, 2e-4, 2e-4, seed=seed + 1)
    labels = tf.zeros((BATCH_SIZE, 10))
    began = time.perf_counter()
    for rows in batches(len(flat), DWINS["d_only_steps"], BATCH_SIZE, seed + 1):
        d_step(tf.constant(flat[rows]), labels)
    d_seconds = time.perf_counter() - began
    if save_models:
        common = dict(command=command)
        save(generator, "failure_dwins_generator", steps=DWINS["joint_steps"], seconds=joint_seconds,
             recipe=f"small MLP GAN, {DWINS['joint_steps']} joint steps (Adam 2e-4, non-saturating loss); seed {seed}",
             **common)
        save(balanced, "failure_dwins_balanced_discriminator", steps=DWINS["joint_steps"], seconds=joint_seconds,
             recipe="the healthy reference: the discriminator trained jointly with failure_dwins_generator "
                    f"({DWINS['joint_steps']} steps); returns a logit", **common)
        save(discriminator, "failure_dwins_discriminator", steps=DWINS["joint_steps"] + DWINS["d_only_steps"],
             seconds=joint_seconds + d_seconds,
             recipe=f"the balanced discriminator trained alone for {DWINS['d_only_steps']} more steps against the "
                    "frozen failure_dwins_generator, until it rejects every sample; returns a logit", **common)
    return (generator, balanced, discriminator), joint_seconds + d_seconds


RECIPES = {"mode_collapse": mode_collapse, "label_blind": label_blind, "posterior_collapse": posterior_collapse,
           "checkerboard": checkerboard, "dwins": dwins}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recipes", nargs="*", help=f"any of {', '.join(RECIPES)} (default: all)")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(RECIPES))
        return
    unknown = [r for r in args.recipes if r not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(unknown)}: choose from {', '.join(RECIPES)}")
    x, y = sample_arrays()
    for name in args.recipes or RECIPES:
        _, seconds = RECIPES[name](x, y, f"python scripts/train_failures.py {name}")
        print(f"{name}: trained in {seconds:.1f} s")


if __name__ == "__main__":
    main()
