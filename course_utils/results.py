"""Record chapter metrics to ``build/results.json`` (used by every chapter from notebook 00 on).

Each record carries mode, hardware, date and the code's fingerprint (:mod:`course_utils.fingerprint`), so
every number in the README can be traced to a real run of one version of the code. The runner's table and
the README table are made from here.
"""
import contextlib
import datetime as _dt
import json
import math
import os
from pathlib import Path

import numpy as np

from . import stats
from .config import ROOT
from .fingerprint import code_fingerprint
from .machine import (
    hardware,  # noqa: F401 (results.hardware: what every record carries)
    is_gpu_hardware,
)

NOTEBOOK_SECONDS = "notebook_seconds"
"""The record name of a chapter's complete run time (recorded last): the setup cell quotes it as the expected
run time, and the README generator takes it as the end of a complete run (:func:`record_notebook_seconds`)."""


def build_dir():
    """``build/`` at the course root, or ``COURSE_BUILD_DIR`` (made absolute: kernels run in notebooks/)."""
    return Path(os.environ.get("COURSE_BUILD_DIR", ROOT / "build")).resolve()


def results_path():
    return build_dir() / "results.json"


def _number(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ValueError(f"value for {name!r} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value for {name!r} must be finite, got {value}")
    return value


def _store(entry):
    from .config import get_mode

    entry.update({"mode": get_mode(), "hardware": hardware(), "code": code_fingerprint(),
                  "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # two notebooks running at once must not drop each other's entries
    with _locked(path.with_suffix(".lock")):
        entries = load(path)
        entries.append(entry)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, indent=1))
        tmp.replace(path)
    return entry


@contextlib.contextmanager
def _locked(lock_path):
    """An exclusive lock on ``lock_path`` while the block runs.

    No lock where ``fcntl`` is missing (Windows)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(lock_path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _interval(ci95, value, name):
    """``ci95`` as a ``[low, high]`` list of floats, or a clear error: two finite numbers around ``value``."""
    bounds = None if isinstance(ci95, (str, bytes, dict)) or not hasattr(ci95, "__iter__") else list(ci95)
    try:
        low, high = (_number(x, name) for x in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"ci95 for {name!r} must be two finite numbers (low, high), got {ci95!r}") from None
    if not low <= value <= high:
        raise ValueError(f"ci95 for {name!r} must satisfy low <= value <= high, got [{low}, {high}] "
                         f"around {value}")
    return [low, high]


def record(chapter, name, value, target=None, higher_is_better=True, n=None, ci95=None):
    """Append one metric to ``build/results.json``; return the stored entry.

    Args:
        chapter, name: where the number belongs (``"3"``, ``"our_cnn_test_accuracy"``).
        value: a finite number.
        target: optional bar; ``met`` says whether ``value`` reached it.
        higher_is_better: ``False`` for losses, errors, seconds and ratios to keep small.
        n: for a proportion (an accuracy), the number of examples it was measured on. Then ``value``
            must lie in [0, 1] and the entry also stores ``"n"`` and ``"ci95"``, the Wilson 95 % interval
            (:func:`course_utils.stats.wilson_interval`).
        ci95: for any other value, its 95 % interval ``(low, high)`` computed by the caller, e.g. a mean
            with ``± 1.96·SE`` (:func:`course_utils.stats.mean_interval`) or a difference of means. Two
            finite numbers with ``low <= value <= high``; stored as ``"ci95"`` like a proportion's. Give
            ``n`` or ``ci95``, not both.

    Example:
        >>> record("2", "mnist_test_accuracy", 0.9843, target=0.98, n=10_000)["ci95"]  # doctest: +SKIP
        [0.9817, 0.9866]
        >>> record("5", "test_nll_nats", 88.3, ci95=(87.9, 88.7), higher_is_better=False)  # doctest: +SKIP
    """
    value = _number(value, name)
    if n is not None and ci95 is not None:
        raise ValueError(f"give n (a proportion's Wilson interval) or ci95 (your own interval) for {name!r}, "
                         "not both")
    entry = {
        "chapter": str(chapter), "name": name, "value": value,
        "target": None if target is None else float(target),
        "higher_is_better": bool(higher_is_better),
        # bool(): a NumPy comparison would give np.bool_, which json cannot write
        "met": None if target is None else bool(value >= float(target) if higher_is_better
                                                else value <= float(target)),
    }
    if n is not None:
        if isinstance(n, float) and n.is_integer():
            raise ValueError(f"n for {name!r} must be an integer number of examples, got the float {n!r}")
        n = stats._check_count(n)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"value for {name!r} must be a proportion in [0, 1] when n is given, "
                             f"got {value}")
        entry["n"] = n
        entry["ci95"] = [round(x, 6) for x in stats.wilson_interval(value * n, n)]
    elif ci95 is not None:
        entry["ci95"] = _interval(ci95, value, name)
    return _store(entry)


def _iso(since):
    """``since`` (an ISO string or a datetime) as the ISO text records are dated with (UTC, seconds)."""
    if isinstance(since, _dt.datetime):
        if since.tzinfo is None:
            since = since.astimezone()   # a naive time is local time
        return since.astimezone(_dt.timezone.utc).isoformat(timespec="seconds")
    return since


def record_notebook_seconds(chapter, seconds, since=None, target=None):
    """Record a chapter's complete run time as :data:`NOTEBOOK_SECONDS` in the current mode (lower is better).

    The one recorder of that name: chapter 6's last cell, the notebook runner (``python -m tools run``) and
    the test-time report (``tools/test_times.py --record``) all call it.

    Args:
        chapter: the chapter (``6`` or ``"6"``).
        seconds: how long the whole notebook ran.
        since: ``None`` records always (a notebook timing itself). An ISO date (or datetime) makes a tool's
            call step back: nothing is recorded, and ``None`` returned, if the chapter recorded its own
            ``notebook_seconds`` in the current mode on or after ``since``. A run of the other mode at the
            same time does not count.
        target: optional bar in seconds (``met`` when the run took at most that long).

    Returns the stored entry, or ``None`` when the notebook's own record stands.
    """
    from .config import get_mode

    chapter = str(chapter)
    if since is not None:
        mode = get_mode()
        if any(e["chapter"] == chapter and e["name"] == NOTEBOOK_SECONDS and e.get("mode") == mode
               for e in latest(load(), since=_iso(since))):
            return None
    return record(chapter, NOTEBOOK_SECONDS, seconds, target=target, higher_is_better=False)


TARGET_STATEMENTS = {"better": "better (CI above 0)", "not_worse": "not worse (CI reaches 0)"}


def _check_target(target):
    if not (target is None or target in TARGET_STATEMENTS or (isinstance(target, (int, float))
                                                                and not isinstance(target, bool))):
        raise ValueError(f"target must be 'better', 'not_worse', a number or None, got {target!r}")


def _store_comparison(chapter, name, value, low, high, target, **details):
    """Record A - B = ``value`` with its interval; ``met`` follows ``target`` (see :func:`compare`)."""
    if target is None:
        met = None
    elif target == "better":
        met = low > 0
    elif target == "not_worse":
        met = high >= 0
    else:
        met = value >= float(target)
    return _store({
        "chapter": str(chapter), "name": name, "value": value,
        "target": target if isinstance(target, str) or target is None else float(target),
        "higher_is_better": True, "met": None if met is None else bool(met),
        **details, "ci95": [round(low, 6), round(high, 6)],
    })


def compare(chapter, name, correct_a, correct_b, target=None):
    """Record how much model A beats model B on the *same* examples, with a paired interval and test.

    Args:
        chapter, name: where the comparison belongs (``"3"``, ``"our_cnn_minus_plain_cnn"``).
        correct_a, correct_b: booleans (or 0/1), one per example: did A (B) get it right?
        target: ``"better"`` (met when the 95 % interval lies above 0: A is significantly better),
            ``"not_worse"`` (met when the interval's high end is >= 0: A is not significantly worse),
            a number (met when acc_a - acc_b >= it), or ``None``.

    The entry stores ``value`` = acc_a - acc_b, ``n``, ``a_only`` and ``b_only`` (the examples only A,
    only B got right), ``p_value`` (exact two-sided McNemar test, :func:`course_utils.stats.mcnemar_exact_p`)
    and ``ci95`` (Newcombe's paired interval, :func:`course_utils.stats.paired_difference_interval`).

    Example:
        >>> rec = compare("3", "ours_minus_plain", ours_pred == y_test, plain_pred == y_test,
        ...               target="better")  # doctest: +SKIP
    """
    a = stats.as_outcomes(correct_a, "correct_a")
    b = stats.as_outcomes(correct_b, "correct_b")
    if len(a) != len(b):
        raise ValueError("correct_a and correct_b must judge the same examples: "
                         f"lengths {len(a)} and {len(b)}")
    _check_target(target)
    n = len(a)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    low, high = stats.paired_difference_interval(a, b)
    value = (a_only - b_only) / n
    return _store_comparison(chapter, name, value, low, high, target, n=n, a_only=a_only, b_only=b_only,
                             p_value=stats.mcnemar_exact_p(a_only, b_only),
                             accuracy_a=float(a.mean()), accuracy_b=float(b.mean()))


def compare_runs(chapter, name, correct_a, correct_b, target=None):
    """Like :func:`compare`, for models trained several times (label subsets, seeds) on the same examples.

    Args:
        correct_a, correct_b: ``(runs, examples)`` booleans: run r of model A (B) got example i right.
        target: as in :func:`compare`.

    The entry stores ``value`` (mean accuracy of A minus that of B), ``n`` (examples), ``runs_a``,
    ``runs_b``, ``ci95`` and ``p_value`` of the paired t-test on per-example mean differences
    (:func:`course_utils.stats.paired_mean_difference`), and ``accuracy_a``, ``accuracy_b``.
    """
    _check_target(target)
    value, (low, high), p = stats.paired_mean_difference(correct_a, correct_b)
    a, b = (np.atleast_2d(np.asarray(x, dtype=float)) for x in (correct_a, correct_b))
    return _store_comparison(chapter, name, value, low, high, target, n=int(a.shape[1]),
                             runs_a=int(a.shape[0]), runs_b=int(b.shape[0]), p_value=p,
                             accuracy_a=float(a.mean()), accuracy_b=float(b.mean()))


def describe(entry, digits=4):
    """One line for a learner: ``0.9368 [0.9318, 0.9414] (n = 10000)``, plus ``p = ...`` for a comparison;
    ``88.3000 [87.9000, 88.7000]`` for an interval given without ``n``."""
    text = f"{entry['value']:.{digits}f}"
    if entry.get("ci95"):
        low, high = entry["ci95"]
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
        details = ([f"n = {entry['n']}"] if "n" in entry else []) + (
            [f"p = {entry['p_value']:.2g}"] if "p_value" in entry else [])
        if details:
            text += f" ({', '.join(details)})"
    return text


def load(path=None):
    path = Path(path or results_path())
    if not path.exists():
        return []
    return json.loads(path.read_text())


def hardware_kind(entry):
    """``"GPU"`` or ``"CPU"``: the kind of machine a record comes from (its ``hardware`` names a GPU or not).

    CPUs with different vector extensions (AVX2, AVX-512) are one kind: their rows replace each other."""
    return "GPU" if is_gpu_hardware(entry.get("hardware") or "") else "CPU"


def latest(entries, since=None):
    """Keep the newest entry per (chapter, name, mode), optionally only those on/after ``since``."""
    best = {}
    for e in entries:
        if since and e["date"] < since:
            continue
        key = (e["chapter"], e["name"], e["mode"])
        if key not in best or e["date"] >= best[key]["date"]:
            best[key] = e
    return sorted(best.values(), key=lambda e: (e["chapter"], e["mode"], e["name"]))


def _fmt(x):
    if x is None:
        return ""
    return f"{x:.4g}" if abs(x) < 1e5 else f"{x:.3e}"


def _ci_text(ci):
    """``[0.817, 0.866]`` for an interval inside [-1, 1] (proportions, their differences); otherwise four
    significant digits, like the value column: ``[87.9, 88.7]``."""
    if not ci:
        return ""
    if all(abs(x) <= 1 for x in ci):
        return f"[{ci[0]:.3f}, {ci[1]:.3f}]"
    return f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"


def _target_text(e):
    t = e.get("target")
    if t is None:
        return ""
    if isinstance(t, str):
        return TARGET_STATEMENTS.get(t, t)
    return f"{'≥' if e['higher_is_better'] else '≤'} {_fmt(t)}"


def table(entries, markdown=False):
    """Format entries as a text (or Markdown) table: chapter, metric, value, 95 % CI, p, target, met, mode,
    hardware, date. Entries without an interval or p-value (values recorded without ``n`` or ``ci95``) leave
    those empty."""
    head = ["chapter", "metric", "value", "95 % CI", "p", "target", "met", "mode", "hardware", "date"]
    rows = []
    for e in entries:
        met = "" if e["met"] is None else ("yes" if e["met"] else "NO")
        ci = _ci_text(e.get("ci95"))
        p = "" if e.get("p_value") is None else f"{e['p_value']:.2g}"
        rows.append([e["chapter"], e["name"], _fmt(e["value"]), ci, p, _target_text(e), met, e["mode"],
                     e["hardware"], e["date"][:10]])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*["-" * w for w in widths])] + [fmt.format(*r) for r in rows]
    return "\n".join(lines)


def record_subsets(chapter, name, correct, target=None):
    """Record the accuracy of a model trained on several label subsets, with the interval of
    :func:`course_utils.stats.subset_mean_interval` (spread between subsets included) and its method.

    Args:
        correct: ``(subsets, examples)`` booleans: the model trained on subset s got test example i right.
        target: optional bar on the accuracy.
    """
    value, (low, high), method = stats.subset_mean_interval(correct)
    runs = np.atleast_2d(np.asarray(correct))
    value = _number(value, name)
    return _store({
        "chapter": str(chapter), "name": name, "value": value,
        "target": None if target is None else float(target), "higher_is_better": True,
        "met": None if target is None else bool(value >= float(target)),
        "n": int(runs.shape[1]), "subsets": int(runs.shape[0]), "method": method,
        "ci95": [round(low, 6), round(high, 6)],
    })


def compare_subsets(chapter, name, correct_a, correct_b, target=None):
    """Like :func:`compare_runs`, for two models trained on the *same* label subsets: the difference, its
    interval and p-value include the spread between subsets
    (:func:`course_utils.stats.paired_subset_difference`).

    Args:
        correct_a, correct_b: ``(subsets, examples)`` booleans of the same shape; row s of both comes from
            label subset s.
        target: as in :func:`compare`.

    The entry stores ``value``, ``ci95``, ``p_value``, ``n`` (examples), ``subsets``, ``accuracy_a``,
    ``accuracy_b`` and ``method``.
    """
    _check_target(target)
    value, (low, high), p, method = stats.paired_subset_difference(correct_a, correct_b)
    a, b = (np.atleast_2d(np.asarray(x, dtype=float)) for x in (correct_a, correct_b))
    return _store_comparison(chapter, name, value, low, high, target, n=int(a.shape[1]),
                             subsets=int(a.shape[0]), p_value=p, accuracy_a=float(a.mean()),
                             accuracy_b=float(b.mean()), method=method)
