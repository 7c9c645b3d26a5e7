"""What the setup notebook reports: versions, accelerator, and the fast/full mode."""

from __future__ import annotations

import os
import platform
import sys

from . import config


def quiet_tensorflow() -> None:
    """Import TensorFlow without its C++ start-up log lines (idempotent).

    TensorFlow 2.21 writes a few absl lines (oneDNN, "could not find cuda drivers") to file
    descriptor 2 while it is imported, before ``TF_CPP_MIN_LOG_LEVEL`` takes effect, and
    ipykernel copies that descriptor into the notebook. We point descriptor 2 at /dev/null for
    the import only; a failed import still raises its Python exception as usual.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def report() -> dict[str, str]:
    """Versions of the course's key packages, the devices TensorFlow sees, and the run mode."""
    quiet_tensorflow()
    import ipywidgets
    import keras
    import matplotlib
    import numpy
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras backend": keras.backend.backend(),
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
        "ipywidgets": ipywidgets.__version__,
        "accelerator": ", ".join(g.name for g in gpus) if gpus else "none (CPU only)",
        "CPU cores": str(os.cpu_count()),
        "mode": config.mode_name(),
        "interpreter": sys.executable,
    }


# The oldest versions the course is tested on: Google Colab's (`make test-colab`). Nothing in the course needs
# a newer Keras: the trainable-flag behaviour of the lecture's GAN recipe is the same across Keras 3 (the
# train function snapshots trainable weights when first traced). Keras 3.15 only changed `train_on_batch`
# to report the current batch's loss instead of a running mean, which changes printed numbers, not training.
MIN_VERSIONS = {"keras": (3, 13), "tensorflow": (2, 20)}


def _major_minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def check_versions() -> None:
    """Fail early, naming the package and the fix, on a Keras or TensorFlow older than the course is tested on."""
    quiet_tensorflow()
    import keras
    import tensorflow as tf

    for name, module in (("keras", keras), ("tensorflow", tf)):
        found = _major_minor(module.__version__)
        if found < MIN_VERSIONS[name]:
            floor = ".".join(map(str, MIN_VERSIONS[name]))
            raise RuntimeError(
                f"{name} {module.__version__} is older than {floor}, the oldest version the course is tested on. "
                f'Run `make setup` again, or `pip install "{name}>={floor}"`.'
            )
