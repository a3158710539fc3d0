"""How a run is configured: the mode (quick/full), seeding and the repository root. Taught in notebook 00.

One switch: the environment variable ``COURSE_MODE`` (``quick`` or ``full``).
``CI=true`` implies quick; a learner gets full mode by default.
"""
import os
import random
from pathlib import Path

import numpy as np

from .machine import has_gpu, in_colab

# The repository root (data/, notebooks/, results/, build/): computed here once, imported elsewhere.
ROOT = Path(__file__).resolve().parents[1]

MODES = ("quick", "full")


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
