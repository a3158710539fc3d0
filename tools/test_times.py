"""Print the time each notebook (and the unit + integration tests together) took, from pytest's JUnit XML
reports, and those times against the budget table's rows for this machine (:mod:`tools.budgets`).

    python -m tools.test_times build/test/junit.xml [build/test/junit-tests.xml ...] [--record]

A notebook's time is its test case's. The unit + integration tests' time is the wall time of their run (the
report's own duration less any notebooks in it): the test command runs them two at a time, so the sum of their
cases would count both CPUs' time.

``--record`` also records each fully passed notebook's time as its chapter's ``notebook_seconds`` in the
current mode (quick under ``make test``), unless the notebook recorded its own in that mode during the run
(:func:`course_utils.results.record_notebook_seconds`): the setup cell quotes these as the expected run time.
"""
import collections
import datetime as dt
import sys
import xml.etree.ElementTree as ET


def chapter_of(name):
    """``"notebooks.03_cnn_image_classification.ipynb"`` -> ``"3"``; None for anything but a chapter."""
    stem = name.rsplit(".", 1)[0].split(".")[-1]
    return str(int(stem[:2])) if name.endswith(".ipynb") and stem[:2].isdigit() else None


def read(path):
    """(seconds per part, failed parts, start of the run) of one JUnit report. Parts: each notebook, the
    JupyterLab check (its case alone) and the unit + integration tests (wall time, the JupyterLab check
    included)."""
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    totals, failed, others = collections.Counter(), set(), 0.0
    for case in root.iter("testcase"):
        name = case.get("classname", "")  # nbval: "notebooks.03_cnn_image_classification.ipynb"
        seconds = float(case.get("time", 0))
        key = name if name.endswith(".ipynb") else "unit + integration tests"
        totals[key] += seconds
        if key == "unit + integration tests":
            others += 1
            if "test_jupyterlab" in name:
                totals["JupyterLab check"] += seconds
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(key)
    if others and suite.get("time"):   # the run's wall time, not its cases' sum
        notebooks = sum(v for k, v in totals.items() if chapter_of(k))
        totals["unit + integration tests"] = max(float(suite.get("time")) - notebooks, 0.0)
    since = dt.datetime.fromisoformat(suite.get("timestamp")).astimezone(dt.timezone.utc)
    return totals, failed, since


def main(argv):
    paths, record = [a for a in argv if a != "--record"], "--record" in argv
    totals, failed, starts = collections.Counter(), set(), {}
    for path in paths:
        part, part_failed, since = read(path)
        totals.update(part)
        failed |= part_failed
        starts.update((name, since) for name in part)
    for name, seconds in sorted(totals.items()):
        print(f"{name:48s} {seconds:7.1f} s{'  (failed)' if name in failed else ''}")
    print_budgets(totals)
    if record:
        from course_utils import results

        for name, seconds in sorted(totals.items()):
            if name not in failed and chapter_of(name):
                results.record_notebook_seconds(chapter_of(name), seconds, since=starts[name])


def print_budgets(totals):
    """The times against the budget table's rows for this machine (:mod:`tools.budgets`): printed, never
    asserted (a slow or busy machine is not a failure)."""
    from course_utils.config import get_mode
    from course_utils.machine import hardware as machine
    from tools import budgets

    hardware, mode = machine(), get_mode()
    lines = budgets.compare({chapter_of(k): v for k, v in totals.items() if chapter_of(k)}, mode, hardware)
    if "unit + integration tests" in totals:
        line = budgets.against("unit + integration tests", totals["unit + integration tests"], mode, hardware)
        lines += [line] if line else []
    if lines:
        print(f"against the budget table ({mode} mode, {budgets.vector_extension(hardware)} rows): "
              + "; ".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
