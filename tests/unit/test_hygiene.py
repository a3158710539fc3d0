"""Repository-wide rules for the Python code (issue: course_utils as a library)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("course_utils", "tests", "tools", "research", "scripts")


def _python_files():
    return [p for folder in FOLDERS for p in sorted((ROOT / folder).rglob("*.py"))]


def test_no_private_keras_and_no_sys_path_edits():
    # the package is installed (pip install -e .), so nothing needs sys.path; keras.src is Keras' private tree
    offending = []
    for path in _python_files():
        if path == Path(__file__):
            continue
        text = path.read_text()
        for needle in ("keras.src", "sys.path.insert", "sys.path.append"):
            if needle in text:
                offending.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not offending, offending
