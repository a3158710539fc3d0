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


def test_every_notebook_cell_has_a_unique_id():
    # nbformat warns that a missing cell id will become a hard error; ids also anchor links to cells
    import json

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        ids = [cell.get("id") for cell in json.loads(path.read_text())["cells"]]
        assert None not in ids, f"{path.name}: cell {ids.index(None)} has no id"
        assert len(set(ids)) == len(ids), f"{path.name}: duplicate cell ids"


def test_package_modules_do_one_job_each():
    # a module over about 450 lines has usually grown a second job: split it by what it teaches
    long = {p.name: n for p in sorted((ROOT / "course_utils").glob("*.py"))
            if (n := len(p.read_text().splitlines())) > 450}
    assert not long, long


def test_package_never_imports_tools_research_or_notebook_runners():
    # course_utils is what learners install: the maintainers' tools and their dependencies stay out of it
    import re

    pattern = re.compile(r"^\s*(?:from|import)\s+(?:tools|research|nbclient|nbformat)\b", re.M)
    modules = sorted((ROOT / "course_utils").rglob("*.py"))
    offending = [f"{p.relative_to(ROOT)}: {m.group(0).strip()}"
                 for p in modules for m in pattern.finditer(p.read_text())]
    assert not offending, offending
