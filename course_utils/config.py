"""Run mode (quick/full), seeding and the tested version pins. Taught in notebook 00.

One switch: the environment variable ``COURSE_MODE`` (``quick`` or ``full``).
``CI=true`` implies quick; a learner gets full mode by default.
"""
import glob
import os
import random
import re
import sys
from pathlib import Path

import numpy as np

# The repository root (data/, notebooks/, results/, build/): computed here once, imported elsewhere.
ROOT = Path(__file__).resolve().parents[1]

MODES = ("quick", "full")

# The pins the course is tested on (kept equal to requirements.txt by a unit test).
PINS = {
    "tensorflow": "2.21.0", "keras": "3.15.1", "keras-hub": "0.32.0",
    "tensorflow-text": "2.21.1", "tensorflow-datasets": "4.9.10", "numpy": "2.4.6",
    "matplotlib": "3.11.2", "scikit-learn": "1.9.1", "safetensors": "0.8.0",
}


# What the course supports (it is tested on the PINS above). Outside this, the setup cell says so in one line.
SUPPORTED = {"tensorflow": ((2, 16), (2, 21)), "keras": ((3, 15), (3, 15))}  # keras-hub 0.32 needs keras 3.15


def in_colab():
    """True inside a Google Colab kernel (it imports ``google.colab`` at start-up)."""
    return "google.colab" in sys.modules


def has_gpu():
    """True if an NVIDIA GPU device node exists (a cheap check: no TensorFlow import)."""
    return os.path.exists("/dev/nvidia0") or bool(glob.glob("/proc/driver/nvidia/gpus/*"))


def get_mode(environ=None, colab=None, gpu=None):
    """Return ``"quick"`` or ``"full"``; raise on a typo.

    ``COURSE_MODE`` decides when set; else ``CI=true`` means quick; else Colab without a GPU means quick
    (a chapter's full mode takes up to an hour on 2 CPUs); else full. ``colab``/``gpu`` override the checks.
    """
    env = os.environ if environ is None else environ
    mode = env.get("COURSE_MODE", "").strip().lower()
    if mode:
        if mode not in MODES:
            raise ValueError(f"COURSE_MODE must be one of {MODES}, got {mode!r}")
        return mode
    if env.get("CI", "").strip().lower() in ("1", "true", "yes"):
        return "quick"
    if (in_colab() if colab is None else colab) and not (has_gpu() if gpu is None else gpu):
        return "quick"
    return "full"


def _version_tuple(version):
    return tuple(int(x) for x in re.findall(r"\d+", version or "")[:2])


def support_problem(versions):
    """``None`` if ``{"tensorflow": "2.19.0", "keras": "3.10.0"}`` lies in :data:`SUPPORTED`, else one line
    saying why.

    A missing package (``None``) is a problem too.
    """
    bad = []
    for pkg, (low, high) in SUPPORTED.items():
        have = versions.get(pkg)
        if have is None or not low <= _version_tuple(have) <= high:
            bad.append(f"{pkg} {have or 'missing'}")
    if not bad:
        return None
    want = ", ".join(f"{p} {'.'.join(map(str, lo))}-{'.'.join(map(str, hi))}"
                     for p, (lo, hi) in SUPPORTED.items())
    tested = ", ".join(f"{p} {PINS[p]}" for p in SUPPORTED)
    return (f"{' and '.join(bad)} is outside what the course supports ({want}; tested on {tested}): "
            "expect errors; pip install -r requirements.txt, then restart, to use the tested versions.")


MODE = get_mode()


def is_quick():
    return get_mode() == "quick"


def pick(quick, full):
    """Choose a value by mode, e.g. ``num_epochs = pick(quick=2, full=30)``.

    The mode is read at call time, so a notebook and the runner always agree.
    """
    return quick if is_quick() else full


def set_seed(seed=42):
    """Seed Python, NumPy and Keras (hence TF) and turn on TF op determinism."""
    random.seed(seed)
    np.random.seed(seed)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return seed
