"""How sure is a number? Intervals for accuracies and paired tests for "A beats B".

Taught in chapter 2 (the 95 % interval of a test accuracy) and chapter 3 (comparing two models on the
same test images); every chapter's recorded accuracy carries one (see :func:`course_utils.results.record`).

- :func:`wilson_interval`: the Wilson score interval of a proportion (Wilson 1927). Unlike the textbook
  ``p ± 1.96·sqrt(p(1-p)/n)`` it stays inside [0, 1] and is not empty at 0 or n successes.
- :func:`mcnemar_exact_p`: the exact two-sided McNemar test. Two models judged on the same examples differ
  only on the *discordant* examples (one right, the other wrong); under "equally good" each discordant
  example is a fair coin, so the count ``a_only`` is Binomial(a_only + b_only, 1/2).
- :func:`paired_difference_interval`: Newcombe's interval for the difference of two paired proportions
  (Newcombe 1998, *Statistics in Medicine* 17:2635, method 10): Wilson intervals of both accuracies,
  combined with the correlation of the paired outcomes.
- :func:`independent_difference_interval`: the difference of two accuracies measured on *different*
  examples (a validation split and the test set, chapter 3): Newcombe's hybrid score interval (Newcombe 1998,
  *Statistics in Medicine* 17:873, method 10), the two Wilson intervals combined as if independent.
- :func:`paired_mean_difference`: the same question when each model was trained several times (on several
  label subsets, or with several seeds): average each example's outcomes over the runs, then a paired t-test
  on the per-example differences (chapter 6).
- :func:`mean_interval`: the mean of many per-example values (a loss, a log-likelihood) with its normal 95 %
  interval ``mean ± 1.96·SE`` (chapter 5); record it with ``results.record(..., ci95=...)``.
"""
import math

import numpy as np

Z95 = 1.959964  # the 97.5 % quantile of the standard normal: a two-sided 95 % interval


def _check_count(n, name="n"):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"{name} must be a positive integer (a number of examples), got {n!r}")
    return int(n)


def wilson_interval(successes, n, z=Z95):
    """Wilson score interval ``(low, high)`` for ``successes`` out of ``n``.

    Args:
        successes: number of successes, ``0 <= successes <= n`` (a float is allowed: ``accuracy * n``).
        n: number of trials, a positive integer.
        z: the normal quantile; 1.959964 gives a 95 % interval.

    Example:
        >>> [round(x, 4) for x in wilson_interval(90, 100)]
        [0.8256, 0.9448]
    """
    n = _check_count(n)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in [0, n={n}], got {successes!r}")
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # at p = 0 or 1 the bound equals p exactly; rounding could push it a hair outside
    return (max(0.0, center - half) if p > 0 else 0.0, min(1.0, center + half) if p < 1 else 1.0)


def as_outcomes(values, name):
    """``values`` as a boolean array (one entry per example); a clear error for anything else."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of per-example outcomes, "
                         f"got shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind in "iuf" and np.all((arr == 0) | (arr == 1)):
        return arr.astype(bool)
    raise ValueError(f"{name} must hold booleans or 0/1 (one per example: was it right?), "
                     f"got dtype {arr.dtype} with values like {arr.ravel()[:3].tolist()}")


def mcnemar_exact_p(a_only, b_only):
    """Exact two-sided McNemar p-value: ``a_only`` and ``b_only`` are the discordant counts.

    It is the two-sided binomial test of ``a_only`` successes in ``a_only + b_only`` trials with p = 1/2
    (computed exactly with integers). No discordant pairs gives p = 1.

    Example:
        >>> round(mcnemar_exact_p(10, 2), 4)
        0.0386
    """
    for name, v in (("a_only", a_only), ("b_only", b_only)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer count, got {v!r}")
    m, k = int(a_only) + int(b_only), min(int(a_only), int(b_only))
    if m == 0:
        return 1.0
    tail = sum(math.comb(m, i) for i in range(k + 1))
    return min(1.0, 2 * tail / 2 ** m)


def paired_difference_interval(correct_a, correct_b, z=Z95):
    """Newcombe's (1998, method 10) 95 % interval for ``acc_a - acc_b`` on the same examples.

    Args:
        correct_a, correct_b: boolean (or 0/1) arrays, one entry per example, same length.
        z: the normal quantile; 1.959964 gives a 95 % interval.

    Returns ``(low, high)``. Example:
        >>> a = [1] * 80 + [0] * 20; b = [1] * 70 + [0] * 30
        >>> [round(x, 4) for x in paired_difference_interval(a, b)]
        [0.0379, 0.165]
    """
    a = as_outcomes(correct_a, "correct_a")
    b = as_outcomes(correct_b, "correct_b")
    if len(a) != len(b):
        raise ValueError("correct_a and correct_b must judge the same examples: "
                         f"lengths {len(a)} and {len(b)}")
    n = len(a)
    both = int(np.sum(a & b))
    a_only = int(np.sum(a & ~b))
    b_only = int(np.sum(~a & b))
    neither = n - both - a_only - b_only
    p1, p2 = (both + a_only) / n, (both + b_only) / n
    l1, u1 = wilson_interval(both + a_only, n, z)
    l2, u2 = wilson_interval(both + b_only, n, z)
    denom = (both + a_only) * (b_only + neither) * (both + b_only) * (a_only + neither)
    # Newcombe's phi: the correlation of the paired outcomes, with his correction toward 0 when positive
    cross = both * neither - a_only * b_only
    cross = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
    phi = 0.0 if denom == 0 else cross / math.sqrt(denom)
    delta = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    eps = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    diff = p1 - p2
    return max(-1.0, diff - delta), min(1.0, diff + eps)


def independent_difference_interval(correct_a, correct_b, z=Z95):
    """Newcombe's (1998, method 10) 95 % interval for ``acc_a - acc_b`` measured on *different* examples.

    Args:
        correct_a, correct_b: boolean (or 0/1) arrays, one entry per example; their lengths may differ
            (a 5,000-image validation split, a 10,000-image test set).
        z: the normal quantile; 1.959964 gives a 95 % interval.

    With Wilson intervals ``[l1, u1]`` of ``p1`` and ``[l2, u2]`` of ``p2``, the interval is
    ``p1 - p2 - sqrt((p1 - l1)² + (u2 - p2)²)`` to ``p1 - p2 + sqrt((u1 - p1)² + (p2 - l2)²)``. For two models
    judged on the *same* examples use :func:`paired_difference_interval`: it is narrower, since it uses
    the correlation of the paired outcomes.

    Returns ``(low, high)``. Example:
        >>> a = [1] * 90 + [0] * 10; b = [1] * 160 + [0] * 40
        >>> [round(x, 4) for x in independent_difference_interval(a, b)]
        [0.0106, 0.1755]
    """
    a = as_outcomes(correct_a, "correct_a")
    b = as_outcomes(correct_b, "correct_b")
    k1, n1, k2, n2 = int(a.sum()), len(a), int(b.sum()), len(b)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    diff = p1 - p2
    return (max(-1.0, diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
            min(1.0, diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)))


def _outcome_rows(values, name, rows="runs"):
    """``values`` as a float ``(rows, examples)`` array of 0/1 outcomes (1-D: one row), >= 2 examples."""
    arr = np.asarray(values)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{name} must be a ({rows}, examples) array of per-example outcomes, "
                         f"got shape {np.shape(values)}")
    if arr.shape[1] < 2:
        raise ValueError(f"{name} must judge at least 2 examples, got {arr.shape[1]}")
    return np.stack([as_outcomes(row, name) for row in arr]).astype(float)


def paired_mean_difference(correct_a, correct_b, z=None):
    """How much better A is than B, averaged over several runs of each, judged on the *same* examples.

    Args:
        correct_a, correct_b: ``(runs, examples)`` booleans (or 0/1): run r of model A (B) got example i
            right. The runs are, for example, label subsets or seeds; A and B need not have the same number
            of runs, but they must judge the same examples in the same order.
        z: ``None`` uses Student's t quantile with ``examples - 1`` degrees of freedom; a number overrides it.

    Each example gets ``d_i`` = (A's accuracy on it over A's runs) - (B's, over B's runs); the result is
    the mean of ``d_i`` with the 95 % t-interval of that mean and the two-sided paired t-test's p-value.
    One run each reduces to a paired t-test on 0/1 outcomes, close to :func:`paired_difference_interval`.

    Returns ``(difference, (low, high), p_value)``. Example:
        >>> a = np.array([[1] * 80 + [0] * 20, [1] * 78 + [0] * 22]); b = np.array([[1] * 70 + [0] * 30] * 2)
        >>> round(paired_mean_difference(a, b)[0], 3)
        0.09
    """
    from scipy import stats as scipy_stats

    a, b = _outcome_rows(correct_a, "correct_a"), _outcome_rows(correct_b, "correct_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError("correct_a and correct_b must judge the same examples: "
                         f"{a.shape[1]} and {b.shape[1]} examples")
    n = a.shape[1]
    d = a.mean(axis=0) - b.mean(axis=0)
    mean, se = float(d.mean()), float(d.std(ddof=1) / math.sqrt(n))
    q = float(scipy_stats.t.ppf(0.975, n - 1)) if z is None else float(z)
    if se == 0:
        return mean, (mean, mean), 1.0 if mean == 0 else 0.0
    p = float(2 * scipy_stats.t.sf(abs(mean) / se, n - 1))
    return mean, (mean - q * se, mean + q * se), p


def mean_interval(values, z=Z95):
    """The mean of ``values`` and its normal-approximation 95 % interval ``mean ± z·SE``.

    ``SE = s / sqrt(n)`` with ``s`` the sample standard deviation (``ddof=1``). The normal quantile suits the
    many per-example values a test set gives (hundreds or more); for a handful of values (seeds, folds) a
    Student t quantile is wider: pass it as ``z``. For the mean of a *paired* difference (two models on the
    same examples) pass the per-example differences.

    Args:
        values: a 1-D sequence of at least 2 finite numbers.
        z: the quantile; 1.959964 gives a 95 % interval.

    Returns ``(mean, (low, high))``. Example:
        >>> m, (low, high) = mean_interval([1.0, 2.0, 3.0, 4.0])
        >>> round(m, 2), round(low, 4), round(high, 4)
        (2.5, 1.2348, 3.7652)
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) < 2:
        raise ValueError(f"values must be a 1-D sequence of at least 2 numbers, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("values must be finite (found NaN or infinity)")
    mean = float(v.mean())
    half = float(z) * float(v.std(ddof=1)) / math.sqrt(len(v))
    return mean, (mean - half, mean + half)




def _two_source_interval(subset_values, example_values, z):
    """mean ± q·SE with SE² = var(subset values)/k + var(example values)/n and Welch–Satterthwaite df."""
    from scipy import stats as scipy_stats

    k, n = len(subset_values), len(example_values)
    between = float(np.var(subset_values, ddof=1)) / k if k > 1 else 0.0
    within = float(np.var(example_values, ddof=1)) / n
    se2 = between + within
    parts = [(between, k - 1)] if k > 1 else []
    parts.append((within, n - 1))
    df = se2 ** 2 / sum(v * v / d for v, d in parts) if se2 > 0 else float(n - 1)
    q = float(scipy_stats.t.ppf(0.975, df)) if z is None else float(z)
    return math.sqrt(se2), q, df


def subset_mean_interval(correct, z=None):
    """The accuracy of a model trained on several label subsets, with a 95 % interval that includes the
    spread between subsets as well as the test set's sampling noise (chapter 6).

    Args:
        correct: ``(subsets, examples)`` booleans (or 0/1): the model trained on subset s got test example i
            right. Every subset is judged on the same test examples.
        z: ``None`` uses Student's t quantile with Welch–Satterthwaite degrees of freedom; a number overrides.

    With ``k`` subsets, their accuracies ``acc_s`` and ``n`` test examples whose outcome averaged over the
    subsets is ``c_i``: the estimate is the mean of ``acc_s``, and its standard error combines the two
    sources of noise, ``SE² = var(acc_s)/k + var(c_i)/n`` (between subsets: another draw of labelled
    sentences; within: another draw of test sentences). With one subset the first term cannot be measured
    and the interval covers the test noise only (the method says so). A Wilson interval on all ``k · n``
    outcomes would treat them as independent and ignore the spread between subsets.

    Returns ``(accuracy, (low, high), method)``, ``method`` a sentence naming how the interval was made.
    Example:
        >>> acc, (low, high), _ = subset_mean_interval([[1] * 70 + [0] * 30, [1] * 80 + [0] * 20])
        >>> round(acc, 2), round(low, 3), round(high, 3)
        (0.75, 0.533, 0.967)
    """
    runs = _outcome_rows(correct, "correct", "subsets")
    acc = runs.mean(axis=1)
    se, q, df = _two_source_interval(acc, runs.mean(axis=0), z)
    mean = float(acc.mean())
    if len(acc) == 1:
        method = (f"one label subset: t interval over {runs.shape[1]} test examples only "
                  "(the spread between subsets is not measured)")
    else:
        method = (f"mean of {len(acc)} label subsets; SE^2 = var(subset accuracies)/{len(acc)} + "
                  f"var(per-example outcomes)/{runs.shape[1]}, "
                  f"t quantile with {df:.0f} df (Welch-Satterthwaite)")
    return mean, (max(0.0, mean - q * se), min(1.0, mean + q * se)), method


def paired_subset_difference(correct_a, correct_b, z=None):
    """``acc_a - acc_b`` for two models trained on the *same* label subsets and judged on the same test
    examples, with a 95 % interval and p-value that include the spread between subsets (chapter 6).

    Args:
        correct_a, correct_b: ``(subsets, examples)`` booleans (or 0/1), the same shape: row s of both comes
            from training on label subset s.
        z: as in :func:`subset_mean_interval`.

    The differences ``d_s = acc_a_s - acc_b_s`` are paired by subset and the per-example differences
    ``e_i`` (each averaged over the subsets) by test example: ``SE² = var(d_s)/k + var(e_i)/n``, Student's t
    with Welch–Satterthwaite degrees of freedom, two-sided p-value of "no difference". With one subset it
    is the paired t-test on the test examples.

    Returns ``(difference, (low, high), p_value, method)``. Example:
        >>> a = [[1] * 80 + [0] * 20, [1] * 75 + [0] * 25]; b = [[1] * 70 + [0] * 30, [1] * 70 + [0] * 30]
        >>> round(paired_subset_difference(a, b)[0], 3)
        0.075
    """
    from scipy import stats as scipy_stats

    a, b = _outcome_rows(correct_a, "correct_a", "subsets"), _outcome_rows(correct_b, "correct_b", "subsets")
    if a.shape != b.shape:
        raise ValueError("correct_a and correct_b must come from the same label subsets and judge the same "
                         f"examples: shapes {a.shape} and {b.shape}")
    d = a.mean(axis=1) - b.mean(axis=1)
    se, q, df = _two_source_interval(d, a.mean(axis=0) - b.mean(axis=0), z)
    diff = float(d.mean())
    if se == 0:
        p = 1.0 if diff == 0 else 0.0
    else:
        p = float(2 * scipy_stats.t.sf(abs(diff) / se, df))
    method = (f"paired by subset ({len(d)}) and by test example ({a.shape[1]}): SE^2 = var(subset "
              f"differences)/{len(d)} + var(per-example differences)/{a.shape[1]}, t with {df:.0f} df")
    return diff, (diff - q * se, diff + q * se), p, method
