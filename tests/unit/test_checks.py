"""Tests for course_utils.checks (chapter 1)."""
import numpy as np
import pytest

from course_utils import checks


def test_numerical_gradient_of_a_quadratic():
    w = np.array([1.0, -2.0, 3.0])
    (g,) = checks.numerical_gradient(lambda: float(np.sum(w ** 2)), [w])
    np.testing.assert_allclose(g, 2 * w, atol=1e-8)
    np.testing.assert_array_equal(w, [1.0, -2.0, 3.0])  # restored


def test_gradient_check_passes_and_catches_a_bug():
    w = np.random.default_rng(0).normal(size=(3, 2))
    def good(ps):
        return float(np.sum(np.sin(ps[0]))), [np.cos(ps[0])]

    def bad(ps):   # a gradient 1 % off
        return float(np.sum(np.sin(ps[0]))), [np.cos(ps[0]) * 1.01]

    assert checks.gradient_check(good, [w]) < 1e-8
    assert checks.gradient_check(bad, [w]) > 1e-3


def test_relative_error():
    assert checks.relative_error([0.0], [0.0]) == 0.0
    assert checks.relative_error([1.0], [1.0]) == 0.0
    assert checks.relative_error([1.0], [-1.0]) == pytest.approx(1.0)


def test_compare_prints_verdicts(capsys):
    assert checks.compare("a", [1.0, 2.0], [1.0, 2.0]) == 0.0
    assert checks.compare("b", [1.0], [1.0 + 1e-9]) == pytest.approx(1e-9)
    checks.compare("c", [1.0], [2.0])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "a: exact"
    assert out[1].startswith("b: close")
    assert out[2].startswith("c: DIFFERENT")


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        checks.compare("x", [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="shapes"):
        checks.relative_error(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="float64"):
        checks.numerical_gradient(lambda: 0.0, [np.zeros(2, np.float32)])
    with pytest.raises(ValueError, match="2 gradients for 1 parameters"):
        checks.gradient_check(lambda ps: (0.0, [ps[0], ps[0]]), [np.zeros(2)])
