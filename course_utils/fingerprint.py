"""Which version of the course's code produced a number (chapter 0 shows it in the setup output).

:func:`code_fingerprint` hashes the code that decides every result: the modules of ``course_utils`` and the
code cells of the chapter notebooks (their sources only: outputs, execution counts and Markdown are left out,
so re-running a chapter or fixing its prose keeps the fingerprint). Every record
(:func:`course_utils.results.record`) and every setup output carries it, so two numbers can be told apart when
they come from different code.
"""
import functools
import hashlib
import json
from pathlib import Path

from .config import ROOT

LENGTH = 12
"""Hex digits kept: 48 bits, ample to tell a few hundred versions apart."""


def notebook_code(path):
    """The code cells' sources of one notebook, in order (outputs and Markdown left out).

    Raises ``ValueError`` for a file that is not a notebook (no ``cells`` list)."""
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ValueError(f"{path} is not a Jupyter notebook (no 'cells' list)") from None
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c.get("cell_type") == "code"]


def fingerprint_of(package_dir, notebook_dir):
    """The fingerprint of the ``*.py`` files under ``package_dir`` and the chapter notebooks
    (``NN_*.ipynb``) in ``notebook_dir``: the first :data:`LENGTH` hex digits of a SHA-256.

    A folder that does not exist contributes nothing (a package installed without its notebooks)."""
    digest = hashlib.sha256()
    package_dir, notebook_dir = Path(package_dir), Path(notebook_dir)
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(f"{path.relative_to(package_dir).as_posix()}\0".encode())
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    for path in sorted(notebook_dir.glob("[0-9][0-9]_*.ipynb")):
        digest.update(f"{path.name}\0".encode())
        for source in notebook_code(path):
            digest.update(source.encode() + b"\0")
    return digest.hexdigest()[:LENGTH]


@functools.cache
def code_fingerprint():
    """The fingerprint of this checkout (``course_utils`` and ``notebooks/``), computed once per process."""
    return fingerprint_of(Path(__file__).resolve().parent, ROOT / "notebooks")
