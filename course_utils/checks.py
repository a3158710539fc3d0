"""Checking gradients and comparing numbers (chapter 1; used again in chapter 2).

``gradient_check`` compares an analytic gradient with centered finite differences;
``compare`` prints whether two results are exactly equal, close, or different.
"""
import numpy as np


def relative_error(a, b):
    """‖a − b‖ / (‖a‖ + ‖b‖), 0 when both are zero: scale-free, so one threshold fits every parameter."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare shapes {a.shape} and {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def numerical_gradient(f, params, eps=1e-6):
    """Centered differences (f(p + ε) − f(p − ε)) / 2ε for every entry of every array in ``params``.

    ``f()`` takes no arguments and returns a scalar; the arrays are changed in place and restored.
    """
    grads = []
    for p in params:
        if p.dtype != np.float64:
            raise ValueError(f"gradient checks need float64 parameters, got {p.dtype}")
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up = f()
            p[i] = old - eps
            down = f()
            p[i] = old
            g[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def gradient_check(f, params, eps=1e-6, verbose=False):
    """Max relative error between analytic and numerical gradients over all parameter arrays.

    ``f(params)`` must return ``(loss, grads)`` with ``grads`` a flat list matching ``params``
    (a flat list of float64 arrays). Below ~1e-7 the backward pass is right; a bug gives ~1e-2 or more.
    """
    params = list(params)
    _, analytic = f(params)
    analytic = list(analytic)
    if len(analytic) != len(params):
        raise ValueError(f"f returned {len(analytic)} gradients for {len(params)} parameters")
    numeric = numerical_gradient(lambda: f(params)[0], params, eps)
    errors = [relative_error(a, n) for a, n in zip(analytic, numeric)]
    if verbose:
        for i, (p, e) in enumerate(zip(params, errors)):
            print(f"  param {i} {str(p.shape):>10}: relative error {e:.2e}")
    return max(errors)


def compare(name, ours, reference, atol=1e-6):
    """Print ``name: exact`` / ``close (max diff …)`` / ``DIFFERENT (max diff …)``; return the max abs
    diff."""
    ours, reference = np.asarray(ours, np.float64), np.asarray(reference, np.float64)
    if ours.shape != reference.shape:
        raise ValueError(f"{name}: shapes differ, {ours.shape} vs {reference.shape}")
    diff = float(np.max(np.abs(ours - reference))) if ours.size else 0.0
    verdict = "exact" if diff == 0 else ("close" if diff <= atol else "DIFFERENT")
    print(f"{name}: {verdict}" + ("" if diff == 0 else f" (max diff {diff:.1e})"))
    return diff
