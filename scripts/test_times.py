"""Print the time each notebook (and the unit tests together) took, from pytest's JUnit XML report."""
import collections
import sys
import xml.etree.ElementTree as ET

totals = collections.Counter()
for case in ET.parse(sys.argv[1]).iter("testcase"):
    name = case.get("classname", "")  # nbval: "notebooks.03_cnn_image_classification.ipynb"
    totals[name if name.endswith(".ipynb") else "unit tests"] += float(case.get("time", 0))
for name, seconds in sorted(totals.items()):
    print(f"{name:48s} {seconds:7.1f} s")
