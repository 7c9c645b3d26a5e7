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


def check_versions() -> None:
    """Fail early with a clear message on a Keras older than the course needs (see TRAPS)."""
    import keras

    major, minor = (int(p) for p in keras.__version__.split(".")[:2])
    if (major, minor) < (3, 15):
        raise RuntimeError(
            f"Keras {keras.__version__} is too old: the course needs Keras >= 3.15 "
            "(train_on_batch semantics and the GAN compile fix). Run `make setup` again."
        )
