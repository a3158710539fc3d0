import re
from pathlib import Path

import pytest

from course_utils import config, startup, training, versions


@pytest.mark.parametrize("environ, mode", [
    ({}, "full"), ({"CI": "true"}, "quick"), ({"COURSE_MODE": "quick"}, "quick"),
    ({"COURSE_MODE": "full", "CI": "true"}, "full"), ({"COURSE_MODE": " Quick "}, "quick"),
    ({"CI": "false"}, "full"),
])
def test_get_mode(environ, mode):
    assert config.get_mode(environ) == mode


def test_bad_mode_is_an_error():
    with pytest.raises(ValueError, match="COURSE_MODE must be one of"):
        config.get_mode({"COURSE_MODE": "fast"})


def test_pick_follows_env(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "quick")
    assert config.pick(quick=1, full=2) == 1
    monkeypatch.setenv("COURSE_MODE", "full")
    assert config.pick(quick=1, full=2) == 2


def test_set_seed_repeats_numpy_and_keras():
    import keras
    import numpy as np

    config.set_seed(3)
    a = np.random.rand(3), keras.random.uniform((3,)).numpy()
    config.set_seed(3)
    b = np.random.rand(3), keras.random.uniform((3,)).numpy()
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_pins_match_requirements():
    req = Path(__file__).resolve().parents[2] / "requirements.txt"
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", req.read_text(), re.M))
    for pkg, version in versions.PINS.items():
        assert pinned.get(pkg) == version, pkg


def test_setup_prints_mode_and_device(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    assert startup.setup(seed=1) == "quick"
    out = capsys.readouterr().out
    assert "mode: quick" in out and "device: " in out and "tensorflow" in out


def test_version_mismatch_is_reported(monkeypatch):
    monkeypatch.setitem(versions.PINS, "numpy", "0.0.1")
    assert versions.version_mismatches()["numpy"][1] == "0.0.1"


def test_no_autotune_is_an_explicit_call_and_setup_changes_no_library(monkeypatch):
    import keras
    import numpy as np
    import tensorflow as tf

    x, y = np.zeros((10, 3), "float32"), np.zeros((10, 2), "float32")
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    assert training.no_autotune(batches).options().autotune.enabled is False
    assert batches.options().autotune.enabled is not False       # a new dataset: the given one is unchanged
    fit_before = keras.Model.fit
    monkeypatch.setenv("COURSE_MODE", "quick")
    startup.setup(seed=0, quiet=True)
    assert keras.Model.fit is fit_before
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    assert model.fit(training.no_autotune(batches), epochs=1, verbose=0).history["loss"]


def test_tensorflow_imported_once_then_stderr_left_alone(monkeypatch):
    import tensorflow as tf

    def fail():
        raise AssertionError("file descriptor 2 redirected again")

    monkeypatch.setattr(startup, "_native_stderr_silenced", fail)
    assert startup.import_tensorflow_quietly() is tf
