"""Reverse-mode automatic differentiation on scalars: ``Value`` (chapter 1, §4).

A ``Value`` holds one number and remembers the values it was computed from and how. ``backward()`` then
walks that computation graph from the end to the start and applies the chain rule at every node, which is
backpropagation for *any* expression built from the operations below, not only for a network. The idea is
Andrej Karpathy's micrograd; this is the course's own, tested copy of the engine chapter 1 writes in view.

``as_values`` turns a NumPy array into nested lists of ``Value``; ``gradients`` runs ``backward`` and reads
the gradients back into arrays, like ``tf.GradientTape.gradient``.
"""
import math
import numbers

import numpy as np


def _as_float(data):
    """``data`` as a Python float: a real number (NumPy scalars and 0-d arrays included), finite."""
    if isinstance(data, np.ndarray):
        if data.ndim != 0:
            raise TypeError(f"a Value holds one number, got an array of shape {data.shape}: "
                            "make one Value per entry (as_values)")
        data = data[()]
    if isinstance(data, (bool, np.bool_)) or not isinstance(data, numbers.Real):
        raise TypeError(f"a Value holds one real number, got {type(data).__name__} {data!r}")
    data = float(data)
    if not math.isfinite(data):
        raise ValueError(f"a Value must be finite, got {data}")
    return data


class Value:
    """One number in a computation graph, and the gradient of the final result with respect to it.

    Args:
        data: a real number (``int``, ``float`` or a NumPy scalar), finite; not a bool or an array.
        label: an optional name, shown by ``repr``.

    Attributes:
        data: the number (a float).
        grad: d(output)/d(this value) after ``output.backward()``; 0.0 before.

    Example:
        >>> a, b = Value(2.0), Value(-3.0)
        >>> c = a * b + a
        >>> c.backward()
        >>> a.grad, b.grad
        (-2.0, 2.0)
    """

    def __init__(self, data, label="", _inputs=(), _op=""):
        self.data = _as_float(data)
        self.grad = 0.0
        self.label = label
        self._inputs = tuple(_inputs)
        self._op = _op
        self._backward = lambda: None  # a leaf has no inputs to pass its gradient to

    def __repr__(self):
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, _inputs=(self, other), _op="+")

        def _backward():  # d(a + b)/da = d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, _inputs=(self, other), _op="*")

        def _backward():  # d(a b)/da = b, d(a b)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        if isinstance(k, Value) or isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Real):
            raise TypeError(f"the exponent must be a plain number, got {type(k).__name__}")
        k = float(k)
        out = Value(self.data ** k, _inputs=(self,), _op=f"**{k:g}")

        def _backward():  # d(a^k)/da = k a^(k-1)
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), _inputs=(self,), _op="relu")

        def _backward():  # 1 where the input is > 0, else 0 (at exactly 0 too, as TensorFlow)
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        e = math.exp(-abs(self.data))  # exp of a number <= 0: never overflows
        s = 1 / (1 + e) if self.data >= 0 else e / (1 + e)
        out = Value(s, _inputs=(self,), _op="sigmoid")

        def _backward():  # sigma' = sigma (1 - sigma)
            self.grad += s * (1 - s) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other ** -1

    def __radd__(self, other):  # number + Value
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return Value(other) - self

    def __rtruediv__(self, other):
        return Value(other) / self

    def backward(self):
        """Set ``grad`` of every value this one depends on to d(self)/d(value), by the chain rule.

        Gradients of an earlier call are cleared first, so calling it twice gives the same result.
        """
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0  # d(self)/d(self)
        for node in reversed(order):  # every node is finished before its inputs are visited
            node._backward()


def topological_order(root):
    """Every value ``root`` was computed from, and ``root`` last, each one after all of its inputs.

    Written with an explicit stack rather than recursion, so that a long chain of operations does not hit
    Python's recursion limit.
    """
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, got {type(root).__name__}")
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))  # comes back to it after all its inputs
            stack.extend((child, False) for child in node._inputs)
    return order


def as_values(array):
    """A number or array as a ``Value`` or nested lists of ``Value`` of the same shape."""
    array = np.asarray(array)
    if array.ndim == 0:
        return Value(array)
    return [as_values(item) for item in array]


def gradients(output, inputs):
    """Run ``output.backward()``; return the gradient of ``output`` for each entry of ``inputs``.

    Args:
        output: the scalar ``Value`` to differentiate (a loss).
        inputs: a list whose entries are ``Value`` objects or nested lists of them (as from ``as_values``).

    Returns:
        A list with, per entry, a float (for a ``Value``) or a float64 NumPy array of the same shape.
    """
    if not isinstance(output, Value):
        raise TypeError(f"gradients differentiates one scalar Value, got {type(output).__name__}: "
                        "add the entries up (or pick one) first")
    output.backward()
    return [_grads(item) for item in inputs]


def _grads(item):
    if isinstance(item, Value):
        return item.grad
    if isinstance(item, (list, tuple)):
        return np.array([_grads(x) for x in item], dtype=np.float64)
    raise TypeError(f"inputs must hold Values (or nested lists of them), got {type(item).__name__}")
