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
