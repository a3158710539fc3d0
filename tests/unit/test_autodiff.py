"""Tests for course_utils.autodiff (chapter 1, §4): the scalar reverse-mode engine ``Value``."""
import math

import numpy as np
import pytest

from course_utils import autodiff
from course_utils.autodiff import Value, as_values, gradients


def _worked_example():
    """Chapter 1's 2-2-2 ReLU network (x = [1, 2], y = [3, 4], weights 0.1 ... 0.8, biases 0)."""
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    W1, W2 = np.array([[0.1, 0.2], [0.3, 0.4]]), np.array([[0.5, 0.6], [0.7, 0.8]])
    b1, b2 = np.zeros(2), np.zeros(2)
    return x, y, W1, b1, W2, b2


def _dense(W, v, b):
    return [sum((w * vi for w, vi in zip(row, v)), bj) for row, bj in zip(W, b)]


def test_worked_example_matches_the_hand_derived_backward_pass():
    x, y, W1, b1, W2, b2 = _worked_example()
    params = [as_values(p) for p in (W1, b1, W2, b2)]
    hidden = [z.relu() for z in _dense(params[0], list(x), params[1])]
    out = [z.relu() for z in _dense(params[2], hidden, params[3])]
    loss = 0.5 * sum((o - t) ** 2 for o, t in zip(out, y))
    gW1, gb1, gW2, gb2 = gradients(loss, params)
    # the backward pass of chapter 1, section 2, written with NumPy
    z1 = W1 @ x + b1
    a1 = np.maximum(z1, 0)
    z2 = W2 @ a1 + b2
    delta2 = (np.maximum(z2, 0) - y) * (z2 > 0)
    delta1 = (W2.T @ delta2) * (z1 > 0)
    assert loss.data == pytest.approx(6.0205, abs=1e-12)
    np.testing.assert_allclose(gW2, np.outer(delta2, a1), rtol=0, atol=1e-14)
    np.testing.assert_allclose(gb2, delta2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(gW1, np.outer(delta1, x), rtol=0, atol=1e-14)
    np.testing.assert_allclose(gb1, delta1, rtol=0, atol=1e-14)
    assert gW1.shape == (2, 2) and gb1.shape == (2,) and gW1.dtype == np.float64


def _expression(v):
    """Every operation at least once: + - * / ** neg, relu, sigmoid, numbers on either side."""
    a, b, c = v
    return ((a * b + 2.0 - c) ** 2 / (1.5 + b.sigmoid()) - 3.0 * (c - a).relu() + 1.0 / (2.0 + a * a)
            + (-b) * 0.5 - (4.0 - a) ** 3)


@pytest.mark.parametrize("seed", range(5))
def test_gradients_match_centered_differences(seed):
    point = np.random.default_rng(seed).normal(size=3)
    values = as_values(point)
    out = _expression(values)
    analytic = gradients(out, [values])[0]
    eps = 1e-6
    numeric = np.zeros(3)
    for i in range(3):
        up, down = point.copy(), point.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (_expression(as_values(up)).data - _expression(as_values(down)).data) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


def test_a_value_used_twice_collects_both_gradients():
    a, b = Value(2.0), Value(-3.0)
    c = a * b + a  # dc/da = b + 1, dc/db = a
    c.backward()
    assert (a.grad, b.grad, c.grad) == (-2.0, 2.0, 1.0)
    d = a * a
    d.backward()
    assert a.grad == 4.0


def test_backward_twice_gives_the_same_gradients():
    a = Value(0.7)
    out = (a * a).sigmoid() * a
    out.backward()
    first = a.grad
    out.backward()
    assert a.grad == first


def test_local_derivatives():
    z = Value(0.0)
    z.relu().backward()
    assert z.grad == 0.0  # at the kink, as TensorFlow
    for data in (-1000.0, 0.0, 1000.0):
        s = Value(data).sigmoid()
        assert math.isfinite(s.data) and 0.0 <= s.data <= 1.0
    x = Value(0.3)
    x.sigmoid().backward()
    sig = 1 / (1 + math.exp(-0.3))
    assert x.grad == pytest.approx(sig * (1 - sig), rel=1e-15)


def test_topological_order_puts_every_value_after_its_inputs():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    out = c + a + c
    order = autodiff.topological_order(out)
    assert len(order) == 5 and order[-1] is out  # a, b, c, c + a, out: each once
    position = {id(node): i for i, node in enumerate(order)}
    for node in order:
        assert all(position[id(child)] < position[id(node)] for child in node._inputs)


def test_a_long_chain_does_not_hit_the_recursion_limit():
    x = Value(1.0)
    total = x
    for _ in range(5000):
        total = total + x
    total.backward()
    assert total.data == 5001.0 and x.grad == 5001.0


def test_as_values_keeps_the_shape_and_numbers_mix_in():
    nested = as_values(np.arange(6.0).reshape(2, 3))
    assert len(nested) == 2 and len(nested[0]) == 3 and nested[1][2].data == 5.0
    assert isinstance(as_values(np.float32(1.5)), Value) and as_values(3).data == 3.0
    assert (2 * Value(3.0) + 1).data == 7.0 and (1 - Value(3.0)).data == -2.0 and (6 / Value(3.0)).data == 2.0
    assert "data=2" in repr(Value(2.0, label="w")) and "w" in repr(Value(2.0, label="w"))


@pytest.mark.parametrize("bad, error, message", [
    ("3", TypeError, "one real number"),
    (True, TypeError, "one real number"),
    (None, TypeError, "one real number"),
    (1 + 2j, TypeError, "one real number"),
    (np.ones(2), TypeError, "shape"),
    ([1.0], TypeError, "one real number"),
    (float("nan"), ValueError, "finite"),
    (float("inf"), ValueError, "finite"),
])
def test_a_value_holds_one_finite_real_number(bad, error, message):
    with pytest.raises(error, match=message):
        Value(bad)


def test_bad_operations_give_clear_errors():
    with pytest.raises(TypeError, match="one real number"):
        Value(1.0) + "a"
    with pytest.raises(TypeError, match="one real number"):
        "a" * Value(1.0)
    with pytest.raises(TypeError, match="exponent must be a plain number"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match="one real number"):  # a complex result
        Value(-8.0) ** 0.5
    with pytest.raises(ValueError, match="finite"):  # overflow
        Value(1e308) * 10


def test_gradients_needs_one_scalar_value_and_values_as_inputs():
    a = Value(1.0)
    with pytest.raises(TypeError, match="one scalar Value"):
        gradients([a * 2, a * 3], [a])
    with pytest.raises(TypeError, match="one scalar Value"):
        gradients(np.float64(1.0), [a])
    with pytest.raises(TypeError, match="inputs must hold Values"):
        gradients(a * 2, [np.ones(2)])
    with pytest.raises(TypeError, match="expected a Value"):
        autodiff.topological_order(3.0)
    assert gradients(a * 2, [a, [a, a]])[0] == 2.0
