"""Print the time each notebook (and the unit + integration tests together) took, from pytest's JUnit XML
report, and those times against the budget table's rows for this machine (:mod:`tools.budgets`).

    python -m tools.test_times build/test/junit.xml [--record]     # from the repository root

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


def main(argv):
    path, record = argv[0], "--record" in argv
    root = ET.parse(path).getroot()
    totals, failed = collections.Counter(), set()
    for case in root.iter("testcase"):
        name = case.get("classname", "")  # nbval: "notebooks.03_cnn_image_classification.ipynb"
        key = (name if name.endswith(".ipynb") else "JupyterLab check" if "test_jupyterlab" in name
               else "unit + integration tests")
        totals[key] += float(case.get("time", 0))
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(key)
    for name, seconds in sorted(totals.items()):
        print(f"{name:48s} {seconds:7.1f} s{'  (failed)' if name in failed else ''}")
    print_budgets(totals)
    if record:
        suite = root if root.tag == "testsuite" else root.find("testsuite")
        since = dt.datetime.fromisoformat(suite.get("timestamp")).astimezone(dt.timezone.utc)
        from course_utils import results

        for name, seconds in sorted(totals.items()):
            if name not in failed and chapter_of(name):
                results.record_notebook_seconds(chapter_of(name), seconds, since=since)


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
