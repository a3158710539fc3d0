"""The one-line setup every notebook's first cell runs (introduced in notebook 00)."""
import contextlib
import datetime as _dt
import os
import sys
import platform
import warnings
from importlib import metadata

from .config import PINS, get_mode, set_seed


def version_mismatches():
    """``{package: (installed, pinned)}`` for each pinned package whose version differs."""
    out = {}
    for pkg, pinned in PINS.items():
        try:
            installed = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pinned:
            out[pkg] = (installed, pinned)
    return out


def device():
    """'TPU', 'GPU (n)' or 'CPU': what TensorFlow will run on."""
    import tensorflow as tf

    if tf.config.list_logical_devices("TPU"):
        return "TPU"
    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({len(gpus)})" if gpus else "CPU"


@contextlib.contextmanager
def _native_stderr_silenced():
    """Hide TensorFlow's C++ start-up log lines (oneDNN, CUDA probing), which no env variable turns off."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_NO_AUTOTUNE_PATCHED = []


def no_autotune(dataset):
    """``dataset`` with tf.data's autotuner switched off (fixed buffers, no background tuning thread).

    Why (measured in chapter 3 on TensorFlow 2.21, 2 CPUs): the autotuner thread sleeps 10 ms, 20 ms,
    40 ms, ... between rounds, and closing the iterator waits for its next wake-up. A Keras ``fit`` that
    trained for 12.6 s returned after 20.47 s (= 10 ms × (2¹¹ − 1)): any call can be held up to about
    its own duration again.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def keras_without_autotune():
    """Make every Keras ``fit``/``evaluate``/``predict`` (TensorFlow backend) feed through
    :func:`no_autotune`. Called by :func:`setup`; idempotent. Returns the patched adapter classes."""
    if _NO_AUTOTUNE_PATCHED:
        return _NO_AUTOTUNE_PATCHED
    from keras.src.trainers.data_adapters import (array_data_adapter, generator_data_adapter,
                                                 py_dataset_adapter, tf_dataset_adapter)

    for cls in (array_data_adapter.ArrayDataAdapter, tf_dataset_adapter.TFDatasetAdapter,
                generator_data_adapter.GeneratorDataAdapter, py_dataset_adapter.PyDatasetAdapter):
        original = cls.get_tf_dataset

        def get_tf_dataset(self, _original=original):
            return no_autotune(_original(self))

        cls.get_tf_dataset = get_tf_dataset
        _NO_AUTOTUNE_PATCHED.append(cls)
    return _NO_AUTOTUNE_PATCHED


def setup(seed=42, quiet=False):
    """Seed everything, then print mode, versions, device and date; warn if versions differ from the pins.

    Returns the mode (``"quick"`` or ``"full"``).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices()  # probes CUDA once, quietly
    import keras
    import numpy as np

    from .results import hardware

    set_seed(seed)
    keras_without_autotune()  # see no_autotune(): saves up to half the wall time of short Keras calls
    mode = get_mode()
    if not quiet:
        print(f"mode: {mode}   (set COURSE_MODE=quick|full to change)")
        print(f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, "
              f"numpy {np.__version__}")
        print(f"device: {device()}; hardware: {hardware()}")
        print(f"date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC, seed {seed}")
    for pkg, (have, want) in version_mismatches().items():
        warnings.warn(f"{pkg} {have} is installed; the course is tested on {want}. "
                      "Results may differ (pip install -r requirements.txt).", stacklevel=2)
    return mode
