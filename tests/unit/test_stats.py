"""Intervals and paired tests (course_utils.stats, results.record(n=... or ci95=...), results.compare)."""
import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from course_utils import machine, plots, results, stats
from tools import readme


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_MODE", "quick")
    monkeypatch.setattr(results, "hardware", lambda: "2 CPU (test)")   # no TensorFlow import needed here
    return tmp_path


@pytest.mark.parametrize("k, n", [(0, 10), (10, 10), (1, 1), (0, 1), (37, 50), (8532, 10000), (901, 1056)])
def test_wilson_matches_scipy(k, n):
    expected = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = stats.wilson_interval(k, n)
    assert low == pytest.approx(expected.low, abs=1e-6) and high == pytest.approx(expected.high, abs=1e-6)


def test_wilson_by_hand_edge_cases():
    # 0 of n: low is 0, high is z^2 / (n + z^2); n of n mirrors it
    z2 = stats.Z95 ** 2
    assert stats.wilson_interval(0, 20) == (0.0, pytest.approx(z2 / (20 + z2)))
    assert stats.wilson_interval(20, 20) == (pytest.approx(20 / (20 + z2)), 1.0)
    low, high = stats.wilson_interval(50, 100)
    assert low + high == pytest.approx(1.0) and high - 0.5 == pytest.approx(0.0961, abs=1e-4)


@pytest.mark.parametrize("a_only, b_only", [(0, 0), (7, 0), (10, 2), (3, 3), (40, 57), (0, 25)])
def test_mcnemar_matches_scipy_binomtest(a_only, b_only):
    expected = 1.0 if a_only + b_only == 0 else sps.binomtest(a_only, a_only + b_only, 0.5).pvalue
    assert stats.mcnemar_exact_p(a_only, b_only) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("both, a_only, b_only, neither", [(12, 9, 2, 21), (80, 10, 0, 10), (5, 0, 0, 5),
                                                         (700, 41, 34, 281), (0, 3, 1, 0)])
def test_newcombe_against_independent_computation(both, a_only, b_only, neither):
    # Newcombe (1998) method 10, written out from the paper with scipy's Wilson intervals
    n = both + a_only + b_only + neither
    p1, p2 = (both + a_only) / n, (both + b_only) / n
    ci1 = sps.binomtest(both + a_only, n).proportion_ci(method="wilson")
    ci2 = sps.binomtest(both + b_only, n).proportion_ci(method="wilson")
    prod = (both + a_only) * (b_only + neither) * (both + b_only) * (a_only + neither)
    cross = both * neither - a_only * b_only
    phi = 0.0 if prod == 0 else (max(cross - n / 2, 0) if cross > 0 else cross) / math.sqrt(prod)
    d1, e1 = p1 - ci1.low, ci2.high - p2    # Newcombe's delta and epsilon
    low = p1 - p2 - math.sqrt(d1 ** 2 - 2 * phi * d1 * e1 + e1 ** 2)
    d2, e2 = p2 - ci2.low, ci1.high - p1
    high = p1 - p2 + math.sqrt(d2 ** 2 - 2 * phi * d2 * e2 + e2 ** 2)
    a = np.array([1] * both + [1] * a_only + [0] * b_only + [0] * neither, bool)
    b = np.array([1] * both + [0] * a_only + [1] * b_only + [0] * neither, bool)
    got = stats.paired_difference_interval(a, b)
    assert got == (pytest.approx(max(-1, low), abs=1e-6), pytest.approx(min(1, high), abs=1e-6))
    assert got[0] <= p1 - p2 <= got[1]


def test_paired_interval_covers_truth_about_95_percent():
    rng = np.random.default_rng(0)
    n, trials, covered = 400, 800, 0
    # correlated models: B is right where A is right, except on a few examples; true difference 0.04
    p_both, p_a_only, p_b_only = 0.70, 0.07, 0.03
    for _ in range(trials):
        u = rng.random(n)
        a = u < p_both + p_a_only
        b = (u < p_both) | ((u >= p_both + p_a_only) & (u < p_both + p_a_only + p_b_only))
        low, high = stats.paired_difference_interval(a, b)
        covered += low <= p_a_only - p_b_only <= high
    assert 0.92 <= covered / trials <= 0.98, covered / trials


def test_record_with_n_stores_wilson_interval(build):
    e = results.record("2", "acc", 0.9, target=0.85, n=100)
    assert e["n"] == 100 and e["ci95"] == [pytest.approx(x, abs=1e-6) for x in stats.wilson_interval(90, 100)]
    assert json.loads((build / "results.json").read_text())[0]["ci95"] == e["ci95"]
    assert "ci95" not in results.record("2", "seconds", 12.0)


@pytest.mark.parametrize("n, match", [(0, "n must be"), (-5, "n must be"), (10.5, "n must be"),
                                      (100.0, "integer"), ("100", "n must be"), (True, "n must be")])
def test_record_rejects_bad_n(build, n, match):
    with pytest.raises(ValueError, match=match):
        results.record("2", "acc", 0.9, n=n)


@pytest.mark.parametrize("value", [1.5, -0.1])
def test_record_rejects_non_proportion_with_n(build, value):
    with pytest.raises(ValueError, match="proportion"):
        results.record("2", "acc", value, n=100)


def test_record_with_ci95_stores_any_interval(build):
    e = results.record("5", "test_nll_nats", 88.3, ci95=(87.9, 88.7), higher_is_better=False)
    assert e["ci95"] == [87.9, 88.7] and "n" not in e
    assert json.loads((build / "results.json").read_text())[0]["ci95"] == [87.9, 88.7]
    # a difference of means may be negative; NumPy numbers and an interval of zero width are fine
    assert results.record("5", "gap", -0.5, ci95=np.array([-0.75, -0.25]))["ci95"] == [-0.75, -0.25]
    assert results.record("5", "exact", 2.0, ci95=[2, 2])["ci95"] == [2.0, 2.0]


@pytest.mark.parametrize("ci95, match", [
    ((87.9,), "two finite numbers"), ((87.9, 88.5, 88.7), "two finite numbers"), (88.7, "two finite numbers"),
    ("ab", "two finite numbers"), ((float("nan"), 88.7), "two finite numbers"),
    ((87.9, float("inf")), "two finite numbers"), (("87.9", 88.7), "two finite numbers"),
    ((True, 88.7), "two finite numbers"), ((88.5, 88.7), "low <= value <= high"),
    ((87.9, 88.0), "low <= value <= high"), ((88.7, 87.9), "low <= value <= high"),
])
def test_record_rejects_bad_ci95(build, ci95, match):
    with pytest.raises(ValueError, match=match):
        results.record("5", "test_nll_nats", 88.3, ci95=ci95)


def test_record_rejects_both_n_and_ci95(build):
    with pytest.raises(ValueError, match="not both"):
        results.record("2", "acc", 0.9, n=100, ci95=(0.8, 0.95))
    assert not (build / "results.json").exists()


def test_interval_of_a_mean_is_shown_like_a_proportions(build):
    e = results.record("5", "test_nll_nats", 88.3, ci95=(87.9, 88.7), higher_is_better=False)
    assert results.describe(e) == "88.3000 [87.9000, 88.7000]"
    md = readme.render(results.latest(results.load()))
    assert "| 88.3 | [87.9, 88.7] |" in md
    results.record("5", "gap", 0.25, ci95=(0.125, 0.375))
    assert "[0.125, 0.375]" in results.table(results.latest(results.load()))


def test_mean_interval_by_hand():
    # [1, 2, 3, 4]: mean 2.5, s = sqrt(5/3) = 1.29099, SE = s / 2 = 0.645497, 1.959964 * SE = 1.265151
    mean, (low, high) = stats.mean_interval([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert low == pytest.approx(1.234849, abs=1e-6) and high == pytest.approx(3.765151, abs=1e-6)
    assert stats.mean_interval([1, 2, 3, 4], z=1.0)[1] == pytest.approx((2.5 - 0.645497, 2.5 + 0.645497))
    for bad in ([1.0], [], [[1.0, 2.0]], [1.0, float("nan")]):
        with pytest.raises(ValueError):
            stats.mean_interval(bad)


def test_mean_interval_covers_the_true_mean_about_95_percent():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(2000):
        _, (low, high) = stats.mean_interval(rng.exponential(2.0, size=400))
        covered += low <= 2.0 <= high
    assert 0.93 <= covered / 2000 <= 0.97, covered / 2000


def test_compare_records_paired_statistics(build):
    a = np.array([1] * 80 + [0] * 20, bool)
    b = np.array([1] * 70 + [0] * 30, bool)
    e = results.compare("3", "a_minus_b", a, b, target="better")
    assert e["value"] == pytest.approx(0.10) and (e["n"], e["a_only"], e["b_only"]) == (100, 10, 0)
    assert e["p_value"] == pytest.approx(sps.binomtest(10, 10, 0.5).pvalue)
    assert e["ci95"][0] > 0 and e["met"] is True and e["target"] == "better"
    assert results.compare("3", "b_minus_a", b, a, target="not_worse")["met"] is False
    assert results.compare("3", "same", a, a, target="not_worse")["met"] is True
    assert results.compare("3", "num", a.astype(int), b.astype(float), target=0.05)["met"] is True
    assert results.compare("3", "none", a, b)["met"] is None


@pytest.mark.parametrize("a, b, match", [
    ([1, 0, 1], [1, 0], "same examples"),
    ([], [], "non-empty"),
    ([0.5, 1.0], [1, 0], "booleans or 0/1"),
    (["yes", "no"], [1, 0], "booleans or 0/1"),
    ([[1, 0]], [[1, 0]], "1-D"),
])
def test_compare_rejects_bad_arrays(build, a, b, match):
    with pytest.raises(ValueError, match=match):
        results.compare("3", "x", a, b)


def test_compare_rejects_unknown_target(build):
    with pytest.raises(ValueError, match="target"):
        results.compare("3", "x", [1, 0], [0, 1], target="worse")


def test_table_shows_interval_p_and_statement(build):
    results.record("2", "acc", 0.9, n=100)
    results.compare("3", "diff", [1] * 10 + [0] * 5, [0] * 10 + [1] * 5, target="better")
    results.record("1", "old_style", 0.5)
    md = readme.render(results.latest(results.load()))
    assert "| 95 % CI | p |" in md
    assert "[0.826, 0.945]" in md and "better (CI above 0)" in md
    old = next(line for line in md.splitlines() if "old_style" in line)
    assert "| 0.5 |  |  |" in old


def test_describe():
    e = {"value": 0.9, "ci95": [0.8256, 0.9448], "n": 100}
    assert results.describe(e) == "0.9000 [0.8256, 0.9448] (n = 100)"
    assert results.describe({**e, "p_value": 0.0123}).endswith("p = 0.012)")
    assert results.describe({"value": 3.0}) == "3.0000"
    assert results.describe({"value": 88.3, "ci95": [87.9, 88.7]}, digits=1) == "88.3 [87.9, 88.7]"


def test_hardware_names_vector_extension(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "tensorflow", None)   # the CPU part, without importing TF
    assert machine._vector_extension({"sse4_2", "avx", "avx2", "fma"}) == "AVX2"
    assert machine._vector_extension({"avx2", "avx512f"}) == "AVX-512"
    assert machine._vector_extension({"asimd"}) == "NEON"
    assert machine._vector_extension(set()) is None
    hw = machine.hardware()
    assert hw.split()[1] == "CPU" and "(" in hw


def test_accuracy_bars(build):
    rec = results.record("6", "acc", 0.85, n=1056)
    fig = plots.accuracy_bars([rec, (0.76, (0.73, 0.79))], labels=["c", "a"], title="t")
    assert len(fig.axes[0].patches) == 2
    with pytest.raises(ValueError, match="interval"):
        plots.accuracy_bars([{"name": "x", "value": 0.5}])
    with pytest.raises(ValueError, match="labels"):
        plots.accuracy_bars([rec], labels=["a", "b"])
    with pytest.raises(ValueError, match="contain"):
        plots.accuracy_bars([(0.9, (0.5, 0.6))])


def test_paired_mean_difference_matches_scipy_ttest_rel():
    rng = np.random.default_rng(0)
    a = rng.random((3, 400)) < 0.8          # 3 runs of A, 2 of B, on the same 400 examples
    b = rng.random((2, 400)) < 0.7
    diff, (low, high), p = stats.paired_mean_difference(a, b)
    da, db = a.mean(0), b.mean(0)
    ref = sps.ttest_rel(da, db)
    assert diff == pytest.approx(da.mean() - db.mean())
    assert p == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (low, high) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_paired_mean_difference_one_run_each_is_close_to_newcombe():
    a = np.array([1] * 80 + [0] * 20, bool)
    b = np.array([1] * 70 + [0] * 30, bool)
    diff, (low, high), _ = stats.paired_mean_difference(a, b)      # 1-D: one run each
    nl, nh = stats.paired_difference_interval(a, b)
    assert diff == pytest.approx(0.10) and abs(low - nl) < 0.02 and abs(high - nh) < 0.02
    assert stats.paired_mean_difference(a, a) == (0.0, (0.0, 0.0), 1.0)


@pytest.mark.parametrize("a, b, match", [
    ([[1, 0, 1]], [[1, 0]], "same examples"),
    ([[[1, 0]]], [[1, 0]], "runs, examples"),
    ([[0.5, 1.0]], [[1, 0]], "booleans or 0/1"),
    ([[1]], [[0]], "at least 2 examples"),
])
def test_paired_mean_difference_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        stats.paired_mean_difference(a, b)


def test_compare_runs_records_t_test(build):
    rng = np.random.default_rng(1)
    a, b = rng.random((3, 500)) < 0.85, rng.random((3, 500)) < 0.7
    e = results.compare_runs("6", "a_minus_b", a, b, target="better")
    assert (e["n"], e["runs_a"], e["runs_b"]) == (500, 3, 3)
    assert e["value"] == pytest.approx(a.mean() - b.mean()) and e["met"] is True and e["p_value"] < 1e-6
    assert results.compare_runs("6", "b_minus_a", b, a, target="not_worse")["met"] is False
    assert "p = " in results.describe(e)
    with pytest.raises(ValueError, match="target"):
        results.compare_runs("6", "x", a, b, target="worse")


@pytest.mark.parametrize("k1, n1, k2, n2, expected", [
    (56, 70, 48, 80, (0.0524, 0.3339)),    # Newcombe (1998, Table II, example (a)), method 10
    (9, 10, 3, 10, (0.1705, 0.8090)),     # example (b)
])
def test_independent_interval_matches_newcombes_table(k1, n1, k2, n2, expected):
    a, b = [1] * k1 + [0] * (n1 - k1), [1] * k2 + [0] * (n2 - k2)
    low, high = stats.independent_difference_interval(a, b)
    assert (round(low, 4), round(high, 4)) == expected


@pytest.mark.parametrize("k1, n1, k2, n2", [(4500, 5000, 9000, 10000), (0, 30, 30, 30), (17, 40, 3, 9)])
def test_independent_interval_against_scipy_wilson(k1, n1, k2, n2):
    ci1 = sps.binomtest(k1, n1).proportion_ci(method="wilson")
    ci2 = sps.binomtest(k2, n2).proportion_ci(method="wilson")
    p1, p2 = k1 / n1, k2 / n2
    low = p1 - p2 - math.hypot(p1 - ci1.low, ci2.high - p2)
    high = p1 - p2 + math.hypot(ci1.high - p1, p2 - ci2.low)
    got = stats.independent_difference_interval([1] * k1 + [0] * (n1 - k1), [1] * k2 + [0] * (n2 - k2))
    # Z95 is rounded to 7 digits: agreement to 1e-7
    assert got == (pytest.approx(max(-1, low), abs=1e-7), pytest.approx(min(1, high), abs=1e-7))
    assert got[0] <= p1 - p2 <= got[1]


def test_independent_interval_covers_truth_about_95_percent():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(2000):
        a, b = rng.random(400) < 0.9, rng.random(700) < 0.85
        low, high = stats.independent_difference_interval(a, b)
        hits += low <= 0.05 <= high
    assert 0.93 <= hits / 2000 <= 0.975


@pytest.mark.parametrize("a, b, match", [([], [1], "non-empty"), ([1, 2], [1], "booleans or 0/1"),
                                         ([[1, 0]], [1], "1-D")])
def test_independent_interval_rejects_bad_arrays(a, b, match):
    with pytest.raises(ValueError, match=match):
        stats.independent_difference_interval(a, b)


def test_subset_mean_interval_by_hand():
    runs = np.array([[1] * 70 + [0] * 30, [1] * 80 + [0] * 20, [1] * 75 + [0] * 25])
    acc, (low, high), method = stats.subset_mean_interval(runs)
    k, n = 3, 100
    between = np.var(runs.mean(1), ddof=1) / k
    within = np.var(runs.mean(0), ddof=1) / n
    se = math.sqrt(between + within)
    df = se**4 / (between**2 / (k - 1) + within**2 / (n - 1))
    q = sps.t.ppf(0.975, df)
    assert acc == pytest.approx(0.75)
    assert (low, high) == pytest.approx((0.75 - q * se, 0.75 + q * se))
    assert "3 label subsets" in method
    # wider than a Wilson interval that treats the 300 outcomes as independent
    w_low, w_high = stats.wilson_interval(225, 300)
    assert high - low > w_high - w_low


def test_subset_mean_interval_one_subset_says_so_and_spread_widens_it():
    acc, (low, high), method = stats.subset_mean_interval([1] * 80 + [0] * 20)
    assert acc == 0.8 and low < 0.8 < high and "not measured" in method
    same = stats.subset_mean_interval([[1] * 75 + [0] * 25] * 3)[1]
    spread = stats.subset_mean_interval([[1] * 65 + [0] * 35, [1] * 75 + [0] * 25, [1] * 85 + [0] * 15])[1]
    assert spread[1] - spread[0] > same[1] - same[0]


@pytest.mark.parametrize("a, b, match", [
    ([[1, 0, 1]], [[1, 0]], "same label subsets"),
    ([[1, 0, 1], [0, 1, 1]], [[1, 0, 1]], "same label subsets"),
    ([], [], "subsets, examples"),
    ([[2, 0, 1]], [[1, 0, 1]], "booleans"),
])
def test_paired_subset_difference_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        stats.paired_subset_difference(a, b)


def test_paired_subset_difference_by_hand_and_one_subset_is_a_paired_t_test():
    rng = np.random.default_rng(0)
    a = (rng.random((3, 200)) < 0.8).astype(int)
    b = (rng.random((3, 200)) < 0.7).astype(int)
    diff, (low, high), p, _ = stats.paired_subset_difference(a, b)
    d, e = a.mean(1) - b.mean(1), a.mean(0) - b.mean(0)
    se = math.sqrt(np.var(d, ddof=1) / 3 + np.var(e, ddof=1) / 200)
    assert diff == pytest.approx(d.mean()) and low < diff < high
    assert (high - low) / 2 >= 1.96 * se * 0.999
    assert 0 < p < 0.05
    one = stats.paired_subset_difference(a[:1], b[:1])
    t = sps.ttest_rel(a[0], b[0])
    assert one[2] == pytest.approx(t.pvalue, rel=1e-6)


def test_record_subsets_and_compare_subsets(build):
    a = [[1] * 80 + [0] * 20, [1] * 76 + [0] * 24]
    b = [[1] * 70 + [0] * 30, [1] * 72 + [0] * 28]
    rec = results.record_subsets("6", "acc_a", a, target=0.7)
    assert rec["value"] == pytest.approx(0.78) and rec["subsets"] == 2 and rec["n"] == 100
    assert rec["ci95"][0] < 0.78 < rec["ci95"][1] and rec["met"] and "2 label subsets" in rec["method"]
    cmp = results.compare_subsets("6", "a_minus_b", a, b, target="better")
    assert cmp["value"] == pytest.approx(0.07) and cmp["subsets"] == 2 and "p_value" in cmp
    stored = {e["name"]: e for e in results.load()}
    assert stored["acc_a"]["method"] == rec["method"] and stored["a_minus_b"]["ci95"] == cmp["ci95"]
    with pytest.raises(ValueError, match="target"):
        results.compare_subsets("6", "x", a, b, target="best")
