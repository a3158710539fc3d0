"""Old name of :mod:`course_utils.attention` (chapter 4's attention layers), kept only until every notebook
imports the new name. Import ``course_utils.attention`` instead."""
from .attention import *  # noqa: F401,F403
from .attention import __all__  # noqa: F401
