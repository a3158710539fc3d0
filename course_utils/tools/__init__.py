"""Maintainer tooling, not part of what the notebooks teach or import.

- :mod:`.runner` runs the notebooks in order and prints the recorded metrics (``make course``).
- :mod:`.readme` regenerates the README's results table from the records.
- :mod:`.cli` is ``python -m course_utils run|results|readme``.
"""
