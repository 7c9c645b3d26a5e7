"""Differentiable augmentation for a GAN trained on few images (DiffAugment: Zhao et al., NeurIPS 2020).

With 4,000 training digits the discriminator can learn the training set by heart; then its gradient tells the
generator "be one of these images" rather than "look like a digit". DiffAugment shifts and cuts out patches of
*every* image D sees — real and generated, in D's step and in G's step — with operations that gradients pass
through, so D cannot memorise exact pixels and G is never taught to draw the augmentations (it would be, if only
real images were augmented). The two operations the paper found best for small data, in its defaults:

- **translation**: shift each image by up to ``translation`` of its size in each direction (empty pixels get the
  background value, -1 for images in [-1, 1]);
- **cutout**: blank a square of ``cutout`` of the image's side at a random place (to 0, as the paper does).
"""

from __future__ import annotations

from .environment import quiet_tensorflow

quiet_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


def diff_augment(images, seed_generator, *, translation: float = 0.125, cutout: float = 0.5, background: float = -1.0):
    """Translate, then cut out, each image of an (N, H, W, C) batch independently; differentiable in ``images``."""
    if images.shape.rank != 4:
        raise ValueError(f"diff_augment needs an (N, height, width, channels) batch; got shape {images.shape}. "
                         "Reshape flat images first, e.g. tf.reshape(x, (-1, 28, 28, 1)).")
    n = tf.shape(images)[0]
    height, width = images.shape[1], images.shape[2]
    if translation > 0:
        pad_y, pad_x = int(height * translation + 0.5), int(width * translation + 0.5)
        padded = tf.pad(images, [[0, 0], [pad_y, pad_y], [pad_x, pad_x], [0, 0]], constant_values=background)
        dy = keras.random.randint((n,), 0, 2 * pad_y + 1, seed=seed_generator)
        dx = keras.random.randint((n,), 0, 2 * pad_x + 1, seed=seed_generator)
        # crop_and_resize samples at whole pixels when the box is exactly (height, width) pixels: a pure shift
        full_h, full_w = float(height + 2 * pad_y - 1), float(width + 2 * pad_x - 1)
        dy, dx = tf.cast(dy, tf.float32), tf.cast(dx, tf.float32)
        boxes = tf.stack([dy / full_h, dx / full_w, (dy + height - 1) / full_h, (dx + width - 1) / full_w], axis=1)
        images = tf.image.crop_and_resize(padded, boxes, tf.range(n), (height, width))
    if cutout > 0:
        size_y, size_x = int(height * cutout + 0.5), int(width * cutout + 0.5)
        # the square's centre, anywhere such that it may hang over an edge (as in the paper)
        cy = keras.random.randint((n, 1, 1), 0, height + (1 - size_y % 2), seed=seed_generator)
        cx = keras.random.randint((n, 1, 1), 0, width + (1 - size_x % 2), seed=seed_generator)
        rows = tf.range(height)[None, :, None]
        cols = tf.range(width)[None, None, :]
        inside = ((rows >= cy - size_y // 2) & (rows < cy - size_y // 2 + size_y)
                  & (cols >= cx - size_x // 2) & (cols < cx - size_x // 2 + size_x))
        images = images * tf.cast(~inside, images.dtype)[..., None]
    return images
