"""Chapter 3: augmentation layers (course_utils.augmentation)."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from course_utils import augmentation  # noqa: E402


def test_random_shift_is_an_exact_zero_filled_shift():
    layer = augmentation.RandomShift(2, seed=3)
    x = np.arange(1, 2 * 6 * 6 * 2 + 1, dtype=np.float32).reshape(2, 6, 6, 2)
    assert np.array_equal(np.asarray(layer(x)), x)  # inference: identity
    y = np.asarray(layer(x, training=True))
    for img, out in zip(x, y):  # every output is the input moved by some (dy, dx), zeros shifted in
        ok = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
              if np.array_equal(out, _shift(img, dy, dx))]
        assert ok, "not a whole-pixel shift"
    with pytest.raises(ValueError, match="max_shift"):
        augmentation.RandomShift(-1)
    with pytest.raises(ValueError, match="batch, height"):
        augmentation.RandomShift(1)(np.zeros((3, 4, 4), np.float32))


def _shift(img, dy, dx):
    out = np.zeros_like(img)
    h, w = img.shape[:2]
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[max(-dy, 0):h - max(dy, 0),
                                                                    max(-dx, 0):w - max(dx, 0)]
    return out
