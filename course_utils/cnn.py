"""Convolution by hand, time-budgeted training and a checked prediction helper (chapter 3).

- :func:`conv2d`, :func:`conv2d_grads`, :func:`max_pool2d`, :func:`output_size`: NumPy versions of
  what ``keras.layers.Conv2D`` / ``MaxPooling2D`` compute (NHWC images, HWIO kernels), checked
  against TensorFlow in the notebook and the tests.
- :func:`load_dataset`: Fashion-MNIST (embedded) or CIFAR-10 (tfds, online only, with a clear fallback).
- :class:`TimeBudget` stops ``fit`` after N seconds of *training* and records validation accuracy
  against those seconds; :class:`CosineToBudget` anneals the learning rate to zero exactly when
  the budget (of seconds or of steps) runs out.
- :func:`predict_image`: one image in, ``(class, probabilities)`` out, with its input validated.
"""
import math
import time

import numpy as np

_PADDINGS = ("valid", "same")


def output_size(n, k, stride=1, padding="valid"):
    """Output length along one axis: ``ceil((n - k + 1) / s)`` for valid, ``ceil(n / s)`` for same."""
    if padding not in _PADDINGS:
        raise ValueError(f"padding must be one of {_PADDINGS}, got {padding!r}")
    if k < 1 or stride < 1:
        raise ValueError(f"kernel size and stride must be >= 1, got {k}, {stride}")
    if padding == "valid" and n < k:
        raise ValueError(f"a {k}-wide kernel does not fit in {n} pixels with 'valid' padding")
    return -(-(n - k + 1) // stride) if padding == "valid" else -(-n // stride)


def _pad_same(x, kh, kw, stride):
    """Zero-pad (N, H, W, C) as TensorFlow does for 'same': the extra pixel goes bottom/right."""
    pads = []
    for n, k in ((x.shape[1], kh), (x.shape[2], kw)):
        total = max((output_size(n, k, stride, "same") - 1) * stride + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0))), pads


def _check(x, w=None):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be (batch, height, width, channels), got shape {x.shape}")
    if w is not None:
        w = np.asarray(w)
        if w.ndim != 4 or w.shape[2] != x.shape[3]:
            raise ValueError(f"kernel must be (kh, kw, {x.shape[3]}, out_channels), got shape {w.shape}")
    return x, w


def conv2d(x, w, b=None, stride=1, padding="valid"):
    """2-D convolution (cross-correlation, like every DL library): x (N,H,W,C), w (kh,kw,C,F) → (N,H',W',F)."""
    x, w = _check(x, w)
    kh, kw = w.shape[:2]
    oh, ow = output_size(x.shape[1], kh, stride, padding), output_size(x.shape[2], kw, stride, padding)
    if padding == "same":
        x, _ = _pad_same(x, kh, kw, stride)
    # every (kh, kw) window as a view: (N, H-kh+1, W-kw+1, C, kh, kw), then keep every stride-th one
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    windows = windows[:, ::stride, ::stride][:, :oh, :ow]
    out = np.einsum("nhwcij,ijcf->nhwf", windows, w)
    return out if b is None else out + np.asarray(b)


def conv2d_grads(x, w, grad_out, stride=1, padding="valid"):
    """Backward pass of :func:`conv2d`: given dL/d(out), return (dL/dx, dL/dw, dL/db).

    Each output pixel is a dot product of one window with the kernel, so the kernel's gradient
    sums window × upstream gradient, and each input pixel collects gradient from every window it is in.
    """
    x, w = _check(x, w)
    kh, kw = w.shape[:2]
    xp, pads = _pad_same(x, kh, kw, stride) if padding == "same" else (x, ((0, 0), (0, 0)))
    g = np.asarray(grad_out)
    oh, ow = g.shape[1:3]
    dxp, dw = np.zeros_like(xp, dtype=np.result_type(x, w, g)), np.zeros_like(w, dtype=np.result_type(x, w, g))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :]  # (N, oh, ow, C)
            dw[i, j] = np.einsum("nhwc,nhwf->cf", patch, g)
            dxp[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :] += np.einsum("nhwf,cf->nhwc", g, w[i, j])
    (t, _), (l, _) = pads
    dx = dxp[:, t:t + x.shape[1], l:l + x.shape[2], :]
    return dx, dw, g.sum(axis=(0, 1, 2))


def max_pool2d(x, pool=2, stride=None, padding="valid"):
    """Max over each pool×pool window (stride defaults to pool), per channel; 'same' pads with -inf."""
    x, _ = _check(x)
    stride = stride or pool
    oh, ow = output_size(x.shape[1], pool, stride, padding), output_size(x.shape[2], pool, stride, padding)
    if padding == "same":
        _, pads = _pad_same(x[:1, :, :, :1], pool, pool, stride)
        x = np.pad(x.astype(float), ((0, 0), *pads, (0, 0)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(x, (pool, pool), axis=(1, 2))
    return windows[:, ::stride, ::stride][:, :oh, :ow].max(axis=(-2, -1))


# ---------------------------------------------------------------------------------------------- data
def _to_numpy(ds, batch=4096):
    """A supervised tf.data set of (image, label) as two NumPy arrays (uint8 images, int64 labels)."""
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in ds.batch(batch)))
    return np.concatenate(xs).astype(np.uint8), np.concatenate(ys).astype(np.int64)


def load_dataset(name="fashion_mnist", verbose=True):
    """``(x_train, y_train), (x_test, y_test), class_names, name`` with uint8 images (N, H, W, C).

    ``"fashion_mnist"`` is embedded in the course. ``"cifar10"`` comes through tfds and needs the
    network the first time; offline it prints why and falls back to Fashion-MNIST (the returned
    ``name`` says which one you got).
    """
    from . import data

    if name == "fashion_mnist":
        (x_tr, y_tr), (x_te, y_te) = data.load_fashion_mnist()
        return (x_tr[..., None], y_tr), (x_te[..., None], y_te), list(data.FASHION_CLASSES), name
    if name == "cifar10":
        try:
            splits = [data.load_tfds("cifar10", split=s) for s in ("train", "test")]
        except data.OfflineError as err:
            if verbose:
                print(f"CIFAR-10 is not available offline ({err.__class__.__name__}): it is downloaded by "
                      "tensorflow-datasets (about 160 MB) and needs the network the first time.\n"
                      "Falling back to the embedded Fashion-MNIST.")
            return load_dataset("fashion_mnist")
        (x_tr, y_tr), (x_te, y_te) = [_to_numpy(ds) for ds in splits]
        classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        return (x_tr, y_tr), (x_te, y_te), classes, name
    raise ValueError(f"DATASET must be 'fashion_mnist' or 'cifar10', got {name!r}")


# ------------------------------------------------------------------------------------------ training
def _keras():
    import keras

    return keras


class TimeBudget(_keras().callbacks.Callback):
    """Stop ``fit`` once ``seconds`` of training (validation time excluded) have passed.

    After each epoch it appends ``(training_seconds, val_accuracy)`` to ``self.curve``,
    the data of an accuracy-against-seconds plot.
    """

    def __init__(self, seconds):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, got {seconds}")
        self.seconds, self.elapsed, self.curve, self._start = float(seconds), 0.0, [], None

    def _now(self):
        return self.elapsed + (time.perf_counter() - self._start if self._start is not None else 0.0)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self._now() >= self.seconds:
            self.model.stop_training = True

    def on_test_begin(self, logs=None):  # validation starts: pause the clock
        if self._start is not None:
            self.elapsed, self._start = self._now(), None

    def on_epoch_end(self, epoch, logs=None):
        self.on_test_begin()
        if logs and "val_accuracy" in logs:
            self.curve.append((self.elapsed, float(logs["val_accuracy"])))
        if self.elapsed >= self.seconds:
            self.model.stop_training = True

    @property
    def fraction(self):
        return self._now() / self.seconds


class CosineToBudget(_keras().callbacks.Callback):
    """Linear warm-up, then cosine decay to 0 when the run ends: at ``total_steps`` or when
    ``budget`` (a :class:`TimeBudget`) runs out, whichever comes first. Sets the rate every batch."""

    def __init__(self, peak, total_steps, budget=None, warmup=0.03):
        super().__init__()
        if peak <= 0 or total_steps < 1 or not 0 <= warmup < 1:
            raise ValueError(f"need peak > 0, total_steps >= 1, 0 <= warmup < 1; got {peak}, {total_steps}, {warmup}")
        self.peak, self.total_steps, self.budget, self.warmup = peak, total_steps, budget, warmup
        self.step, self.rates = 0, []

    def rate(self, progress):
        if progress < self.warmup:
            return self.peak * progress / self.warmup
        p = min(1.0, (progress - self.warmup) / (1 - self.warmup))
        return self.peak * 0.5 * (1 + math.cos(math.pi * p))

    def on_train_batch_begin(self, batch, logs=None):
        progress = self.step / self.total_steps
        if self.budget is not None:
            progress = max(progress, self.budget.fraction)
        lr = self.rate(progress)
        self.model.optimizer.learning_rate.assign(lr)
        self.step += 1
        if batch == 0:
            self.rates.append(lr)


# ----------------------------------------------------------------------------------------- deploying
def predict_image(model, image, class_names=None):
    """Classify one image with a model that outputs logits: ``(label, probabilities)``.

    The label is a class name if ``class_names`` is given, else the class index.

    ``image`` must have the model's input shape (H, W, C), or (H, W) when C is 1; uint8 pixels
    0–255 are scaled to [0, 1]; float pixels must already be in [0, 1]. Anything else → ValueError.
    """
    image = np.asarray(image)
    want = tuple(model.input_shape[1:])
    if image.ndim == 2 and want[-1] == 1:
        image = image[..., None]
    if image.shape != want:
        raise ValueError(f"expected one image of shape {want} (or {want[:2]} for grayscale), got {image.shape}")
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    elif np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise ValueError("image contains NaN or infinite values")
        if image.min() < 0 or image.max() > 1:
            raise ValueError(f"float pixels must be in [0, 1], got range [{image.min():.3g}, {image.max():.3g}]"
                             " (divide uint8 images by 255, or pass them as uint8)")
        image = image.astype(np.float32)
    else:
        raise ValueError(f"image dtype must be uint8 or float, got {image.dtype}")
    logits = np.asarray(model(image[None], training=False))[0]
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    k = int(np.argmax(probs))
    return (class_names[k] if class_names is not None else k), probs


# -------------------------------------------------------------------------------------- augmentation
def _register(cls):
    return _keras().saving.register_keras_serializable(package="course")(cls)


@_register
class RandomShift(_keras().layers.Layer):
    """Shift each training image by its own random whole-pixel offset (−max_shift…max_shift) in
    height and width, filling with zeros; identity at inference.

    The shift is a product with two 0/1 shift matrices, ``S_h @ image @ S_wᵀ``: exact, and much cheaper
    on a CPU than ``RandomTranslation``'s general image warp.
    """

    def __init__(self, max_shift=2, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(max_shift, int) or max_shift < 0:
            raise ValueError(f"max_shift must be a non-negative int, got {max_shift!r}")
        self.max_shift, self.seed = max_shift, seed
        self.seed_generator = _keras().random.SeedGenerator(seed)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"RandomShift expects (batch, height, width, channels), got {input_shape}")

    @staticmethod
    def shift_matrices(n, offsets, dtype="float32"):
        """(B, n, n) matrices with ``S[b] @ v`` = v moved down by ``offsets[b]`` (zeros shifted in)."""
        ops = _keras().ops
        i = ops.arange(n)[None, :, None]
        j = ops.arange(n)[None, None, :]
        return ops.cast(ops.equal(j, i - ops.reshape(ops.cast(offsets, "int32"), (-1, 1, 1))), dtype)

    def call(self, x, training=None):
        if not training or self.max_shift == 0:
            return x
        ops = _keras().ops
        shape = ops.shape(x)
        offsets = _keras().random.randint((2, shape[0]), -self.max_shift, self.max_shift + 1,
                                          seed=self.seed_generator)
        sh = self.shift_matrices(shape[1], offsets[0], x.dtype)
        sw = self.shift_matrices(shape[2], offsets[1], x.dtype)
        x = ops.einsum("bij,bjwc->biwc", sh, x)
        return ops.einsum("bkw,bhwc->bhkc", sw, x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift, "seed": self.seed}
