"""course_utils: the toolkit shared by the notebooks of "From scratch to fine-tuning".

Each module names the chapter that teaches it. Notebooks import this package;
it never imports a notebook. The first cell of every notebook calls :func:`setup`.
The maintainers' tooling (notebook runner, README generator, command line) is in
:mod:`tools`, which no notebook imports.
"""
from .config import MODE, get_mode, is_quick, pick, set_seed  # noqa: F401
from .startup import setup  # noqa: F401

__version__ = "0.1.0"
