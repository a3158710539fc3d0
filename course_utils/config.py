"""Run mode (quick/full), seeding and the tested version pins. Taught in notebook 00.

One switch: the environment variable ``COURSE_MODE`` (``quick`` or ``full``).
``CI=true`` implies quick; a learner gets full mode by default.
"""
import os
import random

import numpy as np

MODES = ("quick", "full")

# The pins the course is tested on (kept equal to requirements.txt by a unit test).
PINS = {
    "tensorflow": "2.21.0", "keras": "3.15.1", "keras-hub": "0.32.0",
    "tensorflow-text": "2.21.1", "tensorflow-datasets": "4.9.10", "numpy": "2.4.6",
    "matplotlib": "3.11.2", "scikit-learn": "1.9.1", "safetensors": "0.8.0",
}


def get_mode(environ=None):
    """Return ``"quick"`` or ``"full"`` from ``COURSE_MODE`` (or ``CI``); raise on a typo."""
    env = os.environ if environ is None else environ
    mode = env.get("COURSE_MODE", "").strip().lower()
    if mode:
        if mode not in MODES:
            raise ValueError(f"COURSE_MODE must be one of {MODES}, got {mode!r}")
        return mode
    if env.get("CI", "").strip().lower() in ("1", "true", "yes"):
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
