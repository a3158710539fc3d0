"""Print the time each part of the test command took, from pytest's JUnit XML reports, and those times against
the budget table's rows for this machine (:mod:`tools.budgets`).

    python -m tools.test_times build/test/junit.xml [build/test/junit-tests.xml ...]
                               [--site-seconds S] [--wall-seconds W] [--record]

A notebook's time is its test case's, and so is each check's (the JupyterLab check, the Colab path check).
The unit + integration tests' time is the wall time of their run (the report's own duration less the other
parts in it): the test command runs them two at a time, so the sum of their cases would count both CPUs' time.
``--site-seconds`` is the website's build and browser check (timed by ``scripts/test.sh``): with the
JupyterLab and Colab path checks it makes the row "site + Colab path + JupyterLab checks". ``--wall-seconds``
is the whole test command's, set against the table's total.

``--record`` also records each fully passed notebook's time as its chapter's ``notebook_seconds`` in the
current mode (quick under ``make test``), unless the notebook recorded its own in that mode during the run
(:func:`course_utils.results.record_notebook_seconds`): the setup cell quotes these as the expected run time.
"""
import argparse
import collections
import datetime as dt
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def chapter_of(name):
    """``"notebooks.03_cnn_image_classification.ipynb"`` -> ``"3"``; None for anything but a chapter."""
    stem = name.rsplit(".", 1)[0].split(".")[-1]
    return str(int(stem[:2])) if name.endswith(".ipynb") and stem[:2].isdigit() else None


UNIT = "unit + integration tests"
SITE = "site build + browser check"
CHECKS = {"test_jupyterlab": "JupyterLab check", "colab_path_check": "Colab path check"}
"""Test modules timed as checks (their own parts), by the module name in a case's class name."""


def part_of(classname):
    """The part a test case belongs to: its notebook (nbval's class name,
    ``"notebooks.03_cnn_image_classification.ipynb"``), a check (:data:`CHECKS`), or the unit + integration
    tests."""
    if classname.endswith(".ipynb"):
        return classname
    return next((part for module, part in CHECKS.items() if module in classname.split(".")), UNIT)


def read(path):
    """(seconds per part, failed parts, start of the run) of one JUnit report. Parts: each notebook, each
    check (:data:`CHECKS`, its cases) and the unit + integration tests (the run's wall time less the other
    parts)."""
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    totals, failed = collections.Counter(), set()
    for case in root.iter("testcase"):
        part = part_of(case.get("classname", ""))
        totals[part] += float(case.get("time", 0))
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(part)
    if UNIT in totals and suite.get("time"):   # the run's wall time, not its cases' sum
        others = sum(v for k, v in totals.items() if k != UNIT)
        totals[UNIT] = max(float(suite.get("time")) - others, 0.0)
    since = dt.datetime.fromisoformat(suite.get("timestamp")).astimezone(dt.timezone.utc)
    return totals, failed, since


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.test_times",
                                     description="The test command's times, and against the budget table.")
    parser.add_argument("reports", nargs="+", help="pytest JUnit XML reports")
    parser.add_argument("--site-seconds", type=float, help="the website's build and browser check")
    parser.add_argument("--wall-seconds", type=float, help="the whole test command")
    parser.add_argument("--record", action="store_true", help="record each passed notebook's time")
    args = parser.parse_args(argv)
    site, wall = args.site_seconds, args.wall_seconds
    totals, failed, starts = collections.Counter(), set(), {}
    for path in args.reports:
        if not Path(path).is_file():   # that part did not run (its own failure is reported above)
            print(f"{path}: no report")
            continue
        part, part_failed, since = read(path)
        totals.update(part)
        failed |= part_failed
        starts.update((name, since) for name in part)
    if site is not None:
        totals[SITE] = site
    for name, seconds in sorted(totals.items()):
        print(f"{name:48s} {seconds:7.1f} s{'  (failed)' if name in failed else ''}")
    print_budgets(totals, wall)
    if args.record:
        from course_utils import results

        for name, seconds in sorted(totals.items()):
            if name not in failed and chapter_of(name):
                results.record_notebook_seconds(chapter_of(name), seconds, since=starts[name])


def print_budgets(totals, wall=None):
    """The times against the budget table's rows for this machine (:mod:`tools.budgets`): printed, never
    asserted (a slow or busy machine is not a failure). The checks' row is printed when the site's time is in
    ``totals``; ``wall`` (the whole test command's seconds) is set against the table's quick-mode total."""
    from course_utils.config import get_mode
    from course_utils.machine import hardware as machine
    from tools import budgets

    hardware, mode = machine(), get_mode()
    lines = budgets.compare({chapter_of(k): v for k, v in totals.items() if chapter_of(k)}, mode, hardware)
    parts = {UNIT: totals.get(UNIT)}
    if SITE in totals:
        parts["site + Colab path + JupyterLab checks"] = sum(
            totals.get(k, 0.0) for k in (SITE, *CHECKS.values()))
    parts["total"] = wall if mode == "quick" else None   # the table's quick total is the test command's
    for part, spent in parts.items():
        line = budgets.against(part, spent, mode, hardware) if spent is not None else None
        lines += [line] if line else []
    if lines:
        print(f"against the budget table ({mode} mode, {budgets.vector_extension(hardware)} rows): "
              + "; ".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
