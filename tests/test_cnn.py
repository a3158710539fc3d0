"""Chapter 3: conv-by-hand helpers, RandomShift, the dataset switch and predict_image."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from course_utils import cnn, data  # noqa: E402


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_conv_pool_and_grads_match_tensorflow(padding, stride):
    rng = np.random.default_rng(stride)
    x, w, b = rng.normal(size=(2, 9, 8, 3)), rng.normal(size=(3, 2, 3, 4)), rng.normal(size=4)
    ref = tf.nn.conv2d(x, w, stride, padding.upper()).numpy() + b
    np.testing.assert_allclose(cnn.conv2d(x, w, b, stride, padding), ref, atol=1e-10)
    g = rng.normal(size=ref.shape)
    xt, wt = tf.constant(x), tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch([xt, wt])
        loss = tf.reduce_sum(tf.nn.conv2d(xt, wt, stride, padding.upper()) * g)
    dx, dw = tape.gradient(loss, [xt, wt])
    ours = cnn.conv2d_grads(x, w, g, stride, padding)
    np.testing.assert_allclose(ours[0], dx.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours[1], dw.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours[2], g.sum((0, 1, 2)))
    x32 = x.astype(np.float32)
    pool = keras.layers.MaxPooling2D(2, stride, padding)(x32)
    np.testing.assert_allclose(cnn.max_pool2d(x32, 2, stride, padding), np.asarray(pool), atol=1e-6)


def test_conv_errors():
    x, w = np.zeros((1, 4, 4, 2)), np.zeros((3, 3, 2, 1))
    with pytest.raises(ValueError, match="padding"):
        cnn.conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match="batch, height"):
        cnn.conv2d(x[0], w)
    with pytest.raises(ValueError, match="kernel must be"):
        cnn.conv2d(x, np.zeros((3, 3, 5, 1)))
    with pytest.raises(ValueError, match="does not fit"):
        cnn.conv2d(x, np.zeros((5, 5, 2, 1)))
    with pytest.raises(ValueError, match=">= 1"):
        cnn.output_size(4, 3, stride=0)


def test_random_shift_is_an_exact_zero_filled_shift():
    layer = cnn.RandomShift(2, seed=3)
    x = np.arange(1, 2 * 6 * 6 * 2 + 1, dtype=np.float32).reshape(2, 6, 6, 2)
    assert np.array_equal(np.asarray(layer(x)), x)  # inference: identity
    y = np.asarray(layer(x, training=True))
    for img, out in zip(x, y):  # every output is the input moved by some (dy, dx), zeros shifted in
        ok = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
              if np.array_equal(out, _shift(img, dy, dx))]
        assert ok, "not a whole-pixel shift"
    with pytest.raises(ValueError, match="max_shift"):
        cnn.RandomShift(-1)
    with pytest.raises(ValueError, match="batch, height"):
        cnn.RandomShift(1)(np.zeros((3, 4, 4), np.float32))


def _shift(img, dy, dx):
    out = np.zeros_like(img)
    h, w = img.shape[:2]
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[max(-dy, 0):h - max(dy, 0),
                                                                    max(-dx, 0):w - max(dx, 0)]
    return out


def test_load_dataset_switch(tmp_path, monkeypatch, capsys):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6, data_dir=str(tmp_path)):
        (x, y), (xt, yt), names, name = cnn.load_dataset("cifar10")
    assert name == "cifar10" and x.shape == (6, 32, 32, 3) and x.dtype == np.uint8 and len(names) == 10
    assert y.max() < 10 and xt.shape[1:] == (32, 32, 3)

    def offline(*args, **kwargs):
        raise data.OfflineError("no network (simulated)")

    monkeypatch.setattr(data, "load_tfds", offline)
    (x, _), _, names, name = cnn.load_dataset("cifar10")
    assert name == "fashion_mnist" and x.shape == (60000, 28, 28, 1) and names == data.FASHION_CLASSES
    assert "needs the network" in capsys.readouterr().out
    with pytest.raises(ValueError, match="DATASET"):
        cnn.load_dataset("imagenet")


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])


def test_predict_image(tiny_model):
    img = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    label, p = cnn.predict_image(tiny_model, img, ["a", "b", "c"])
    assert label in "abc" and p.shape == (3,) and abs(p.sum() - 1) < 1e-6
    _, p2 = cnn.predict_image(tiny_model, img[..., None].astype(np.float32) / 255)
    np.testing.assert_allclose(p, p2, atol=1e-6)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((32, 32), np.uint8), "shape"),
    (np.zeros((1, 28, 28, 1), np.uint8), "shape"),
    (np.full((28, 28), 2.0), r"\[0, 1\]"),
    (np.full((28, 28), np.nan), "NaN"),
    (np.zeros((28, 28), np.int64), "dtype"),
])
def test_predict_image_errors(tiny_model, bad, match):
    with pytest.raises(ValueError, match=match):
        cnn.predict_image(tiny_model, bad)


def test_time_budget_and_schedule_errors():
    with pytest.raises(ValueError):
        cnn.TimeBudget(0)
    with pytest.raises(ValueError):
        cnn.CosineToBudget(1e-3, total_steps=0)
    s = cnn.CosineToBudget(1.0, total_steps=10, warmup=0.1)
    assert s.rate(0.0) == 0 and abs(s.rate(0.1) - 1) < 1e-12 and abs(s.rate(1.0)) < 1e-12
