"""Chapter 3: convolution by hand (course_utils.convolution) against TensorFlow."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from course_utils import convolution  # noqa: E402


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_conv_pool_and_grads_match_tensorflow(padding, stride):
    rng = np.random.default_rng(stride)
    x, w, b = rng.normal(size=(2, 9, 8, 3)), rng.normal(size=(3, 2, 3, 4)), rng.normal(size=4)
    ref = tf.nn.conv2d(x, w, stride, padding.upper()).numpy() + b
    np.testing.assert_allclose(convolution.conv2d(x, w, b, stride, padding), ref, atol=1e-10)
    g = rng.normal(size=ref.shape)
    xt, wt = tf.constant(x), tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch([xt, wt])
        loss = tf.reduce_sum(tf.nn.conv2d(xt, wt, stride, padding.upper()) * g)
    dx, dw = tape.gradient(loss, [xt, wt])
    ours = convolution.conv2d_grads(x, w, g, stride, padding)
    np.testing.assert_allclose(ours[0], dx.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours[1], dw.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours[2], g.sum((0, 1, 2)))
    x32 = x.astype(np.float32)
    pool = keras.layers.MaxPooling2D(2, stride, padding)(x32)
    np.testing.assert_allclose(convolution.max_pool2d(x32, 2, stride, padding), np.asarray(pool), atol=1e-6)


def test_conv_errors():
    x, w = np.zeros((1, 4, 4, 2)), np.zeros((3, 3, 2, 1))
    with pytest.raises(ValueError, match="padding"):
        convolution.conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match="batch, height"):
        convolution.conv2d(x[0], w)
    with pytest.raises(ValueError, match="kernel must be"):
        convolution.conv2d(x, np.zeros((3, 3, 5, 1)))
    with pytest.raises(ValueError, match="does not fit"):
        convolution.conv2d(x, np.zeros((5, 5, 2, 1)))
    with pytest.raises(ValueError, match=">= 1"):
        convolution.output_size(4, 3, stride=0)
