"""The versions the course is tested on, and what it supports (chapter 0's setup cell reports both).

Self-contained (standard library only): ``scripts/colab_install.py`` loads this file on its own in Colab,
before the package is installed.
"""
import re
from importlib import metadata

# The pins the course is tested on (kept equal to requirements.txt by a unit test).
PINS = {
    "tensorflow": "2.21.0", "keras": "3.15.1", "keras-hub": "0.32.0",
    "tensorflow-text": "2.21.1", "tensorflow-datasets": "4.9.10", "numpy": "2.4.6",
    "matplotlib": "3.11.2", "scikit-learn": "1.9.1", "safetensors": "0.8.0",
}


# What the course supports (it is tested on the PINS above). Outside this, the setup cell says so in one line.
SUPPORTED = {"tensorflow": ((2, 16), (2, 21)), "keras": ((3, 15), (3, 15))}  # keras-hub 0.32 needs keras 3.15


def _version_tuple(version):
    return tuple(int(x) for x in re.findall(r"\d+", version or "")[:2])


def support_problem(versions):
    """``None`` if ``{"tensorflow": "2.19.0", "keras": "3.10.0"}`` lies in :data:`SUPPORTED`, else one line
    saying why.

    A missing package (``None``) is a problem too.
    """
    bad = []
    for pkg, (low, high) in SUPPORTED.items():
        have = versions.get(pkg)
        if have is None or not low <= _version_tuple(have) <= high:
            bad.append(f"{pkg} {have or 'missing'}")
    if not bad:
        return None
    want = ", ".join(f"{p} {'.'.join(map(str, lo))}-{'.'.join(map(str, hi))}"
                     for p, (lo, hi) in SUPPORTED.items())
    tested = ", ".join(f"{p} {PINS[p]}" for p in SUPPORTED)
    return (f"{' and '.join(bad)} is outside what the course supports ({want}; tested on {tested}): "
            "expect errors; pip install -r requirements.txt, then restart, to use the tested versions.")


def version_mismatches():
    """``{package: (installed, pinned)}`` for each pinned package whose version differs."""
    out = {}
    for pkg, pinned in PINS.items():
        try:
            installed = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pinned:
            out[pkg] = (installed, pinned)
    return out
