"""Convolution by hand (chapter 3): NumPy versions of what ``keras.layers.Conv2D`` / ``MaxPooling2D`` compute.

- :func:`conv2d`, :func:`conv2d_grads`, :func:`max_pool2d`, :func:`output_size` (NHWC images, HWIO kernels),
  checked against TensorFlow in the notebook and the tests.
"""
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
    """2-D convolution (cross-correlation, like every DL library).

    x (N,H,W,C), w (kh,kw,C,F) → (N,H',W',F).
    """
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
    dtype = np.result_type(x, w, g)
    dxp, dw = np.zeros_like(xp, dtype=dtype), np.zeros_like(w, dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :]  # (N, oh, ow, C)
            dw[i, j] = np.einsum("nhwc,nhwf->cf", patch, g)
            window = (slice(None), slice(i, i + stride * oh, stride), slice(j, j + stride * ow, stride))
            dxp[window] += np.einsum("nhwf,cf->nhwc", g, w[i, j])
    (top, _), (left, _) = pads
    dx = dxp[:, top:top + x.shape[1], left:left + x.shape[2], :]
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
