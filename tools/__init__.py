"""Maintainer tools, outside the installed ``course_utils`` package: neither it nor a notebook imports them.

Run from the repository root (``python -m tools ...``; ``make`` does):

- :mod:`.cli` is ``python -m tools run|results|readme``;
- :mod:`.runner` runs the notebooks in order and prints the recorded metrics (``make course``);
- :mod:`.readme` regenerates the README's results tables and ``results/recorded.json`` from the records;
- :mod:`.test_times` reports each notebook's time in the test command and records it;
- :mod:`.sync_setup_cells` writes the setup cell and the Colab badges into every notebook;
- :mod:`.check_site` opens every page of the built website in headless Chromium;
- :mod:`.build_data` rebuilds ``data/`` from the registry packages.
"""
