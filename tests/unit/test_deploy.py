"""Chapter 3: predict_image (course_utils.deploy)."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from course_utils import deploy  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])


def test_predict_image(tiny_model):
    img = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    label, p = deploy.predict_image(tiny_model, img, ["a", "b", "c"])
    assert label in "abc" and p.shape == (3,) and abs(p.sum() - 1) < 1e-6
    _, p2 = deploy.predict_image(tiny_model, img[..., None].astype(np.float32) / 255)
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
        deploy.predict_image(tiny_model, bad)
