"""Install what the course needs into Google Colab's Python, keeping Colab's TensorFlow.

Run by every notebook's setup cell in Colab, after it cloned the course: ``python scripts/colab_install.py``.

- the course itself (``pip install --no-deps -e``), so ``import course_utils`` works and finds ``data/``;
- every package of ``requirements-colab.txt`` that Colab lacks, at that pin, with ``--no-deps``
  (keras also when Colab's is older than keras-hub needs); ``tensorflow-text`` to match Colab's TensorFlow;
- never TensorFlow or anything Colab already has;
- then one line on Colab's TensorFlow/Keras against what the course supports (``course_utils.config``).

``--dry-run`` prints the pip commands instead of running them (used by the tests).
"""
import importlib.util
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

HOME = Path(__file__).resolve().parents[1]
KERAS_HUB_NEEDS_KERAS = (3, 15)   # keras-hub 0.32.0 declares keras>=3.15


def version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v or "")[:2])


def pins(path=HOME / "requirements-colab.txt"):
    """``{distribution: version}`` from ``name==version`` lines."""
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", Path(path).read_text(), re.M))


def plan():
    """The requirement strings to install with ``--no-deps`` (empty when nothing is missing)."""
    todo = []
    for dist, pin in pins().items():
        have = version(dist)
        if have is None or (dist == "keras" and _tuple(have) < KERAS_HUB_NEEDS_KERAS):
            todo.append(f"{dist}=={pin}")
    tf = version("tensorflow")
    if tf and version("tensorflow-text") is None:
        major, minor = _tuple(tf)
        todo.append(f"tensorflow-text=={major}.{minor}.*")   # its wheels are built for one TF minor version
    return todo


def load_versions():
    """``course_utils/versions.py`` of the clone, loaded alone (the package may not be importable yet)."""
    spec = importlib.util.spec_from_file_location("_course_versions", HOME / "course_utils" / "versions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    dry = "--dry-run" in argv
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps"]
    commands = []
    if importlib.util.find_spec("course_utils") is None:
        commands.append(pip + ["--no-build-isolation", "-e", str(HOME)])
    todo = plan()
    if todo:
        commands.append(pip + todo)
    for cmd in commands:
        print(("would run: " if dry else "") + " ".join(cmd[2:]), flush=True)
        if not dry:
            subprocess.run(cmd, check=True)
    installed = {p: version(p) for p in ("tensorflow", "keras")}
    problem = load_versions().support_problem(installed)
    tf, keras = installed["tensorflow"], installed["keras"]
    print(problem or f"Colab has tensorflow {tf}, keras {keras}: supported.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
