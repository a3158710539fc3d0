"""Chapters 3 and 6: the training clock, FLOPs and the cosine schedule (course_utils.training)."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from course_utils import training  # noqa: E402


def test_schedule_errors():
    with pytest.raises(ValueError):
        training.CosineToBudget(1e-3, total_steps=0)
    s = training.CosineToBudget(1.0, total_steps=10, warmup=0.1)
    assert s.rate(0.0) == 0 and abs(s.rate(0.1) - 1) < 1e-12 and abs(s.rate(1.0)) < 1e-12


def test_training_clock_leaves_validation_out(monkeypatch):
    now = [0.0]   # a fake clock: one second per training batch, 100 per validation
    monkeypatch.setattr(training.time, "perf_counter", lambda: now[0])

    class Tick(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            now[0] += 1.0

        def on_test_batch_end(self, batch, logs=None):
            now[0] += 100.0

    x, y = np.zeros((8, 2), "float32"), np.zeros((8, 1), "float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    clock = training.TrainingClock()
    model.fit(x, y, batch_size=4, validation_data=(x, y), epochs=2, callbacks=[clock, Tick()], verbose=0)
    assert clock.epoch_seconds == [2.0, 2.0] and clock.elapsed == 4.0


def test_forward_flops_counts_conv_and_dense():
    model = keras.Sequential([keras.Input((8, 8, 2)), keras.layers.Conv2D(4, 3),
                              keras.layers.BatchNormalization(), keras.layers.ReLU(), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    conv = 6 * 6 * (3 * 3 * 2 * 4)      # output positions x kernel weights
    dense = 6 * 6 * 4 * 3
    assert training.forward_flops(model) == 2 * (conv + dense)
    outer = keras.Sequential([keras.Input((8, 8, 2)), model])   # a nested model is counted through
    assert training.forward_flops(outer) == 2 * (conv + dense)
    with pytest.raises(ValueError, match="DepthwiseConv2D"):
        training.forward_flops(keras.Sequential([keras.Input((8, 8, 2)), keras.layers.DepthwiseConv2D(3)]))
