"""Chapter 3: the strategy helper; a real MirroredStrategy run over two logical CPUs (in a subprocess,
because logical devices must be configured before TensorFlow initializes them)."""
import subprocess
import sys
import textwrap

import pytest

tf = pytest.importorskip("tensorflow")

from course_utils import distribute  # noqa: E402

SCRIPT = textwrap.dedent("""
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tensorflow as tf, keras
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from course_utils import distribute
    s = distribute.strategy(devices=["/cpu:0", "/cpu:1"])
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
    y = (x.sum(1) > 0).astype("int32")
    with s.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(optimizer=keras.optimizers.SGD(0.5), metrics=["accuracy"],
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    h = model.fit(x, y, batch_size=64, epochs=5, verbose=0)
    print(type(s).__name__, s.num_replicas_in_sync, h.history["loss"][0] > h.history["loss"][-1],
          h.history["accuracy"][-1] > 0.9)
""")


def test_mirrored_strategy_over_two_logical_cpus():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-4:] == ["MirroredStrategy", "2", "True", "True"], out.stdout


def test_default_strategy_on_one_device():
    s = distribute.strategy()
    assert s.num_replicas_in_sync == 1


def test_mirrored_on_several_gpus(monkeypatch):
    class Fake:
        def __init__(self, devices=None):
            self.devices = devices

    monkeypatch.setattr(tf.config, "list_logical_devices",
                        lambda kind=None: ["g0", "g1"] if kind == "GPU" else [])
    monkeypatch.setattr(tf.distribute, "MirroredStrategy", Fake)
    assert isinstance(distribute.strategy(), Fake)


def test_empty_devices_is_an_error():
    with pytest.raises(ValueError, match="at least one device"):
        distribute.strategy(devices=[])
