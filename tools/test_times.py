"""Print the time each notebook (and the unit tests together) took, from pytest's JUnit XML report.

    python tools/test_times.py build/test/junit.xml [--record]

``--record`` also records each fully passed notebook's time as its chapter's ``notebook_seconds`` in the
current mode (quick under ``make test``), unless the notebook recorded its own in that mode during the run
(:func:`course_utils.results.record_notebook_seconds`): the setup cell quotes these as the expected run time.
"""
import collections
import datetime as dt
import sys
import xml.etree.ElementTree as ET


def main(argv):
    path, record = argv[0], "--record" in argv
    root = ET.parse(path).getroot()
    totals, failed = collections.Counter(), set()
    for case in root.iter("testcase"):
        name = case.get("classname", "")  # nbval: "notebooks.03_cnn_image_classification.ipynb"
        key = name if name.endswith(".ipynb") else "unit tests"
        totals[key] += float(case.get("time", 0))
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(key)
    for name, seconds in sorted(totals.items()):
        print(f"{name:48s} {seconds:7.1f} s{'  (failed)' if name in failed else ''}")
    if record:
        suite = root if root.tag == "testsuite" else root.find("testsuite")
        since = dt.datetime.fromisoformat(suite.get("timestamp")).astimezone(dt.timezone.utc)
        from course_utils import results

        for name, seconds in sorted(totals.items()):
            stem = name.rsplit(".", 1)[0].split(".")[-1]   # "notebooks.03_cnn.ipynb" -> "03_cnn"
            if name in failed or not name.endswith(".ipynb") or not stem[:2].isdigit():
                continue
            results.record_notebook_seconds(str(int(stem[:2])), seconds, since=since)


if __name__ == "__main__":
    main(sys.argv[1:])
