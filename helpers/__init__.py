"""Shared code for the generative-models course notebooks.

Notebooks hold the teaching (the models and their training steps, written out); this package
holds what would otherwise be copied between them:

- ``config``       the one fast/full switch (``COURSE_FAST``) behind every notebook's parameters
- ``environment``  quiet TensorFlow import, version check, setup report
- ``data``         MNIST / Fashion-MNIST loading, offline first, plus preprocessing
- ``plotting``     image grids, per-label grids, progression figures, loss curves
- ``training``     the training loop around a notebook's step: live display, checkpoints, resume
- ``weights``      shipped pretrained weights and their registry
- ``widgets``      latent-space explorers that update in about a millisecond
- ``evaluation``   the judge classifier, Fréchet distance, class coverage, label accuracy
- ``gan``          notebook 01's compiled GAN step, reused by notebook 03
- ``vae``          the VAE's Sampling layer, KL term, ELBO and latent pictures
- ``augment``      DiffAugment (translation, cutout) for a GAN's discriminator on few images
- ``wgan``         WGAN-GP's training step (critic updates, gradient penalty, a G update every n_critic-th call)
- ``toy_ring``     the ring of 8 Gaussians: data, small MLPs, modes covered and the high-quality share
- ``toy_gan``      01's theory on a 1-D toy: the optimal discriminator and -log 4 + 2 JSD, checked
- ``toy_vae``      04's theory on probabilistic PCA: exact log p(x), the ELBO's gap, the importance-weighted bound
"""

__version__ = "0.2.0"
