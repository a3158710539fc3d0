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


def _tiny_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


def _tiny_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(0.05), keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_fit_arrays_trains_with_one_hot_labels_and_times_each_epoch():
    train, val = _tiny_data(64, 0), _tiny_data(32, 1)
    history, clock = training.fit_arrays(_tiny_model(), train, val, epochs=8, batch_size=16)
    assert len(history.epoch) == 8 and len(clock.epoch_seconds) == 8
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.history)
    assert history.history["val_accuracy"][-1] > 0.8   # the label is the sign of the first input


@pytest.mark.parametrize("train, val, epochs, match", [
    ((np.zeros((4, 4)), np.zeros(3)), _tiny_data(8), 1, "equal length"),
    (_tiny_data(8), (np.zeros((0, 4)), np.zeros(0)), 1, "non-empty"),
    (_tiny_data(8), _tiny_data(8), 0, "epochs"),
])
def test_fit_arrays_rejects_bad_input(train, val, epochs, match):
    with pytest.raises(ValueError, match=match):
        training.fit_arrays(_tiny_model(), train, val, epochs=epochs)


def test_last_epoch_weights_survive_early_stopping_restore():
    model = _tiny_model()
    last = training.LastEpochWeights()
    stop = keras.callbacks.EarlyStopping("val_accuracy", patience=5, restore_best_weights=True)
    history, _ = training.fit_arrays(model, _tiny_data(64, 0), _tiny_data(32, 1), epochs=4, batch_size=16,
                                     callbacks=[last, stop])
    assert last.epoch == len(history.epoch) - 1
    model.set_weights(last.weights)
    x_val, y_val = _tiny_data(32, 1)
    acc = float((model.predict(x_val, verbose=0).argmax(1) == y_val).mean())
    assert acc == pytest.approx(history.history["val_accuracy"][-1], abs=1e-6)
