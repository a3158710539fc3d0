"""Print the time each test file took (notebooks and unit tests), from pytest's JUnit XML report."""
import collections
import sys
import xml.etree.ElementTree as ET

totals = collections.Counter()
for case in ET.parse(sys.argv[1]).iter("testcase"):
    name = case.get("file") or case.get("classname", "?")
    if "ipynb" in case.get("name", "") or "ipynb" in name:
        name = next((p for p in (case.get("classname", ""), case.get("name", "")) if "ipynb" in p), name)
        name = name.split("::")[0].split("/")[-1]
        name = name[: name.index(".ipynb") + 6] if ".ipynb" in name else name
    else:
        name = "unit tests"
    totals[name] += float(case.get("time", 0))
for name, seconds in sorted(totals.items()):
    print(f"{name:48s} {seconds:7.1f} s")
